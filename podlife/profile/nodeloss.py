"""Node loss, for every workload of a run at once (one stopped worker serves them all).

Each workload is applied again in a namespace of its own, preferring the worker podlife may stop;
a marker goes into every place of its pod there.  The worker is stopped once.  Each workload is
watched past its pod's own ``tolerationSeconds`` (its eviction) for a replacement Ready on another
node.  The worker is started again; each workload's pod is awaited Ready (a bare pod that was
evicted is applied again, as a user would), and the markers are looked for in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from podlife.kube import Impossible, WaitImpossible, node_down, nodes, pod_ready, serving
from podlife.kube.namespace import Namespace
from podlife.profile import documented, events
from podlife.profile.observe import first, history_of, kept, markers, new_token, seconds
from podlife.profile.places import Place, places
from podlife.profile.workload import Workload
from podlife.profiled import NODE_LOSS, Kept, NodeLoss, NodeLossFinding, NodeLossPhase, Profile

PHASE = "node-loss"  # the name of the run's node-loss test, and its findings' key among the profiles
REPLACE_S = 45  # after the eviction: a controller's replacement scheduled, started and Ready
BACK_S = 180  # after the node is Ready again: its pods Ready again, or gone


@dataclass
class Lost:
    """One workload through the node loss."""

    kube: Namespace
    workload: Workload
    places: list[Place]
    pod: Any = None  # its pod on the node that is stopped
    before: set[str] = field(default_factory=set)  # the uids of its pods before the stop
    token: str = ""
    written: dict[str, Any] = field(default_factory=dict)
    found: dict[str, Any] = field(default_factory=dict)
    after: Any = None  # the pod Ready afterwards
    why: str = "not performed"  # why it was not, when it was not
    tolerated_s: int | None = None
    toleration: str = ""
    replaced: bool = False
    no_replacement: str | None = None
    evicted_after_s: float | None = None
    by: str = ""
    ready_again_s: float | None = None


def phase(subjects: list[tuple[Namespace, Workload]], node: str, lost_node: str = "") -> NodeLossPhase:
    """Every workload through one loss of ``node``; per workload key, its node loss, its places'
    outcome and what Kubernetes documents for each."""
    lost = [prepare(kube, workload, node) for kube, workload in subjects]
    ready = [one for one in lost if one.pod is not None]
    down: dict[str, Any] = {}
    if ready:
        hold = max((nodes.tolerated_s(one.pod) or 0) + REPLACE_S for one in ready)
        with node_down(ready[0].kube, node, hold_s=hold) as down:
            not_ready = down["stopped_at"] + timedelta(seconds=down["node_not_ready_after_s"])
            for one in ready:
                watch(one, node, not_ready)
        for one in ready:
            back(one, node, down["stopped_at"])
    return NodeLossPhase({one.workload.key: result(one, node, down, lost_node) for one in lost})


def prepare(kube: Namespace, workload: Workload, node: str) -> Lost:
    one = Lost(kube, workload, places(workload)[0])
    running = kube.start_all(workload.docs())
    on_node = sorted((p for p in running.values() if p.spec.node_name == node), key=lambda p: p.metadata.name)
    if not on_node:
        where = sorted({p.spec.node_name for p in running.values()})
        one.why = f"no pod of it ran on {node}, the worker podlife stops (its pods ran on {where})"
        return one
    one.pod, one.before = on_node[0], {p.metadata.uid for p in running.values()}
    one.token = new_token()
    one.written = markers(kube, one.pod.metadata.name, one.places, one.token, write=True)
    return one


def watch(one: Lost, node: str, not_ready: datetime) -> None:
    """Past the pod's eviction (its tolerationSeconds after the node was marked unreachable), a
    replacement Ready on another node, or none; a bare pod once evicted cannot have one."""
    one.tolerated_s = tolerated = nodes.tolerated_s(one.pod)
    until = not_ready + timedelta(seconds=(tolerated or 0) + REPLACE_S)
    one.toleration = _toleration_from(one.workload)
    name, uid = one.pod.metadata.name, one.pod.metadata.uid

    def replacement(objects: dict[str, Any]) -> Any:
        old = next((p for p in objects.values() if p.metadata.uid == uid), None)
        if not one.workload.controlled and (old is None or old.metadata.deletion_timestamp):
            raise Impossible(f"{name} was evicted and nothing replaces a bare pod")
        return next(
            (
                p
                for p in objects.values()
                if p.metadata.uid not in one.before
                and p.spec.node_name not in (None, node)
                and not p.metadata.deletion_timestamp
                and pod_ready(p)
            ),
            None,
        )

    remaining = (until - one.kube.act(f"watch {one.workload.key} for a replacement")).total_seconds()
    try:
        new = one.kube.observe(max(remaining, 0.0), until=replacement, what=f"a replacement of {name}")
    except WaitImpossible as exc:
        new, one.no_replacement = None, exc.why
    evicted = first(history_of(one.kube, one.pod), lambda p: bool(p.metadata.deletion_timestamp))
    one.replaced, one.evicted_after_s = new is not None, seconds(not_ready, evicted)
    if new is not None:
        one.after = new
        one.found = markers(one.kube, new.metadata.name, one.places, one.token, write=False)


def back(one: Lost, node: str, stopped: datetime) -> None:
    """Once the node is back: the pod Ready again (the same one, or its controller's new one), or
    gone (a bare pod evicted meanwhile) and applied again; the markers looked for in it."""
    uid = one.pod.metadata.uid
    if one.after is None:

        def settled(objects: dict[str, Any]) -> Any:
            old = next((p for p in objects.values() if p.metadata.uid == uid), None)
            if old is not None and serving(old):
                return old
            fresh = [p for p in objects.values() if p.metadata.uid not in one.before and serving(p)]
            if fresh:
                return sorted(fresh, key=lambda p: p.metadata.name)[0]
            return "gone" if old is None and not one.workload.controlled else None

        got = one.kube.wait(settled, what=f"{one.workload.key} Ready after {node} came back", timeout=BACK_S)
        one.after = events.recreate(one.kube, one.workload, uid) if got == "gone" else got
        one.by = (
            "podlife (applied again: the bare pod was gone)"
            if got == "gone"
            else "the same pod, once its node was back"
            if got.metadata.uid == uid
            else "its controller, once the node was back"
        )
        one.found = markers(one.kube, one.after.metadata.name, one.places, one.token, write=False)
    else:
        one.by = "its controller, on another node while the node was away"
    history = history_of(one.kube, one.after)
    unready = (
        first(history, lambda p: not pod_ready(p), after=stopped) if one.after.metadata.uid == uid else None
    )
    one.ready_again_s = seconds(stopped, first(history, pod_ready, after=unready or stopped))


def _toleration_from(workload: Workload) -> str:
    own = [t for t in workload.spec().get("tolerations") or [] if t.get("key") in (nodes.UNREACHABLE, None)]
    return "the manifest's own" if own else "the API server's default for pods that set none"


def result(one: Lost, node: str, down: dict[str, Any], cluster: str) -> NodeLossFinding:
    """The workload's node loss, its places' outcome after it, and its departures."""
    if one.pod is None:
        return NodeLossFinding(node_loss=None, data={}, departures=[], unmeasured={"node_loss": one.why})
    promise = documented.replaced_on_node_loss(one.workload.kind, one.tolerated_s)
    loss = loss_of(one, node, down, cluster, documented_replaced=bool(promise.value))
    departures = []
    if one.replaced != promise.value:
        departures.append(promise.departure("node lost: replaced on another node", one.replaced))
    same_node = one.after.spec.node_name == node
    same_pod = one.after.metadata.uid == one.pod.metadata.uid
    data: dict[str, Kept] = {}
    unmeasured: dict[str, str] = {}
    for place in one.places:
        promise = documented.survives(place.type, NODE_LOSS, same_node, same_pod)
        seen = kept(one.written, one.found, place.key)
        if isinstance(seen, str):
            unmeasured[f"{place.key} {NODE_LOSS}"] = seen
        measured = seen if isinstance(seen, bool) else None
        data[place.key] = Kept(place.type, place.container).after(NODE_LOSS, measured, bool(promise.value))
        if measured is not None and measured != promise.value:
            departures.append(promise.departure(f"{place.key} ({place.type}) after {NODE_LOSS}", measured))
    return NodeLossFinding(node_loss=loss, data=data, departures=departures, unmeasured=unmeasured)


def loss_of(one: Lost, node: str, down: dict[str, Any], cluster: str, documented_replaced: bool) -> NodeLoss:
    """What happened to the workload's pod, and the times that ruled it (``down``: the node's own)."""
    return NodeLoss(
        node_before=node,
        replaced=one.replaced,
        documented_replaced=documented_replaced,
        tolerated_s=one.tolerated_s,
        toleration=one.toleration,
        stock_toleration_s=nodes.STOCK_TOLERATION_S,
        by=one.by,
        node_after=one.after.spec.node_name,
        ready_again_s=one.ready_again_s,
        evicted_after_s=one.evicted_after_s,
        no_replacement=one.no_replacement,
        method=down.get("method"),
        node_not_ready_after_s=down.get("node_not_ready_after_s"),
        node_ready_again_after_s=down.get("node_ready_again_after_s"),
        cluster=cluster,
    )


NOT_FINISHED = "the run's node-loss test did not finish (see its error in the run's output)"


def received(entries: list[dict[str, Any]]) -> tuple[list[Profile], dict[str, NodeLossFinding]]:
    """The run's profiles and node-loss findings, typed again, from the JSON their tests sent (a
    workload's profile, or ``{PHASE: findings}`` from the run's node-loss test)."""
    findings = {
        key: found
        for entry in entries
        if PHASE in entry
        for key, found in NodeLossPhase.from_json(entry[PHASE]).findings.items()
    }
    return [Profile.from_json(e) for e in entries if PHASE not in e], findings


def merge(profiles: list[Profile], findings: dict[str, NodeLossFinding], asked: bool) -> list[Profile]:
    """Each workload's profile with its node-loss findings joined in.  Without them its
    ``node_loss`` stays None, with the reason."""
    return [joined(p, findings.get(p.workload), asked) for p in profiles]


def joined(profile: Profile, found: NodeLossFinding | None, asked: bool) -> Profile:
    if found is not None:
        return profile.with_node_loss(found)
    return profile.unmeasured_because("node_loss", NOT_FINISHED) if asked else profile
