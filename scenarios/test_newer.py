"""Newer Kubernetes: what later releases changed in a pod's lifecycle, measured on the chapter's pod
where the cluster has the feature, and ``not applicable`` (with the version or gate that says why)
where it has not — never refuted for being absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podlife.claims import NEWER, Claim, Counter
from podlife.kube import WaitImpossible, WaitTimeout, pods, shape, timeline, webapp
from podlife.measure import Measurement
from podlife.paths import MANIFESTS

COUNTER = Path(__file__).parent / "counter"
RESTART_S = 90  # the kubelet restarts a container at its next sync (back-off 10 s the first time)

OWN_POLICY = Claim(
    "own-restart-policy",
    NEWER,
    "A container's own restartPolicy (Kubernetes 1.35, ContainerRestartRules): in a pod whose "
    "restartPolicy is Never, the web container with restartPolicy Always is restarted after /quit, alone, "
    "in the same pod, and the data stays.",
    subject=MANIFESTS / "newer" / "webpod-own-restart.yml",
    gate="ContainerRestartRules",
    kep="https://kep.k8s.io/5307",
    counters=(
        Counter(
            COUNTER / "own-restart-none.yml",
            "No container policy of its own: with the pod's restartPolicy Never, /quit ends the web "
            "container for good.",
        ),
    ),
)


@OWN_POLICY.measure
def own_restart_policy(m: Measurement) -> None:
    """The pod started; the policies the API server kept (a server without the feature drops the
    container's); the chapter's lines written; GET /quit; the web container's restart awaited."""
    web, db, name = m.subject.web, m.subject.db, m.subject.pod
    pod = m.kube.start(m.docs)
    kept = {c.name: getattr(c, "restart_policy", None) for c in pod.spec.containers}
    asked = {
        c["name"]: c.get("restartPolicy")
        for d in m.docs
        if d["kind"] == "Pod"
        for c in d["spec"]["containers"]
    }
    if any(asked.values()) and kept != asked:
        m.not_there(f"the API server dropped the containers' own restartPolicy (asked {asked}, kept {kept})")
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    begun = m.kube.act(f"GET /quit: {webapp.quit_app(ep)}")
    try:
        m.kube.wait(
            pods.restarted(name, web, 1, give_up=True), what="the web container restarted", timeout=RESTART_S
        )
        after, _ = webapp.read_when_answering(ep)
    except (WaitTimeout, WaitImpossible):  # not restarted: the checks below say so
        after = None
    history = m.kube.history(name)
    ended = pods.statuses(m.kube.pod(name))[web]
    m.evidence(
        pod_restart_policy=pod.spec.restart_policy,
        container_restart_policies=kept,
        web_after=timeline.container_word(ended),
        lines_before=len(lines),
        lines_after=None if after is None else len(after),
    )
    m.expect(timeline.restarted(history, web, 1, since=begun))
    m.expect(timeline.unchanged(history, db, since=begun, events=m.kube.events()))
    m.expect(timeline.same_pod(history))
    m.check(
        after == lines, f"/read after the restart returned {None if after is None else len(after)} line(s)"
    )


RESIZE_S = 120  # the kubelet applies a resize at its next sync (or restarts the container first)
# the web container's resources: only its memory limit is lowered (1.35 allows it in place)
HIGHER = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}
LOWER = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "192Mi"}}

MEMORY_DOWN = Claim(
    "memory-limit-lowered",
    NEWER,
    "Lowering a container's memory limit through the resize subresource (Kubernetes 1.35: in-place "
    "resize GA, memory-limit decreases allowed) takes effect without a restart when its resizePolicy is "
    "NotRequired; the data stays.",
    since=(1, 35),
    kep="https://kep.k8s.io/1287",
    counters=(
        Counter(
            COUNTER / "resize-restarts.yml",
            "resizePolicy RestartContainer: the kubelet restarts the web container to lower its limit.",
        ),
    ),
)


@MEMORY_DOWN.measure
def memory_limit_lowered(m: Measurement) -> None:
    """Resources on the web container (NotRequired, where the manifest sets none), data written, the
    memory limit lowered through the resize subresource; the container's status awaited."""
    name, web, db = m.subject.pod, m.subject.web, m.subject.db
    pod = m.kube.start(shape.resizable(m.docs, web, HIGHER, "NotRequired"))
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    begun = m.kube.act(
        f"resize {web}: memory limit {HIGHER['limits']['memory']} -> {LOWER['limits']['memory']}"
    )
    m.kube.resize(name, web, LOWER)
    after = m.kube.observe(
        RESIZE_S,
        until=lambda objs: (
            objs[name]
            if pods.resources_applied(objs.get(name), web, LOWER) and pods.all_ready(objs[name])
            else None
        ),
        what=f"{web} running with the lower memory limit",
    )
    read, _ = webapp.read_when_answering(ep)
    conditions = {
        c.type: c.reason for c in (m.kube.pod(name).status.conditions or []) if c.type.startswith("PodResize")
    }
    m.evidence(
        resources_before=pods.statuses(pod)[web].resources.to_dict(),
        resources_after=pods.statuses(after or m.kube.pod(name))[web].resources.to_dict(),
        resize_conditions=conditions,
        lines_before=len(lines),
        lines_after=len(read),
    )
    m.check(
        after is not None,
        f"the lower limit was not applied within {RESIZE_S} s ({conditions or 'no condition'})",
    )
    history = m.kube.history(name)
    events = m.kube.events()
    m.expect(timeline.unchanged(history, web, since=begun, events=events))
    m.expect(timeline.unchanged(history, db, since=begun, events=events))
    m.check(len(read) == len(lines), f"{len(lines)} lines before the resize, {len(read)} after")


