"""Whose departure it is: an old pod's way out of a Service, on one timeline.

When a pod behind a Service is deleted (a rolling update, a drain, a plain delete), three things
happen on their own clocks: the kubelet stops its containers (SIGTERM, then SIGKILL at the grace
period), the EndpointSlice controller marks its endpoint not ready (``terminating``), and kube-proxy
on every node stops sending it new connections once it reads that slice.  A container that ends
before its endpoint is off refuses the requests still sent to it: Kubernetes kept its promise (the
pods it counts as Ready), and the workload loses requests.  The documented remedies are the
workload's: a ``preStop`` hook that waits, or a server that keeps serving a while after SIGTERM.

:func:`leavings` replays the scenario's pod watch and its EndpointSlice watch (both recorded by the
namespace) beside a request loop's samples: per old pod, when it was deleted, when its endpoint went
off, when each of its containers was seen ended, and how many requests failed in between (and the
first of them: the pod no longer answered by then).  The moments are when podlife saw them, on one
clock; a container's end reaches the API only at the kubelet's next relist (up to ~1 s late), so the
first failed request, not the container's reported end, says when the pod stopped answering.
Requests are counted until :data:`PROXY_SLACK_S` after the endpoint went off: kube-proxy follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from podlife.findings import Leaving
from podlife.kube.api.watch import Event
from podlife.kube.pod.timeline import Entry

PROXY_SLACK_S = 1.0  # kube-proxy rewrites a node's rules after it reads the slice (iptables mode: < 1 s)
REMEDY = (
    "a preStop hook that waits a few seconds (lifecycle.preStop.sleep, any image) or a server that "
    "keeps serving for a few seconds after SIGTERM, so a pod ends only after its endpoint is off "
    "(https://kubernetes.io/docs/tutorials/services/pods-and-endpoint-termination-flow/)"
)


def ready_endpoints(endpoint_slice: Any) -> dict[str, bool]:
    """pod name -> whether its endpoint is ready, in one EndpointSlice."""
    out: dict[str, bool] = {}
    for ep in endpoint_slice.endpoints or []:
        ref = ep.target_ref
        if ref is not None and ref.kind == "Pod":
            out[ref.name] = bool(ep.conditions and ep.conditions.ready)
    return out


def endpoint_changes(slice_events: Iterable[Event]) -> list[tuple[datetime, str, bool]]:
    """(when, pod, ready in some slice) each time a pod's endpoint changed, from the slice watch."""
    slices: dict[str, dict[str, bool]] = {}
    state: dict[str, bool] = {}
    out: list[tuple[datetime, str, bool]] = []
    for e in slice_events:
        name = e.obj.metadata.name
        slices[name] = {} if e.type == "DELETED" else ready_endpoints(e.obj)
        now: dict[str, bool] = {}
        for eps in slices.values():
            for pod, ready in eps.items():
                now[pod] = now.get(pod, False) or ready
        for pod in set(state) | set(now):
            if now.get(pod, False) != state.get(pod, False):
                out.append((e.at, pod, now.get(pod, False)))
        state = {p: r for p, r in now.items()}
    return out


def entries(slice_events: Iterable[Event]) -> list[Entry]:
    """The endpoint changes as timeline entries (source ``endpoint``)."""
    return [
        Entry(at, "endpoint", f"pod {pod}: endpoint {'ready' if ready else 'off (not ready or gone)'}")
        for at, pod, ready in endpoint_changes(slice_events)
    ]


def leavings(
    pod_events: Iterable[Event],
    slice_events: Iterable[Event],
    samples: list[Any],
    zero: float,
    select: Callable[[Any], bool] = lambda pod: True,
) -> list[Leaving]:
    """Every pod (matching ``select``) deleted while the loop ran: its way out, in seconds since
    ``zero`` (the request loop's start, epoch seconds), and the loop's failed ``samples`` (``at``,
    ``ok``) in between, each counted once (for the first old pod whose window holds it).  Its
    endpoint goes off at the first change to not ready from its deletion on; one already off then
    (a probe had failed) went off with it."""
    deleted, ended = ways_out(pod_events, zero, select)
    deleted = {name: at for name, at in deleted.items() if at >= 0}  # before the loop: not its business
    off = offs(slice_events, deleted, zero)
    windows = {
        name: (at, off[name] + PROXY_SLACK_S if name in off else max(ended[name].values(), default=at))
        for name, at in deleted.items()
    }
    counted: dict[str, list[float]] = {name: [] for name in deleted}
    for s in samples:
        if not s.ok and (name := next((n for n, (a, b) in windows.items() if a <= s.at <= b), None)):
            counted[name].append(s.at)
    return [
        Leaving(
            name,
            round(at, 3),
            round(off[name], 3) if name in off else None,
            {c: round(t, 3) for c, t in ended[name].items()},
            len(counted[name]),
            round(min(counted[name]), 3) if counted[name] else None,
        )
        for name, at in deleted.items()
    ]


def offs(slice_events: Iterable[Event], deleted: dict[str, float], zero: float) -> dict[str, float]:
    """When each deleted pod's endpoint went off: the first change to not ready from its deletion
    on, or the deletion itself where it was off already (seconds since ``zero``)."""
    off: dict[str, float] = {}
    last: dict[str, bool] = {}  # each pod's endpoint as it stood, change by change
    for at, pod, ready in endpoint_changes(slice_events):
        seconds = at.timestamp() - zero
        if pod in deleted and pod not in off and seconds >= deleted[pod]:
            if pod in last and not last[pod]:  # already off at its deletion
                off[pod] = deleted[pod]
            elif not ready:
                off[pod] = seconds
        last[pod] = ready
    for pod in deleted:  # no change after the deletion: off with it if it was off before
        if pod not in off and pod in last and not last[pod]:
            off[pod] = deleted[pod]
    return off


def ways_out(
    pod_events: Iterable[Event], zero: float, select: Callable[[Any], bool]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """From the pod watch: when each pod was seen deleted, in the order seen, and when each of its
    containers was seen ended after that (seconds since ``zero``)."""
    deleted: dict[str, float] = {}
    ended: dict[str, dict[str, float]] = {}
    for e in pod_events:
        pod = e.obj
        if not select(pod):
            continue
        name, at = pod.metadata.name, e.at.timestamp() - zero
        if (pod.metadata.deletion_timestamp or e.type == "DELETED") and name not in deleted:
            deleted[name], ended[name] = at, {}
        if name in deleted:
            for status in pod.status.container_statuses or []:
                if status.state and status.state.terminated and status.name not in ended[name]:
                    ended[name][status.name] = at
    return deleted, ended


def mechanism(leaving: list[Leaving], failed: int) -> str | None:
    """The measured mechanism of ``failed`` requests: old pods that stopped answering between their
    deletion and kube-proxy following their endpoint off; None when no old pod explains them."""
    early = [x for x in leaving if x.failed]
    if not early:
        return None
    explained = sum(x.failed for x in early)
    return (
        f"{len(early)} old pod(s) stopped answering while the Service still sent them requests, "
        f"{explained} of the {failed} failed request(s): " + "; ".join(x.line() for x in early)
    )
