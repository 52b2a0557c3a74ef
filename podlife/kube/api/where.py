"""Where a verdict was measured: the cluster's Kubernetes, its nodes' runtime and kubelet, the
feature gates the API server runs with, and the nodes' cgroup mode.

Each value is asked of the cluster in the run that measured (the API server's version, the nodes'
``nodeInfo``, the API server's ``/metrics`` series ``kubernetes_feature_enabled``); a value it cannot
give is None, with the reason in ``unknown``.  The cgroup mode is not in the API: podlife's own kind
cluster shares this machine's kernel, so it is read here (``/sys/fs/cgroup``); on another cluster it
is not measured.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

GATE = re.compile(r'^kubernetes_feature_enabled\{name="([^"]+)",stage="([^"]*)"\} (\S+)$', re.M)


@dataclass(frozen=True)
class Where:
    kubernetes: str  # the API server's gitVersion
    minor: tuple[int, int]
    kubelets: list[str]  # every node's kubelet version (distinct)
    runtimes: list[str]  # every node's containerRuntimeVersion (distinct), e.g. containerd://1.6.20
    cgroup: str | None  # "v1" | "v2"; None: not measured (see unknown)
    gates: dict[str, bool] | None  # the API server's feature gates; None: not readable (see unknown)
    stages: dict[str, str] = field(default_factory=dict)  # gate -> ALPHA | BETA | "" (GA) | DEPRECATED
    unknown: dict[str, str] = field(default_factory=dict)  # what could not be measured, and why

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "minor": ".".join(map(str, self.minor))}

    def line(self) -> str:
        """ "Kubernetes v1.34.0, containerd://1.6.20, cgroup v1"."""
        parts = [f"Kubernetes {self.kubernetes}", ", ".join(self.runtimes) or "runtime unknown"]
        parts.append(f"cgroup {self.cgroup}" if self.cgroup else "cgroup mode not measured")
        return ", ".join(parts)

    def gate(self, name: str) -> bool | None:
        """Whether the gate is on (None: not known — not readable, or absent from this version)."""
        return None if self.gates is None else self.gates.get(name)


def measured(api: Any, *, local_kernel: bool) -> Where:
    """Where this cluster is, asked of it now; ``local_kernel``: its nodes share this machine's
    kernel (podlife's own kind cluster), so the cgroup mode is this machine's."""
    info = client.VersionApi(api).get_code()
    minor = (int(info.major), int("".join(ch for ch in info.minor if ch.isdigit())))
    nodes = client.CoreV1Api(api).list_node().items
    unknown: dict[str, str] = {}
    gates, stages = feature_gates(api, unknown)
    cgroup = None
    if local_kernel:
        cgroup = "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1"
    else:
        unknown["cgroup"] = "not in the API; a cluster podlife did not create is not asked through its nodes"
    return Where(
        kubernetes=info.git_version,
        minor=minor,
        kubelets=sorted({n.status.node_info.kubelet_version for n in nodes}),
        runtimes=sorted({n.status.node_info.container_runtime_version for n in nodes}),
        cgroup=cgroup,
        gates=gates,
        stages=stages,
        unknown=unknown,
    )


def feature_gates(api: Any, unknown: dict[str, str]) -> tuple[dict[str, bool] | None, dict[str, str]]:
    """The API server's feature gates from its ``/metrics`` (Kubernetes 1.26 and later)."""
    try:
        text = metrics(api)
    except Exception as exc:  # a refusal (no right to /metrics) or an older server: not measured
        unknown["gates"] = f"the API server's /metrics could not be read ({type(exc).__name__}: {exc})"[:300]
        return None, {}
    found = GATE.findall(str(text))
    if not found:
        unknown["gates"] = "the API server's /metrics has no kubernetes_feature_enabled series"
        return None, {}
    return {n: float(v) == 1.0 for n, _, v in found}, {n: s for n, s, _ in found}


def metrics(api: Any) -> str:
    """``GET /metrics`` of the API server, as text (the client's newer and older call styles)."""
    if hasattr(api, "param_serialize"):
        answer = api.call_api(*api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"]))
        answer.read()
        return str(answer.data.decode())
    text = api.call_api(
        "/metrics", "GET", response_type="str", auth_settings=["BearerToken"], _return_http_data_only=True
    )
    return str(text)


def has_field(api: Any, group_version: str, schema: str, name: str) -> bool:
    """Whether the API server's OpenAPI v3 for ``group_version`` (``apis/apps/v1``) gives the object
    ``schema`` (``io.k8s.api.apps.v1.DeploymentSpec``) the field ``name``: a field this version lacks
    is dropped from whatever is sent."""
    answer = api.call_api(
        *api.param_serialize("GET", f"/openapi/v3/{group_version}", auth_settings=["BearerToken"])
    )
    answer.read()
    spec = json.loads(answer.data)
    return name in spec["components"]["schemas"].get(schema, {}).get("properties", {})
