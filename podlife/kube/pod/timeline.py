"""One merged timeline per scenario, and named checks over it (as Kubernetes' node e2e tests do).

Three sources, merged by time: what the pod watch saw (a container started, terminated,
restarted, became ready; a pod scheduled, deleted), the namespace's Kubernetes events, and
what the scenario did (``act``).  Checks such as :func:`restarted` and :func:`unchanged` read
the watch history of a pod; when one fails, the scenario's failure prints the timeline.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from podlife.kube.api.watch import Event
from podlife.kube.pod.pods import pod_ready, statuses

History = list[tuple[datetime, Any]]  # (when podlife saw it, the pod object)


@dataclass(frozen=True)
class Entry:
    at: datetime
    source: str  # "watch" | "event" | "podlife"
    text: str

    def line(self, zero: datetime) -> str:
        return f"{(self.at - zero).total_seconds():9.3f}s  {self.source:<7} {self.text}"


@dataclass(frozen=True)
class Check:
    """A named observation over the timeline: passed or not, and what was seen."""

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


def container_word(status: Any) -> str:
    state = status.state
    if state.running:
        return "running"
    if state.terminated:
        t = state.terminated
        return f"terminated (exit {t.exit_code}, {t.reason})"
    if state.waiting:
        return f"waiting ({state.waiting.reason})"
    return "unknown"


def pod_entries(events: Iterable[Event]) -> list[Entry]:
    """The changes the watch saw, one entry each, in the order seen."""
    out: list[Entry] = []
    seen: dict[str, Any] = {}
    for ev in events:
        pod, name = ev.obj, ev.obj.metadata.name
        key = f"{name}@{pod.metadata.uid[:8]}"
        if ev.type == "DELETED":
            out.append(Entry(ev.at, "watch", f"pod {key} deleted"))
            seen.pop(key, None)
            continue
        before = seen.get(key, {})
        now: dict[str, str] = {"phase": f"pod {key} {pod.status.phase}"}
        if pod.spec.node_name:
            now["node"] = f"pod {key} on {pod.spec.node_name}"
        if pod.metadata.deletion_timestamp:
            now["deleting"] = f"pod {key} being deleted"
        for cname, s in statuses(pod).items():
            now[cname] = (
                f"{name}/{cname}: {container_word(s)}, restarts {s.restart_count}"
                f"{', ready' if s.ready else ''}"
            )
        out += [Entry(ev.at, "watch", text) for k, text in now.items() if before.get(k) != text]
        seen[key] = now
    return out


def event_entries(k8s_events: Iterable[Any]) -> list[Entry]:
    out = []
    for e in k8s_events:
        at = e.event_time or e.last_timestamp or e.first_timestamp
        if at is None:
            continue
        count = f" (x{e.count})" if (e.count or 1) > 1 else ""
        text = f"{e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}{count}"
        out.append(Entry(at.astimezone(UTC), "event", text))
    return out


def render(entries: Iterable[Entry]) -> str:
    ordered = sorted(entries, key=lambda e: e.at)
    if not ordered:
        return "(nothing recorded)"
    zero = ordered[0].at
    head = f"timeline (0 = {zero.isoformat(timespec='milliseconds')})"
    return "\n".join([head, *(e.line(zero) for e in ordered)])


# ---------------------------------------------------------------- named checks
def _baseline(history: History, since: datetime | None) -> int:
    """Index of the last record at or before ``since`` (the state when the scenario acted)."""
    if since is None:
        return 0
    before = [i for i, (at, _) in enumerate(history) if at <= since]
    return before[-1] if before else 0


def _status(pod: Any, container: str) -> Any:
    return statuses(pod).get(container)


def restarted(history: History, container: str, times: int, *, since: datetime | None = None) -> Check:
    """The container's restart count rose by exactly ``times`` after ``since``, with a new
    container each time, and never went down."""
    name = f"{container} restarted {times} time(s)"
    records = history[_baseline(history, since) :]
    counts = [s.restart_count for _, p in records if (s := _status(p, container))]
    ids = list(
        dict.fromkeys(s.container_id for _, p in records if (s := _status(p, container)) and s.container_id)
    )
    if not counts:
        return Check(name, False, "the container was never seen")
    went_down = any(b < a for a, b in itertools.pairwise(counts))
    rose = counts[-1] - counts[0]
    replaced = times == 0 or (len(ids) > 1 and ids[-1] != ids[0])
    ok = rose == times and not went_down and replaced
    detail = f"restartCount {counts[0]} -> {counts[-1]}, {len(ids)} container id(s) seen"
    return Check(name, ok, detail + (", and it went down on the way" if went_down else ""))


def unchanged(
    history: History, container: str, *, since: datetime | None = None, events: Iterable[Any] = ()
) -> Check:
    """The same container, never restarted, from ``since`` to the last record; and, where the
    namespace's ``events`` are given, no kubelet event of a new instance of it (Killing, Created,
    Started) after ``since``: a busy kubelet can post those before the pod's status shows them."""
    name = f"{container} unchanged"
    records = history[_baseline(history, since) :]
    seen = {
        (s.container_id, s.restart_count, str(s.state.running.started_at if s.state.running else None))
        for _, p in records
        if (s := _status(p, container))
    }
    if not seen:
        return Check(name, False, "the container was never seen")
    uids = {p.metadata.uid for _, p in records}
    said = kubelet_changes(events, uids, container, since)
    detail = f"{len(seen)} distinct (container id, restarts, started) seen"
    return Check(name, len(seen) == 1 and not said, detail + (f"; the kubelet: {said}" if said else ""))


