"""Any workload's lifecycle profile: point podlife at your own Pod, Deployment, StatefulSet,
ReplicaSet or DaemonSet (no chapter API, no PostgreSQL) and learn what survives what, how long each
event takes, and where it departs from what Kubernetes documents.

``workload`` reads and checks the manifests (one clear line before any cluster work), ``places``
names every place a container can write, ``documented`` says what Kubernetes promises for the
shape (and writes a departure from it), ``events`` and ``update`` perform and observe each event,
``profiler`` puts them together into a :class:`~podlife.profiled.Profile` (the typed profile, in
the face, which the reports read too), and ``nodeloss`` loses one worker for every workload of a
run at once and joins its findings into each profile.  It measures through :mod:`podlife.kube`
only; the run (``podlife.run``) makes one test per workload and the reports come from
``podlife.report``.
"""
