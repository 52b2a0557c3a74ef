"""podlife: measure what Kubernetes pods really do, claim by claim.

The claim author's face is at the top: ``claims`` (a claim, its counter-examples, what it needs,
its result), ``measure`` (the :class:`~podlife.measure.Measurement` a claim's function gets),
``pictures`` (typed evidence the reports draw), ``errors`` and ``paths``.  The machinery is in
four rooms, their arrows pointing one way (``tests/test_structure.py`` holds the rules):

    run ──> provision ──> kube ──> face (claims, pictures, errors, paths)
     │  ├─> report ──────────────> face
     │  └─> profile ──> kube
     └────> measure ──> kube

``provision`` makes or reaches a cluster, ``kube`` is what a measurement uses on it, ``run`` is
the pytest run, ``report`` writes what a person reads; ``profile`` is any workload's lifecycle
profile, measured through ``kube`` like a claim.
"""
