"""What a measurement uses on Kubernetes, behind one facade: a scenario's namespace
(:class:`Namespace`, ``m.kube``), the cluster it reached (:class:`Cluster`), and the helpers a
claim names (``from podlife.kube import pods, timeline, nodes, webapp, traffic``).

The facade stands over five sub-rooms; a newcomer finds a thing by its folder:

- ``api/``      the API plumbing: the client and the cluster (``cluster``), waiting and watching
                (``wait``, ``watch``), exec (``execs``), HTTP to pods and Services (``reach``), what an
                earlier run left (``leftovers``), whether the nodes can get the run's images (``pullable``)
- ``pod/``      pods observed and shaped: a manifest read and admitted (``manifest``,
                ``admission``), its shape and storage (``shape``, ``storage``), pods' states
                (``pods``), the merged timeline and its named checks (``timeline``), probes in
                ephemeral containers (``probe``), request loops (``traffic``), an image rolled out
                (``rollout``), the clock and switch pods podlife runs beside a subject (``clock``,
                ``switch``)
- ``node/``     acting below the API: one way in per node (``access``: Docker on podlife's own kind
                nodes, the agent elsewhere), ``nodes``, the agent (``agent``), a node lost for a while
                (``outage``), ``kubectl drain`` (``drain``), the kernel's OOM kills (``oom``)
- ``helpers/``  the programs podlife runs inside pods and on nodes, as real Python modules read
                from their source (they import nothing of podlife)
- ``chapter/``  the chapter's own roles: which container is the web app and which the database
                (``subject``; PostgreSQL ready: ``subject.await_postgres``), its web app's four
                endpoints (``webapp``)

The rooms point one way, helpers ← api ← pod ← node ← chapter ← this facade, and only the facade
is reached from outside ``podlife.kube`` (``tests/test_structure.py`` holds both rules).  Nothing
here imports ``podlife.run``, ``podlife.provision`` or ``podlife.report``.
"""

from podlife.kube.api import cluster, execs, lease, leftovers, owned, pullable, reach, wait, watch, where
from podlife.kube.api.cluster import Cluster, ClusterInfo, api_client
from podlife.kube.api.reach import PodEndpoint
from podlife.kube.api.wait import Impossible, WaitImpossible, WaitTimeout, poll_until
from podlife.kube.api.watch import Watcher, wait_for
from podlife.kube.chapter import subject, webapp
from podlife.kube.chapter.subject import Subject
from podlife.kube.helpers import inpod, onnode
from podlife.kube.namespace import Namespace
from podlife.kube.node import access, agent, drain, kind, nodes, oom, outage
from podlife.kube.node.agent import Agent
from podlife.kube.node.outage import node_down
from podlife.kube.pod import (
    clock,
    endpoints,
    manifest,
    pods,
    probe,
    rollout,
    shape,
    startup,
    storage,
    switch,
    timeline,
    traffic,
)
from podlife.kube.pod.manifest import SubjectError, host_ports, next_tag, with_images
from podlife.kube.pod.pods import image_trouble, pod_ready, serving, statuses
from podlife.kube.pod.timeline import Check, unready_during
from podlife.kube.pod.traffic import RequestLoop

__all__ = [
    "Agent",
    "Check",
    "Cluster",
    "ClusterInfo",
    "Impossible",
    "Namespace",
    "PodEndpoint",
    "RequestLoop",
    "Subject",
    "SubjectError",
    "WaitImpossible",
    "WaitTimeout",
    "Watcher",
    "access",
    "agent",
    "api_client",
    "clock",
    "cluster",
    "drain",
    "endpoints",
    "execs",
    "host_ports",
    "image_trouble",
    "inpod",
    "kind",
    "lease",
    "leftovers",
    "manifest",
    "next_tag",
    "node_down",
    "nodes",
    "onnode",
    "oom",
    "outage",
    "owned",
    "pod_ready",
    "pods",
    "poll_until",
    "probe",
    "pullable",
    "reach",
    "rollout",
    "serving",
    "shape",
    "startup",
    "statuses",
    "storage",
    "subject",
    "switch",
    "timeline",
    "traffic",
    "unready_during",
    "wait",
    "wait_for",
    "watch",
    "webapp",
    "where",
    "with_images",
]
