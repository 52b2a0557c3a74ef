"""Beyond the chapter: what learners and platform engineers meet next with this very pod, each a
sentence Kubernetes documents, measured on the chapter's pod (shaped as the claim says, the same for
any web image) and refuted on a counter-example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podlife.claims import BEYOND, Claim, Counter
from podlife.kube import oom, pods, shape, switch, timeline, traffic, webapp
from podlife.measure import Measurement
from podlife.paths import MANIFESTS

COUNTER = Path(__file__).parent / "counter"
RESIZE_S = 120  # the kubelet applies a resize at its next sync (or restarts the container first)

# The web container's resources before and after: CPU up, memory up (a decrease may be deferred).
BEFORE = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
AFTER = {"requests": {"cpu": "200m", "memory": "160Mi"}, "limits": {"cpu": "1500m", "memory": "320Mi"}}

RESIZE = Claim(
    "resize-in-place",
    BEYOND,
    "Changing a container's CPU, and its memory with resizePolicy NotRequired, through the pod's resize "
    "subresource changes its resources without a restart.",
    since=(1, 33),  # the resize subresource, InPlacePodVerticalScaling on by default
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
    events = m.kube.events()
    m.expect(timeline.unchanged(history, web, since=begun, events=events))
    m.expect(timeline.unchanged(history, db, since=begun, events=events))
    m.check(len(read) == len(lines), f"{len(lines)} lines before the resize, {len(read)} after")


def _container(pod: Any, name: str) -> Any:
    return next(c for c in pod.spec.containers if c.name == name)


def applied(pod: Any, container: str) -> bool:
    return pods.resources_applied(pod, container, AFTER)


OOM = Claim(
    "oom-kill-restarts-one",
    BEYOND,
    "A container over its own memory limit is OOMKilled (exit 137) and restarted alone; the pod's "
    "other containers and its data survive.",
    since=(1, 34),  # its counter-example's pod-level memory limit (PodLevelResources, on by default)
    counters=(
        Counter(
            COUNTER / "pod-memory-limit.yml",
            "A pod-level memory limit and none of the container's own: the kernel picks its victim "
            "across the pod, and another container is killed first.",
        ),
    ),
)
OOM_S = 60  # the hog's growth (about 5 s to its cap), the kill(s), the restart(s)


@OOM.measure
def oom_kill_restarts_one(m: Measurement) -> None:
    """Podlife's memory hog and oom-first (oom_score_adj 1000) beside the containers, data written;
    the hog asked to allocate past its limit; every container's ends, until the pod is ready again."""
    history, ended, begun, (before, after) = press(m)
    hog = ended.get(oom.HOG, [])
    m.check(
        bool(hog) and all(oom.oom_killed(said, own_limit=True) for said in hog),
        f"{oom.HOG} ended as {oom.described(hog)}: not every end an OOM kill (exit 137) at its own limit",
    )
    others = sorted(set(ended) - {oom.HOG})
    m.check(not others, f"{', '.join(others)} killed too: the pod's memory limit chose the victims")
    m.expect(timeline.restarted(history, oom.HOG, 1, since=begun))
    events = m.kube.events()
    for other in (m.subject.web, m.subject.db):
        m.expect(timeline.unchanged(history, other, since=begun, events=events))
    m.check(before == after, f"{before} lines before the kill, {after} after")
    m.state(f"only {oom.HOG} was killed (exit 137, {oom.said_by(hog)}) and restarted")


POD_LIMIT = Claim(
    "pod-level-memory-limit",
    BEYOND,
    "A pod-level memory limit (KEP-2837, PodLevelResources) is shared by the pod's containers: one "
    "with no limit of its own meets the pod's, and when the pod runs out the kernel picks its victim "
    "across the pod: a container that did not grow (podlife's oom-first) is OOM-killed.",
    subject=MANIFESTS / "newer" / "webpod-pod-memory-limit.yml",
    since=(1, 34),
    gate="PodLevelResources",
    kep="https://kep.k8s.io/2837",
    counters=(
        Counter(
            MANIFESTS / "webpod.yml",
            "No pod-level limit: the hog meets its own limit and is killed alone; oom-first is never a "
            "candidate.",
        ),
    ),
)


@POD_LIMIT.measure
def pod_level_memory_limit(m: Measurement) -> None:
    """As oom-kill-restarts-one presses the pod (the hog asked to grow past any share of it); whom
    the kernel killed, and at which limit."""
    _, ended, _, _ = press(m)
    first, hog = ended.get(oom.FIRST, []), ended.get(oom.HOG, [])
    m.check(
        bool(first) and all(oom.oom_killed(said, own_limit=False) for said in first),
        f"{oom.FIRST} ended as {oom.described(first)}: not OOM-killed, though it held the highest score",
    )
    at_own = [said for said in hog if oom.oom_killed(said, own_limit=True) and said["kernel"]]
    m.check(not at_own, f"{oom.HOG} ended as {oom.described(hog)}: killed at a limit of its own")
    m.state(f"{oom.FIRST} was killed ({oom.said_by(first)}), {oom.HOG}: {oom.described(hog)}")