# the kubelet's events of a container instance ending or beginning
CHANGES = ("Killing", "Created", "Started")


def kubelet_changes(
    events: Iterable[Any], uids: set[str], container: str, since: datetime | None
) -> list[str]:
    """The kubelet's events of ``container`` in the pod(s) ``uids`` (not a namesake in another pod)
    that end or begin an instance, last seen after ``since`` (events carry whole seconds)."""
    field = f"spec.containers{{{container}}}"
    out = []
    for e in events:
        at = max((t for t in (e.last_timestamp, e.event_time, e.first_timestamp) if t), default=None)
        ref = e.involved_object
        mine = ref.uid in uids and ref.field_path == field and e.reason in CHANGES
        if mine and at and (since is None or at > since):
            out.append(f"{e.reason}: {e.message}")
    return out


def ends(history: History, container: str, *, since: datetime | None = None) -> dict[str, Any]:
    """Each end of the container seen after ``since``, by container id: its terminated state,
    seen as its own state or as its successor's lastState (the kubelet does not always fill
    lastState in)."""
    out: dict[str, Any] = {}
    for _, pod in history[_baseline(history, since) :]:
        status = _status(pod, container)
        for state in (status.state, status.last_state) if status else ():
            if state and state.terminated:
                out[state.terminated.container_id or "?"] = state.terminated
    return out


def ended_with(history: History, container: str, code: int, *, since: datetime | None = None) -> Check:
    """Every end of the container seen after ``since`` had exit code ``code``."""
    name = f"{container} ended with exit code {code}"
    codes = {cid: t.exit_code for cid, t in ends(history, container, since=since).items()}
    if not codes:
        return Check(name, False, "no end of the container was seen")
    seen = {cid.rsplit("/", 1)[-1][:12]: exit_code for cid, exit_code in codes.items()}
    return Check(name, set(codes.values()) == {code}, f"exit code(s) seen: {seen}")


def same_pod(history: History) -> Check:
    uids = list(dict.fromkeys(p.metadata.uid for _, p in history))
    return Check("the same pod throughout", len(uids) == 1, f"pod uid(s): {[u[:8] for u in uids]}")