RESTART_ALL = Claim(
    "restart-all-containers",
    NEWER,
    "A RestartAllContainers rule (Kubernetes 1.36, RestartAllContainersOnContainerExits): when the web "
    "container exits after /quit, the kubelet restarts every container of the pod in place: the same pod "
    "(UID and IP), the web and the PostgreSQL containers each restarted once.",
    subject=MANIFESTS / "newer" / "webpod-restart-all.yml",
    gate="RestartAllContainersOnContainerExits",
    kep="https://kep.k8s.io/5532",
    counters=(
        Counter(
            COUNTER / "restart-rule-one.yml",
            "The rule's action Restart: /quit restarts the web container alone; PostgreSQL runs on.",
        ),
    ),
)


@RESTART_ALL.measure
def restart_all_containers(m: Measurement) -> None:
    """The pod started, its rules as the API server kept them; the chapter's lines written; GET /quit;
    both containers' restarts awaited (or RESTART_S of watching); the data read again."""
    web, db, name = m.subject.web, m.subject.db, m.subject.pod
    pod = m.kube.start(m.docs)
    rules = {c.name: [r.action for r in c.restart_policy_rules or []] for c in pod.spec.containers}
    if not any(rules.values()):
        m.not_there(f"the API server dropped the containers' restartPolicyRules (kept {rules})")
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    begun = m.kube.act(f"GET /quit: {webapp.quit_app(ep)}")
    back = pods.restarted(name, web, 1)  # the kubelet restarts all containers in the same sync
    seen = m.kube.observe(
        RESTART_S,
        until=lambda objs: back(objs) and pods.all_ready(objs[name]),
        what="web restarted, all ready",
    )
    after = webapp.read_when_answering(ep)[0] if seen else None
    history = m.kube.history(name)
    ips = sorted({p.status.pod_ip for _, p in history if p.status.pod_ip})
    m.evidence(
        rules=rules,
        pod_ips=ips,
        conditions=sorted({c.reason or c.type for _, p in history for c in p.status.conditions or []}),
        lines_before=len(lines),
        lines_after=None if after is None else len(after),
    )
    m.state(f"data: {len(lines)} line(s) before /quit, {None if after is None else len(after)} after")
    m.expect(timeline.same_pod(history))
    m.check(len(ips) == 1, f"pod IP(s) seen: {ips}")
    m.expect(timeline.restarted(history, web, 1, since=begun))
    m.expect(timeline.restarted(history, db, 1, since=begun))


POD_LIMIT = {"limits": {"memory": "640Mi"}}  # the pod-level memory limit raised from 512Mi

POD_RESIZE = Claim(
    "pod-level-resize",
    NEWER,
    "Raising a pod's own memory limit (pod-level resources) through the resize subresource (Kubernetes "
    "1.36, InPlacePodLevelResourcesVerticalScaling) takes effect in place: the pod reports the new limit, "
    "no container restarts, and the data stays.",
    subject=MANIFESTS / "newer" / "webpod-pod-resources.yml",
    gate="InPlacePodLevelResourcesVerticalScaling",
    kep="https://kep.k8s.io/5419",
    counters=(
        Counter(
            COUNTER / "pod-resize-restarts.yml",
            "The web container's resizePolicy RestartContainer for memory: the kubelet restarts it.",
        ),
    ),
)


@POD_RESIZE.measure
def pod_level_resize(m: Measurement) -> None:
    """The pod with its own resources, data written; its memory limit raised through the resize
    subresource; the pod's status resources awaited; both containers' histories read."""
    name, web, db = m.subject.pod, m.subject.web, m.subject.db
    pod = m.kube.start(m.docs)
    if not pod.spec.resources:
        m.not_there("the API server dropped the pod's own resources (PodLevelResources off)")
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    begun = m.kube.act(f"resize pod {name}: memory limit -> {POD_LIMIT['limits']['memory']}")
    m.kube.cluster.core.patch_namespaced_pod_resize(
        name, m.kube.namespace, {"spec": {"resources": POD_LIMIT}}
    )
    want = POD_LIMIT["limits"]["memory"]

    def applied(objs: dict[str, Any]) -> Any:
        p = objs.get(name)
        limits = (p.status.resources.limits or {}) if p and p.status and p.status.resources else {}
        return p if limits.get("memory") == want and pods.all_ready(p) else None

    after = m.kube.observe(RESIZE_S, until=applied, what=f"pod {name} reporting memory limit {want}")
    read, _ = webapp.read_when_answering(ep)
    reported = (after or m.kube.pod(name)).status.resources
    m.evidence(
        pod_resources_after=reported and reported.to_dict(), lines_before=len(lines), lines_after=len(read)
    )
    m.check(after is not None, f"the pod did not report memory limit {want} within {RESIZE_S} s")
    history = m.kube.history(name)
    events = m.kube.events()
    m.expect(timeline.unchanged(history, web, since=begun, events=events))
    m.expect(timeline.unchanged(history, db, since=begun, events=events))
    m.check(len(read) == len(lines), f"{len(lines)} lines before the resize, {len(read)} after")