def press(m: Measurement) -> tuple[Any, dict[str, Any], Any, tuple[int, int]]:
    """The pod with the hog and oom-first started, lines written, the hog asked to grow, until a
    container was killed and the pod is ready again: (history, each container's ends, when the hog
    was asked, the lines before and after); the evidence written."""
    name = m.subject.pod
    pod = m.kube.start(oom.pressed(m.docs, m.kube.cluster.probe_image))
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    base = restart_counts(pod)
    begun = m.kube.act(f"{oom.HOG} allocates {oom.STEP_MIB} MiB at a time, up to {oom.CAP_MIB} MiB")
    oom.grow(m.kube.endpoint(f"pod/{name}", oom.PORT))
    m.kube.observe(
        OOM_S,
        until=lambda objs: (pods.all_ready(p := objs.get(name)) and restart_counts(p) != base) or None,
        what="a container killed, and the pod's containers ready again",
    )
    read, _ = webapp.read_when_answering(ep)
    history = m.kube.history(name)
    ended, kernel_log = oom.ended(history, list(base), pod.spec.node_name, since=begun)
    m.evidence(
        pod_memory_limit=pod_limit(pod),
        hog_memory_limit=None if pod_limit(pod) else oom.LIMIT,
        ended=ended,
        kernel_log=kernel_log,
        lines_before=len(lines),
        lines_after=len(read),
    )
    return history, ended, begun, (len(lines), len(read))


def restart_counts(pod: Any) -> dict[str, int]:
    return {c: s.restart_count for c, s in pods.statuses(pod).items()}


def pod_limit(pod: Any) -> str | None:
    limits = pod.spec.resources.limits if pod.spec.resources else None
    return (limits or {}).get("memory")


PROBES = Claim(
    "liveness-restarts-readiness-does-not",
    BEYOND,
    "A failing liveness probe restarts the container; a failing readiness probe only takes it out of "
    "READY and out of its Service, with no restart.",
    counters=(
        Counter(
            COUNTER / "readiness-only.yml",
            "A readiness probe only: the same failure never restarts the web container.",
        ),
    ),
)
HOLD_S = 8.0  # the readiness probe kept failing this long: long enough for a restart to show
QUIET_S = 3.0  # at least this long at the end of the hold with no answered request through the Service
LIVE_S = 30.0  # a failing liveness probe (2 x 1 s), the kill (2 s grace) and the restart


@PROBES.measure
def liveness_restarts_readiness_does_not(m: Measurement) -> None:
    """Podlife's probe switch beside the containers, the web probed through it (where the manifest
    declares no probe), a Service in front; the readiness target failed, then the liveness target,
    while a loop in the cluster asks the Service."""
    name, web = m.subject.pod, m.subject.web
    docs = shape.served(
        switch.switched(m.docs, web, m.kube.cluster.probe_image), "web-probed", m.subject.port
    )
    m.kube.start(docs)
    ep = m.kube.endpoint(f"pod/{name}", switch.PORT)
    service, port = m.subject.service(docs)
    with m.kube.request_loop(f"http://{service}:{port}/ping", max_seconds=180) as loop:
        loop.await_answered(10, "before the readiness probe fails")
        readiness = fail_readiness(m, ep, loop, service)
    begun = m.kube.act("the liveness probe's target answers 503")
    switch.turn(ep, "fail", "live")
    base = readiness["web_restarts"]
    seen = m.kube.observe(
        LIVE_S, until=lambda objs: restarts(objs.get(name), web) > base or None, what=f"{web} restarted"
    )
    switch.turn(ep, "heal", "live")
    history = m.kube.history(name)
    m.evidence(**readiness, liveness_restarted=bool(seen), watched_liveness_for_s=LIVE_S)
    m.check(readiness["restarted"] == 0, f"{web} restarted while only its readiness probe failed")
    m.check(readiness["pod_unready"], "the pod stayed Ready while the web's readiness probe failed")
    m.check(
        readiness["quiet_s"] >= QUIET_S and readiness["requests_quiet"] >= 2,
        f"the Service still answered {readiness['service_answered_until_s']} s into the readiness failure",
    )
    m.check(bool(seen), f"{web} was not restarted within {LIVE_S:.0f} s of its liveness probe failing")
    m.expect(timeline.unchanged(history, m.subject.db, since=begun, events=m.kube.events()))


def restarts(pod: Any, container: str) -> int:
    status = pods.statuses(pod).get(container) if pod else None
    return status.restart_count if status else 0


def fail_readiness(m: Measurement, ep: Any, loop: Any, service: str) -> dict[str, Any]:
    """The readiness target failed for ``HOLD_S`` once the Service has no ready endpoint, then healed:
    the pod's READY, its Service's endpoints, the requests answered meanwhile, the web's restarts."""
    name, web = m.subject.pod, m.subject.web
    base = restarts(m.kube.pod(name), web)
    failed_at = loop.now()
    m.kube.act("the readiness probe's target answers 503")
    switch.turn(ep, "fail", "ready")
    unready = m.kube.observe(
        30, until=lambda objs: not pods.pod_ready(objs.get(name)) or None, what=f"{name} not Ready"
    )
    off = loop.now()
    if unready:
        m.kube.service_ready(service, ready=False)
        off = loop.now()
        m.kube.observe(HOLD_S, what="the failing readiness probe, held")
    healed_at = loop.now()
    switch.turn(ep, "heal", "ready")
    m.kube.service_ready(service, ready=True)
    loop.await_answered(5, "after the readiness probe holds again", after=loop.now())
    # requests begun and answered (or refused) while the probe failed: one begun before the heal may
    # reach the pod after it (the loop resolves the Service's name first)
    window = [s for s in loop.samples if off <= s.at and s.at + s.took <= healed_at]
    last = max((s.at for s in window if s.ok), default=off)
    return {
        "web_restarts": base,
        "restarted": restarts(m.kube.pod(name), web) - base,
        "pod_unready": bool(unready),
        "endpoint_off_after_s": round(off - failed_at, 2),
        "requests_while_unready": traffic.summary(window),
        "service_answered_until_s": round(last - off, 2),  # kube-proxy's rules follow the EndpointSlice
        "requests_quiet": sum(s.at > last for s in window),
        "quiet_s": round(healed_at - last, 2),
    }
