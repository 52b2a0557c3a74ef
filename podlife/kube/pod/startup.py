"""Pod start-up latency as SIG Scalability's SLO defines it, measured on a batch of pods.

The SLO (kubernetes/community, ``sig-scalability/slos/pod_startup_latency.md``): for stateless pods
whose images are already on the node and which run no init containers, the time from the pod's
creation to the moment all its containers are reported started, observed through a watch, is at most
5 s at the 99th percentile.  Here a pod is created when the API server has accepted it (its create
call returned: this machine's clock, which the watch uses too; ``creationTimestamp`` has whole seconds
only), and started when the watch first sees every container ``started``.
"""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

SLO_P99_S = 5.0
SLO = (
    "SIG Scalability's pod start-up SLO: p99 ≤ 5 s from creation to every container started, seen by a watch"
)
LABEL = "podlife-startup"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def batch(pod: dict[str, Any], container: str, n: int) -> list[dict[str, Any]]:
    """``n`` stateless pods of the one container ``container`` of ``pod`` (its probes, resources, node
    selector, tolerations and required node affinity kept; no host port, no init container, no
    preferred affinity: the scheduler spreads them as it would), named ``start-<i>``."""
    spec = pod["spec"]
    alone = copy.deepcopy(next(c for c in spec["containers"] if c["name"] == container))
    for port in alone.get("ports") or []:
        port.pop("hostPort", None)
    kept = {k: copy.deepcopy(v) for k, v in spec.items() if k in ("nodeSelector", "tolerations")}
    required = (spec.get("affinity") or {}).get("nodeAffinity", {}).get(REQUIRED)
    if required:  # the worker the scenario holds, kept; a mere preference is left to the scheduler
        kept["affinity"] = {"nodeAffinity": {REQUIRED: copy.deepcopy(required)}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"start-{i}", "labels": {LABEL: "yes"}},
            "spec": {**kept, "containers": [copy.deepcopy(alone)]},
        }
        for i in range(n)
    ]


def create(
    api: client.ApiClient, namespace: str, docs: list[dict[str, Any]], every_s: float = 0.0
) -> dict[str, datetime]:
    """Create each pod, one every ``every_s`` seconds (a paced load, as the SLO's tests create pods
    at a set rate, not in one burst; the pacing is the load, not a wait for anything); when the API
    server accepted each."""
    core = client.CoreV1Api(api)
    accepted = {}
    start = time.monotonic()
    for i, doc in enumerate(docs):
        time.sleep(max(0.0, start + i * every_s - time.monotonic()))
        core.create_namespaced_pod(namespace, doc)
        accepted[doc["metadata"]["name"]] = datetime.now(UTC)
    return accepted


def all_started(pod: Any) -> bool:
    statuses = (pod.status.container_statuses or []) if pod.status else []
    return bool(statuses) and len(statuses) == len(pod.spec.containers) and all(s.started for s in statuses)


def nodes(events: list[tuple[datetime, Any]]) -> dict[str, int]:
    """How many of the pods the watch saw on each node."""
    last = {pod.metadata.name: pod.spec.node_name for _, pod in events if pod.spec.node_name}
    return dict(sorted(Counter(last.values()).items()))


def started_at(events: list[tuple[datetime, Any]]) -> dict[str, datetime]:
    """When the watch first saw each pod with every container started."""
    seen: dict[str, datetime] = {}
    for at, pod in events:
        if pod.metadata.name not in seen and all_started(pod):
            seen[pod.metadata.name] = at
    return seen


def latencies(accepted: dict[str, datetime], started: dict[str, datetime]) -> dict[str, float | None]:
    """Each pod's start-up latency in seconds (None: not seen started)."""
    return {
        name: round((started[name] - at).total_seconds(), 3) if name in started else None
        for name, at in accepted.items()
    }


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (the value at rank ⌈p/100·n⌉ of the sorted values)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def distribution(values: list[float]) -> dict[str, float | int]:
    """n, p50, p90, p99 and the largest, in seconds."""
    return {
        "n": len(values),
        **{f"p{p}_s": round(percentile(values, p), 2) for p in (50, 90, 99)},
        "max_s": round(max(values), 2),
    }
