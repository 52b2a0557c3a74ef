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
from podlife.profile.observe import first, history_of, markers, new_token, seconds
from podlife.profile.places import Place, places
from podlife.profile.workload import Workload

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
    out: dict[str, Any] = field(default_factory=dict)
    found: dict[str, Any] = field(default_factory=dict)
    after: Any = None  # the pod Ready afterwards


def phase(subjects: list[tuple[Namespace, Workload]], node: str, lost_node: str = "") -> dict[str, Any]:
    """Every workload through one loss of ``node``; per workload key, its ``node_loss`` facts,
    its places' ``survives`` and what Kubernetes documents for each."""
    lost = [prepare(kube, workload, node) for kube, workload in subjects]
    ready = [one for one in lost if one.pod is not None]
    down: dict[str, Any] = {}
    if ready:
        with node_down(ready[0].kube, node) as down:
            not_ready = down["stopped_at"] + timedelta(seconds=down["node_not_ready_after_s"])
            for one in ready:
                watch(one, node, not_ready)
        for one in ready:
            back(one, node, down["stopped_at"])
    facts = {
        k: down[k] for k in ("method", "node_not_ready_after_s", "node_ready_again_after_s") if k in down
    }
    return {one.workload.key: result(one, node, {**facts, "cluster": lost_node}) for one in lost}


def prepare(kube: Namespace, workload: Workload, node: str) -> Lost:
    one = Lost(kube, workload, places(workload)[0])
    running = kube.start_all(workload.docs())
    on_node = sorted((p for p in running.values() if p.spec.node_name == node), key=lambda p: p.metadata.name)
    if not on_node:
        where = sorted({p.spec.node_name for p in running.values()})
        one.out["why"] = f"no pod of it ran on {node}, the worker podlife stops (its pods ran on {where})"
        return one
    one.pod, one.before = on_node[0], {p.metadata.uid for p in running.values()}
    one.token = new_token()
    one.written = markers(kube, one.pod.metadata.name, one.places, one.token, write=True)
    return one


def watch(one: Lost, node: str, not_ready: datetime) -> None:
    """Past the pod's eviction (its tolerationSeconds after the node was marked unreachable), a
    replacement Ready on another node, or none; a bare pod once evicted cannot have one."""
    tolerated = nodes.tolerated_s(one.pod)
    until = not_ready + timedelta(seconds=(tolerated or 0) + REPLACE_S)
    one.out.update(tolerated_s=tolerated, toleration=_toleration_from(one.workload))
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
        new, one.out["no_replacement"] = None, exc.why
    evicted = first(history_of(one.kube, one.pod), lambda p: bool(p.metadata.deletion_timestamp))
    one.out.update(replaced=new is not None, evicted_after_s=seconds(not_ready, evicted))
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
        one.out["by"] = (
            "podlife (applied again: the bare pod was gone)"
            if got == "gone"
            else "the same pod, once its node was back"
            if got.metadata.uid == uid
            else "its controller, once the node was back"
        )
        one.found = markers(one.kube, one.after.metadata.name, one.places, one.token, write=False)
    else:
        one.out["by"] = "its controller, on another node while the node was away"
    history = history_of(one.kube, one.after)
    unready = (
        first(history, lambda p: not pod_ready(p), after=stopped) if one.after.metadata.uid == uid else None
    )
    one.out["ready_again_s"] = seconds(stopped, first(history, pod_ready, after=unready or stopped))
    one.out["node_after"] = one.after.spec.node_name


def _toleration_from(workload: Workload) -> str:
    own = [t for t in workload.spec().get("tolerations") or [] if t.get("key") in (nodes.UNREACHABLE, None)]
    return "the manifest's own" if own else "the API server's default for pods that set none"


def result(one: Lost, node: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The workload's ``node_loss``, its places' ``survives``/``documented`` for node-loss, and its
    departures."""
    out: dict[str, Any] = {"node_loss": None, "data": {}, "departures": [], "unmeasured": {}}
    if one.pod is None:
        out["unmeasured"]["node_loss"] = one.out.get("why", "not performed")
        return out
    out["node_loss"] = {
        "node_before": node,
        **one.out,
        **facts,
        "stock_toleration_s": nodes.STOCK_TOLERATION_S,
    }
    promise = documented.replaced_on_node_loss(one.workload.kind, one.out.get("tolerated_s"))
    out["node_loss"]["documented_replaced"] = promise.value
    if one.out.get("replaced") != promise.value:
        out["departures"].append(
            _departure("node lost: replaced on another node", promise, one.out.get("replaced"))
        )
    same_node = one.after.spec.node_name == node
    same_pod = one.after.metadata.uid == one.pod.metadata.uid
    for place in one.places:
        promise = documented.survives(place.type, "node-loss", same_node, same_pod)
        measured = _survived(one, place, out["unmeasured"])
        out["data"][place.key] = {"survives": measured, "documented": promise.value}
        if measured is not None and measured != promise.value:
            out["departures"].append(
                _departure(f"{place.key} ({place.type}) after node-loss", promise, measured)
            )
    return out


def _survived(one: Lost, place: Place, unmeasured: dict[str, str]) -> bool | None:
    if one.written.get(place.key) is not True:
        unmeasured[f"{place.key} node-loss"] = (
            f"the marker could not be written: {one.written.get(place.key)}"
        )
        return None
    value = one.found.get(place.key)
    if not isinstance(value, bool):
        unmeasured[f"{place.key} node-loss"] = f"the marker could not be read: {value}"
        return None
    return value


def _departure(observation: str, promise: documented.Promise, measured: object) -> dict[str, str]:
    return {"observation": observation, "documented": promise.text(), "measured": str(measured)}


NOT_FINISHED = "the run's node-loss test did not finish (see its error in the run's output)"


def merge(entries: list[dict[str, Any]], asked: bool, key: str = PHASE) -> list[dict[str, Any]]:
    """Each workload's profile with its node-loss findings (the entries under ``key``, from the
    run's node-loss test) joined in.  Without them its ``node_loss`` stays null, with the reason."""
    found = {k: v for e in entries if key in e for k, v in e[key].items()}
    profiles = [e for e in entries if key not in e]
    for p in profiles:
        loss = found.get(p["workload"])
        if loss is None:
            if asked:
                p["unmeasured"]["node_loss"] = NOT_FINISHED
            continue
        p["node_loss"] = loss["node_loss"]
        p["unmeasured"].pop("node_loss", None)
        p["unmeasured"].update(loss["unmeasured"])
        for place, seen in loss["data"].items():
            p["data"][place]["survives"]["node-loss"] = seen["survives"]
            p["data"][place]["documented"]["node-loss"] = seen["documented"]
        p["departures"] = [*p["departures"], *loss["departures"]]
    return profiles
