"""The cluster under test, however it was reached: what provisioning hands over
(:class:`ClusterInfo`, plain data that crosses to pytest-xdist's workers as it is) and the live
connection a measurement uses (:class:`Cluster`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as kube_config

from podlife.errors import SetupError

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
POOL = 32  # connections kept per client (api_client)


def api_client(kubeconfig: str | Path) -> client.ApiClient:
    """The one way podlife connects: a client for ``kubeconfig`` whose proxy settings are read
    from the environment once, here, and never again.

    The kubernetes client otherwise re-reads them (``urllib.request.getproxies``, a walk over
    ``os.environ``) on every request made with a token kubeconfig (the token hook re-sets the
    host) and for every ``watch.Watch()`` (a default configuration built from scratch).  Our
    background threads (watch, teardown, port-forward) would walk ``os.environ`` while pytest,
    in the main thread, sets and deletes ``PYTEST_CURRENT_TEST``: a ``KeyError`` that failed
    teardowns and left namespaces behind in a run as a service account.

    Its pool keeps ``POOL`` connections: the default (five per core) is less than the threads of one
    process that talk to the API at once, and each connection past it was opened, used once and
    dropped (urllib3's "Connection pool is full, discarding connection", a TLS handshake each)."""
    config = client.Configuration()
    config.connection_pool_maxsize = POOL
    api = kube_config.new_client_from_config(str(kubeconfig), client_configuration=config)
    api.configuration.proxy = api.configuration.proxy  # resolved now; a set proxy is not re-read
    default = client.Configuration.get_default()  # what watch.Watch() copies, rather than builds
    default.proxy = default.proxy
    return api


@dataclass(frozen=True)
class ClusterInfo:
    """A reached cluster, as provisioning found or made it."""

    kubeconfig: str
    kubectl: str
    image_map: dict[str, str]  # manifest image -> image present in the cluster
    probe_image: str  # podlife's probe and request-loop image (a plain Python base)
    description: str
    lost_node: str = ""  # what the cluster sets, where podlife made it, for a lost node's pods
    run: str = ""  # this run's id: every namespace it makes carries it (podlife.kube.api.leftovers)
    unpullable: dict[str, str] = field(default_factory=dict)  # image -> why a worker cannot get it
    where: dict[str, Any] = field(default_factory=dict)  # where it was measured (podlife.kube.api.where)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ClusterInfo:
        return cls(**data)


@dataclass
class Cluster:
    """The cluster under test, connected."""

    kubeconfig: Path
    api: client.ApiClient
    kubectl: Path | str
    image_map: dict[str, str]
    probe_image: str
    description: str
    lost_node: str = ""
    run: str = ""
    unpullable: dict[str, str] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)
    _workers: list[str] = field(default_factory=list)

    @classmethod
    def connect(cls, info: ClusterInfo) -> Cluster:
        api = api_client(info.kubeconfig)
        return cls(
            Path(info.kubeconfig),
            api,
            info.kubectl,
            info.image_map,
            info.probe_image,
            info.description,
            info.lost_node,
            info.run,
            info.unpullable,
            info.where,
        )

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def can_get(self, images: Iterable[str], what: str) -> None:
        """A set-up error, at once, when some worker cannot get an image ``what`` needs (as asked
        up front on a cluster podlife does not provision: :mod:`podlife.kube.api.pullable`)."""
        if refused := sorted(f"{i} ({self.unpullable[i]})" for i in set(images) if i in self.unpullable):
            raise SetupError(f"the cluster cannot get the image(s) of {what}: {'; '.join(refused)}")

    def workers(self) -> list[str]:
        """The nodes a scenario's pods may run on: every node but the control plane's, stopped
        or not (a stopped worker is still one a scenario must not use)."""
        if not self._workers:
            self._workers = sorted(
                n.metadata.name
                for n in self.core.list_node().items
                if CONTROL_PLANE not in (n.metadata.labels or {})
            )
        return self._workers
