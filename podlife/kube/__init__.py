"""What a measurement uses on Kubernetes: a scenario's namespace (``namespace``), the cluster it
reached (``cluster``), the subject's manifest and its shapes (``subject``, ``shape``, ``storage``),
pods and their states (``pods``), watches and waits (``watch``, ``wait``), the merged timeline and
its named checks (``timeline``), probes in ephemeral containers (``probe``, ``inpod``, ``execs``),
the node (``nodes``), HTTP to pods and Services (``reach``, ``webapp``) and request loops
(``traffic``).  It imports nothing from ``podlife.run``, ``podlife.provision`` or ``podlife.report``.
"""
