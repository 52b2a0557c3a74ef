"""What a node action needs of the scenario it acts for: its namespace's name, the cluster, the
timeline to record on, and a wait for a node's readiness.  :class:`podlife.kube.Namespace` is one;
the node room names only this, so it never reaches above itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from podlife.kube.api.cluster import Cluster


class Acting(Protocol):
    namespace: str
    cluster: Cluster

    def act(self, text: str) -> datetime: ...

    def node_ready(self, node: str, *, ready: bool, timeout: float) -> float: ...
