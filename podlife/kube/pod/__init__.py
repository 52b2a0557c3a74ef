"""Pods observed and shaped: the subject's manifest and its shapes, pods' states, the merged
timeline and its named checks, probes in ephemeral containers, request loops, and the small pods
podlife runs beside a subject.  Imports ``podlife.kube.api`` and ``podlife.kube.helpers`` only."""
