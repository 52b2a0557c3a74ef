"""Newer Kubernetes: how a pod is stopped and replaced, as later releases let a manifest say. Each
claim is measured where the cluster has the feature (its field in the API, its gate on, a runtime that
honours it) and ``not applicable`` elsewhere, with what was missing."""

from __future__ import annotations

from pathlib import Path

from podlife.claims import NEWER, Claim, Counter, Needs, Nodes
from podlife.kube import pods, rollout, timeline, where
from podlife.measure import Measurement
from podlife.paths import MANIFESTS

COUNTER = Path(__file__).parent / "counter"
ROLLOUT_S = 180

STOP_SIGNAL = Claim(
    "stop-signal",
    NEWER,
    "A container's own stop signal (KEP-4960, ContainerStopSignals; the runtime must honour it): with "
    "lifecycle.stopSignal SIGKILL, deleting the pod ends the web container with exit code 137 (128 + 9), "
    "not as its image's SIGTERM would.",
    subject=MANIFESTS / "newer" / "webpod-stop-signal.yml",
    gate="ContainerStopSignals",
    kep="https://kep.k8s.io/4960",
    counters=(
        Counter(
            COUNTER / "stop-signal-default.yml",
            "No stop signal of its own: the image's SIGTERM, and the web app ends as it chooses.",
        ),
    ),
)


@STOP_SIGNAL.measure
def stop_signal(m: Measurement) -> None:
    """The pod started; the stop signal the API server kept and the one the runtime reports; the pod
    deleted; the web container's end read from the watch."""
    name, web = m.subject.pod, m.subject.web
    pod = m.kube.start(m.docs)
    status = pods.statuses(pod)[web]
    reported = getattr(status, "stop_signal", None)
    if not reported:
        runtimes = ", ".join(m.kube.cluster.where.get("runtimes") or []) or "the runtime"
        m.not_there(f"{runtimes} reports no stop signal for {web} (containerd honours it from 2.3.0)")
    asked = next(
        (c.lifecycle.stop_signal for c in pod.spec.containers if c.name == web and c.lifecycle), None
    )
    begun = m.kube.act(f"delete pod {name}")
    m.kube.delete_pod(name)
    ends = timeline.ends(m.kube.history(name), web, since=begun)
    codes = sorted({t.exit_code for t in ends.values()})
    m.evidence(stop_signal_asked=asked, stop_signal_reported=reported, exit_codes=codes)
    # the kubelet's own report first: an image that ignores SIGTERM also ends with 137, at its grace
    m.check(reported == "SIGKILL", f"the kubelet reports stop signal {reported} for {web}, not SIGKILL")
    m.check(codes == [137], f"the web container ended with exit code(s) {codes}, not 137 alone")


REPLACE_AFTER = Claim(
    "replace-after-termination",
    NEWER,
    "A Deployment whose podReplacementPolicy is TerminationComplete (KEP-5882) never runs an old and a "
    "new pod at once in a rolling update: each replacement is made only once the old pod is gone.",
    subject=MANIFESTS / "newer" / "webdeploy-replace-after.yml",
    needs=Needs(nodes=Nodes.ALL),
    kep="https://kep.k8s.io/5882",
    counters=(
        Counter(
            COUNTER / "replace-on-termination-start.yml",
            "The default: the new pod is made as soon as the old one starts terminating.",
        ),
    ),
)


@REPLACE_AFTER.measure
def replace_after_termination(m: Measurement) -> None:
    """The field asked of the API server's OpenAPI first (a server without it drops it); the Deployment
    started, rolled to the next version of its web image; old and new pods' lives read from the watch."""
    api = m.kube.cluster.api
    if not where.has_field(api, "apis/apps/v1", "io.k8s.api.apps.v1.DeploymentSpec", "podReplacementPolicy"):
        m.not_there("the API server's apps/v1 DeploymentSpec has no podReplacementPolicy (its OpenAPI v3)")
    old = m.kube.start_all(m.docs)
    image = m.next_image(m.subject.web_image)
    m.kube.act(f"web image -> {image}")
    rollout.set_image(api, m.kube.namespace, "Deployment", "web", m.subject.web, image)
    m.kube.wait(rollout.rolled_out(m.subject.web, image, len(old)), what="rolled out", timeout=ROLLOUT_S)
    events = list(m.kube.watcher.events)
    gone = {e.obj.metadata.name: e.at for e in events if e.type == "DELETED" and e.obj.metadata.name in old}
    made = {e.obj.metadata.name: e.at for e in events if e.type == "ADDED" and e.obj.metadata.name not in old}
    overlap = max(((gone.get(o) or events[-1].at) - min(made.values())).total_seconds() for o in old)
    m.evidence(old_pods=sorted(old), new_pods=sorted(made), overlap_s=round(max(overlap, 0.0), 2))
    m.check(overlap <= 0, f"a new pod was made {overlap:.2f} s before the last old pod was gone")
