"""Beyond the chapter: what learners and platform engineers meet next with this very pod, each a
sentence Kubernetes documents, measured on the chapter's pod (shaped as the claim says, the same for
any web image) and refuted on a counter-example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes.utils import parse_quantity

from podlife.claims import BEYOND, Claim, Counter
from podlife.kube import pods, shape, timeline, webapp
from podlife.measure import Measurement

COUNTER = Path(__file__).parent / "counter"
RESIZE_S = 120  # the kubelet applies a resize at its next sync (or restarts the container first)

# The web container's resources before and after: CPU up, memory up (a decrease may be deferred).
BEFORE = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
AFTER = {"requests": {"cpu": "200m", "memory": "160Mi"}, "limits": {"cpu": "1500m", "memory": "320Mi"}}

RESIZE = Claim(
    "resize-in-place",
    BEYOND,
    "Changing a container's CPU, and its memory with resizePolicy NotRequired, through the pod's resize "
    "subresource changes its resources without a restart (Kubernetes 1.33+).",
    counters=(
        Counter(
            COUNTER / "resize-restarts.yml",
            "resizePolicy RestartContainer: the same resize restarts the web container.",
        ),
    ),
)


@RESIZE.measure
def resize_in_place(m: Measurement) -> None:
    """Resources on the web container (NotRequired, where the manifest sets none), data written, the
    resize subresource patched; the container's status resources and restart count awaited."""
    name, web, db = m.subject.pod, m.subject.web, m.subject.db
    pod = m.kube.start(shape.resizable(m.docs, web, BEFORE, "NotRequired"))
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    begun = m.kube.act(f"resize {web}: {BEFORE} -> {AFTER}")
    m.kube.resize(name, web, AFTER)
    after = m.kube.wait(
        lambda objs: objs[name] if applied(objs.get(name), web) and pods.all_ready(objs[name]) else None,
        what=f"{web} running with the new resources, its pod ready",
        timeout=RESIZE_S,
    )
    read, _ = webapp.read_when_answering(ep)
    history = m.kube.history(name)
    m.evidence(
        resize_policy=[dict(p.to_dict()) for p in _container(pod, web).resize_policy or []],
        resources_before=pods.statuses(pod)[web].resources.to_dict(),
        resources_after=pods.statuses(after)[web].resources.to_dict(),
        applied_after_s=round((next(at for at, p in history if applied(p, web)) - begun).total_seconds(), 2),
        lines_before=len(lines),
        lines_after=len(read),
    )
    m.expect(timeline.unchanged(history, web, since=begun))
    m.expect(timeline.unchanged(history, db, since=begun))
    m.check(len(read) == len(lines), f"{len(lines)} lines before the resize, {len(read)} after")


def _container(pod: Any, name: str) -> Any:
    return next(c for c in pod.spec.containers if c.name == name)


def applied(pod: Any, container: str) -> bool:
    """The container's status reports the new CPU and memory (what the kubelet actuated)."""
    status = pods.statuses(pod).get(container) if pod else None
    got = (status.resources.to_dict() if status and status.resources else {}) or {}
    return all(
        (got.get(kind) or {}).get(r) is not None and parse_quantity(got[kind][r]) == parse_quantity(v)
        for kind, wanted in AFTER.items()
        for r, v in wanted.items()
    )
