"""One test's frame, the same for a scenario and a profile: its share of the cluster held
(:mod:`podlife.run.resources`), its namespaces opened; on closing, every namespace deleted and its
pods awaited gone, then the share released.  A namespace that does not go keeps the share held
(nobody may collide with what it left) and is reported at the end of the run ("teardown failed")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from podlife.claims import Needs
from podlife.kube import Cluster, Namespace
from podlife.run import resources
from podlife.run.progress import record
from podlife.run.session import PROGRESS, reports_dir


@dataclass
class Frame:
    test: str
    cluster: Cluster
    log: Path
    held: resources.Allocation
    spaces: list[Namespace] = field(default_factory=list)

    @property
    def node(self) -> str | None:
        return self.held.node

    def namespace(self, name: str, **placement: Any) -> Namespace:
        """A namespace of this test's, opened (``node``: pinned there; ``prefer``: preferred)."""
        kube = Namespace(self.cluster, name, **placement)
        self.spaces.append(kube)
        kube.open()
        return kube

    def close(self, *, keep: bool = False) -> None:
        """Every namespace deleted (unless ``keep``) and awaited gone, then the share released;
        a namespace that does not go: recorded, the share kept, the error raised."""
        record(self.log, self.test, "tearing down")
        try:
            for kube in self.spaces:
                kube.close(delete=not keep)
        except Exception as exc:
            record(self.log, self.test, "teardown failed", error=f"{type(exc).__name__}: {exc}")
            raise
        if not keep:
            self.held.release()
        record(self.log, self.test, "done")


def hold(config: pytest.Config, test: str, cluster: Cluster, needs: Needs, host_ports: bool) -> Frame:
    """The test's share of the cluster, waited for (bounded) while others hold it."""
    log = reports_dir(config) / PROGRESS
    held = resources.acquire(
        resources.lock_dir(cluster.kubeconfig),
        test,
        needs,
        host_ports,
        cluster.workers(),
        waiting=lambda text: record(log, test, "waiting", on=text),
    )
    record(log, test, "running", node=held.node)
    return Frame(test, cluster, log, held)
