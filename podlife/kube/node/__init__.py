"""Acting below the API on a node: one way in per node (Docker on podlife's own kind nodes, the
in-cluster agent elsewhere), a node lost for a while, a drain, the kernel's OOM kills.  Imports
``podlife.kube.api``, ``podlife.kube.pod`` and ``podlife.kube.helpers`` only."""
