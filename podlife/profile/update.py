"""The rolling update of a workload with a template: its image changed to the next version of the
same image (podlife's next tag: the version changes, never the app), with a steady request loop
from inside the cluster against a container that serves HTTP (an ``httpGet`` readinessProbe, or a
declared port when it has none) through a Service in front of the pods: the workload's own when
its manifest has one, else one podlife adds in the profile's namespace (and says so)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podlife.kube import next_tag, rollout, timeline, traffic
from podlife.kube.namespace import Namespace
from podlife.profile import documented
from podlife.profile.workload import Workload
from podlife.profiled import Baseline, RollingUpdate

ROLLS = ("Deployment", "StatefulSet", "DaemonSet")
ANSWERS = 20  # answered requests before and after the update: the loop was really serving
ROLLOUT_S = 240


def target(workload: Workload) -> tuple[str, int, str] | None:
    """(container, port, path) of the first container that serves HTTP, or None."""
    for c in workload.spec().get("containers") or []:
        probe = (c.get("readinessProbe") or {}).get("httpGet")
        if probe and isinstance(probe.get("port"), int):
            return c["name"], int(probe["port"]), str(probe.get("path") or "/")
    return None


def image_of(workload: Workload) -> str:
    """The image a rolling update changes: that of the container the requests go to."""
    container = target(workload)[0]  # type: ignore[index]
    return next(str(c["image"]) for c in workload.containers() if c["name"] == container)


def not_applicable(workload: Workload) -> str | None:
    if workload.kind not in ROLLS:
        why = (
            "a bare pod has no template to roll"
            if workload.kind == "Pod"
            else "a ReplicaSet does not roll its pods"
        )
        return why
    if (workload.doc.get("spec") or {}).get("updateStrategy", {}).get("type") == "OnDelete":
        return "updateStrategy OnDelete: a template change replaces no pod by itself"
    if target(workload) is None:
        return "no container with an httpGet readinessProbe: nothing to send requests to"
    return None


def service(kube: Namespace, workload: Workload, port: int) -> tuple[str, bool]:
    """A Service in front of the workload's pods on ``port``: its own, or one podlife adds."""
    labels = (workload.doc["spec"].get("template", {}).get("metadata") or {}).get("labels") or {}
    for doc in workload.supporting:
        spec = doc.get("spec") or {}
        if doc["kind"] == "Service" and spec.get("selector") and spec["selector"].items() <= labels.items():
            for p in spec.get("ports") or []:
                if p.get("targetPort", p.get("port")) == port and spec.get("clusterIP") != "None":
                    return f"{doc['metadata']['name']}:{p['port']}", False
    name = f"podlife-{workload.name}"[:63]
    body = {
        "metadata": {"name": name},
        "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port}]},
    }
    kube.cluster.core.create_namespaced_service(kube.namespace, body)
    return f"{name}:{port}", True


def promise(workload: Workload) -> documented.Promise:
    return documented.keeps_serving(workload.kind, workload.doc.get("spec") or {}, replicas(workload))


def replicas(workload: Workload) -> int:
    return int((workload.doc.get("spec") or {}).get("replicas", 1)) if workload.kind != "DaemonSet" else 1


def roll(kube: Namespace, workload: Workload) -> RollingUpdate:
    """The update, measured: failed requests and the longest window of them, the fewest of the
    workload's pods Ready at once beside what the strategy documents, and each old pod's way out of
    the Service (its deletion, its endpoint going off, its containers' end)."""
    container, port, path = target(workload)  # type: ignore[misc]
    address, added = service(kube, workload, port)
    image = next_tag(image_of(workload))
    kube.cluster.can_get([image], f"{workload.key}'s rolling update (its next version)")
    with kube.request_loop(f"http://{address}{path}", max_seconds=ROLLOUT_S + 60) as loop:
        loop.await_answered(ANSWERS, "before the update")
        update_at, began = loop.now(), kube.act(f"{workload.key}: {container} image -> {image}")
        rollout.set_image(kube.cluster.api, kube.namespace, workload.kind, workload.name, container, image)
        kube.wait(
            rollout.rolled_out(container, image, replicas(workload)),
            what=f"every pod of {workload.key} on {image}",
            timeout=ROLLOUT_S,
        )
        rolled_at = loop.now()
        loop.await_answered(ANSWERS, "after the update", after=rolled_at)
    measured = traffic.measured(loop.samples)
    assert kube.watcher
    mine = selects(workload)
    return RollingUpdate(
        failed_requests=measured["failed"],
        requests=measured["requests"],
        longest_gap_s=measured["longest_window_s"],
        errors=measured["errors"],
        windows_s=measured["windows_s"],
        rollout_s=round(rolled_at - update_at, 2),
        through=f"Service {address}" + (" (added by podlife)" if added else ""),
        baseline=Baseline(**measured["baseline"]),
        documented_keeps_serving=bool(promise(workload).value),
        fewest_ready=timeline.fewest_ready(kube.watcher.events, began, mine),
        documented_min_ready=documented.min_ready(
            workload.kind, workload.doc.get("spec") or {}, replicas(workload)
        ),
        old_pods=kube.leavings(loop, mine),
    )


def selects(workload: Workload) -> Callable[[Any], bool]:
    """Whether a pod is one of the workload's: its template's labels (not podlife's loop or probes)."""
    labels = (workload.doc["spec"].get("template", {}).get("metadata") or {}).get("labels") or {}

    def mine(pod: Any) -> bool:
        return bool(labels) and labels.items() <= (pod.metadata.labels or {}).items()

    return mine