def instances(history: History, container: str) -> list[dict[str, Any]]:
    """Each instance of the container the watch saw, in order: its id, when it started and when
    it ended (the API's times, whole seconds), from its own states and its successor's lastState."""
    seen: dict[str, dict[str, Any]] = {}
    for _, pod in history:
        status = _status(pod, container)
        if status is None:
            continue
        for state in (status.state, status.last_state):
            cid = status.container_id if state is status.state else None
            if state and state.running and cid:
                seen.setdefault(cid, {"id": cid})["started"] = state.running.started_at
            if state and state.terminated and state.terminated.container_id:
                done = seen.setdefault(state.terminated.container_id, {"id": state.terminated.container_id})
                done.update(started=state.terminated.started_at, ended=state.terminated.finished_at)
    return sorted(seen.values(), key=lambda i: i.get("started") or datetime.max.replace(tzinfo=UTC))


def starts_before(first: str, first_at: float, then: str, then_at: float) -> Check:
    """``first`` happened before ``then`` (seconds on one clock)."""
    lead = round((then_at - first_at) * 1000)
    return Check(f"{first} before {then}", lead > 0, f"{first} {lead} ms before {then}")


def unready_during(events: Iterable[Event], start: datetime, select: Callable[[Any], bool]) -> list[str]:
    """Pods (matching ``select``, running, not being deleted) seen not ready since ``start``."""
    return sorted(
        {
            e.obj.metadata.name
            for e in events
            if e.at >= start
            and e.type != "DELETED"
            and select(e.obj)
            and not e.obj.metadata.deletion_timestamp
            and e.obj.status.phase == "Running"
            and not all(s.ready for s in e.obj.status.container_statuses or [])
        }
    )


def fewest_ready(
    events: Iterable[Event], start: datetime, select: Callable[[Any], bool], *, own_losses_kept: bool = False
) -> int | None:
    """The fewest pods (matching ``select``) Ready at once from ``start`` on, replaying the watch
    (a pod being deleted no longer counts).  ``own_losses_kept``: a pod that was Ready and lost its
    readiness on its own (not being deleted: a probe failing or timing out, a container restarting)
    still counts, so the number is what Kubernetes' own decisions (evictions, deletions, the
    replacements' start) left.  None: no such pod was seen."""
    ready: dict[str, bool] = {}
    ever: set[str] = set()  # pods seen Ready at least once
    counts: list[int] = []
    for e in (e for e in events if select(e.obj)):
        if e.at >= start and not counts and ready:
            counts.append(sum(ready.values()))  # as it stood at ``start``
        name, deleting = e.obj.metadata.name, e.type == "DELETED" or e.obj.metadata.deletion_timestamp
        if pod_ready(e.obj):
            ever.add(name)
        ready[name] = not deleting and (pod_ready(e.obj) or (own_losses_kept and name in ever))
        if e.at >= start:
            counts.append(sum(ready.values()))
    return min(counts) if counts else (sum(ready.values()) if ready else None)


def own_readiness_losses(
    events: Iterable[Event], start: datetime, select: Callable[[Any], bool]
) -> list[tuple[str, datetime, datetime | None]]:
    """(pod, from, until or None) each time a pod (matching ``select``) that was Ready lost its
    readiness while not being deleted, from ``start`` on: the workload's own part."""
    ready: dict[str, bool] = {}
    losses: list[tuple[str, datetime, datetime | None]] = []
    open_: dict[str, datetime] = {}
    for e in (e for e in events if select(e.obj)):
        name, deleting = e.obj.metadata.name, e.type == "DELETED" or e.obj.metadata.deletion_timestamp
        now = not deleting and pod_ready(e.obj)
        if ready.get(name) and not now and not deleting and e.at >= start:
            open_[name] = e.at
        if name in open_ and (now or deleting):
            losses.append((name, open_.pop(name), e.at))
        ready[name] = now
    return sorted([*losses, *((n, at, None) for n, at in open_.items())], key=lambda x: x[1])


def own_losses_s(
    events: Iterable[Event], start: datetime, select: Callable[[Any], bool], zero: float
) -> list[tuple[str, float, float | None]]:
    """:func:`own_readiness_losses` in seconds since ``zero`` (a request loop's start)."""
    return [
        (pod, round(a.timestamp() - zero, 3), None if b is None else round(b.timestamp() - zero, 3))
        for pod, a, b in own_readiness_losses(events, start, select)
    ]
