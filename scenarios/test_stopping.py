"""Beyond the chapter, how a pod stops: deleting it gives each container SIGTERM and then its grace
period.  Measured on the chapter's pod with podlife's SIGTERM clock beside its containers (when
SIGTERM arrived, when the clock had drained), whatever the web image does with SIGTERM."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from podlife.claims import BEYOND, Claim, Counter
from podlife.kube import RequestLoop, clock, pods, traffic
from podlife.measure import Measurement
from podlife.paths import MANIFESTS
from podlife.pictures import ContainerEnd, StopTimeline

COUNTER = Path(__file__).parent / "counter"
SLACK_S = 3.0  # the kubelet's SIGKILL after the grace period, and finishedAt's whole seconds
SIGKILL_EXIT = 137

GRACEFUL = Claim(
    "graceful-stop",
    BEYOND,
    "Deleting the pod gives each container SIGTERM and then its grace period "
    "(terminationGracePeriodSeconds) before SIGKILL.",
    counters=(
        Counter(
            COUNTER / "prestop-outlasts-grace.yml",
            "A preStop hook that outlasts the grace period: SIGTERM comes at its end and the container "
            "is killed 2 s later, before it has drained.",
        ),
    ),
)


@GRACEFUL.measure
def graceful_stop(m: Measurement) -> None:
    """The pod deleted with its own grace period while the clock's log is followed; each container's
    end (exit code, seconds after the deletion) and when SIGTERM reached the clock."""
    pod = m.kube.start(clock.clocked(m.docs, m.kube.cluster.probe_image))
    name, grace = pod.metadata.name, pod.spec.termination_grace_period_seconds
    follower = clock.Follower(m.kube.cluster.api, m.kube.namespace, name, clock.NAME)
    with writing(m, pod) as loop, follower as log:
        m.kube.observe(30, until=lambda _: log.when("running"), what="the clock running")
        deleted, deleted_s = m.kube.act(f"delete pod {name} (grace {grace} s)"), loop.now()
        m.kube.delete_pod(name)
        writes = in_flight(loop, deleted_s)
    ends = {c: end(m.kube.history(name), c, deleted) for c in pods.statuses(pod)}
    sigterm, drained = log.when("SIGTERM"), log.when("drained")
    marks = {
        "clock_sigterm_after_s": _after(deleted, sigterm),
        "clock_drained_after_s": _after(deleted, drained),
    }
    m.evidence(grace_s=grace, ends=ends, clock_drain_s=clock.DRAIN_S, writes_in_flight=writes, **marks)
    m.draw(drawn(ends, grace, marks))
    stop = ends[clock.NAME]
    m.check(sigterm is not None, "the clock never got SIGTERM")
    m.check(
        drained is not None and stop["exit_code"] == 0,
        f"the clock ended with {stop['exit_code']} before its {clock.DRAIN_S} s drain was over: SIGTERM "
        f"came {_after(deleted, sigterm)} s after the deletion, its grace period was {grace} s",
    )
    for container, e in ends.items():
        if e["seconds"] is not None:
            m.check(e["seconds"] <= grace + SLACK_S, f"{container} ended {e['seconds']} s after the deletion")
    killed = sorted(c for c, e in ends.items() if e["killed_at_grace"])
    m.state(
        f"each container got SIGTERM and its {grace} s; "
        + (
            f"{', '.join(killed)} outlasted it and ended with 137"
            if killed
            else "each ended by itself before it"
        )
    )


SIDECAR = Claim(
    "sidecar-stops-last",
    BEYOND,
    "With PostgreSQL as a native sidecar (the chapter's fix), deleting the pod ends the regular "
    "containers before PostgreSQL is asked to stop.",
    subject=MANIFESTS / "webpod-ordered.yml",
    counters=(
        Counter(
            COUNTER / "db-regular.yml",
            "PostgreSQL as a regular container: it is asked to stop together with the others.",
        ),
    ),
)
SHUTDOWN = re.compile(r"received (smart|fast|immediate) shutdown request")


@SIDECAR.measure
def sidecar_stops_last(m: Measurement) -> None:
    """The pod (with podlife's SIGTERM clock, a regular container that drains 3 s) deleted while the
    clock's and PostgreSQL's logs are followed: when PostgreSQL logged its shutdown request (the
    database's own word for the moment its stop began), against when the regular containers ended."""
    pod = m.kube.start(clock.clocked(m.docs, m.kube.cluster.probe_image))
    name, db, api, ns = pod.metadata.name, m.subject.db, m.kube.cluster.api, m.kube.namespace
    followers = clock.Follower(api, ns, name, clock.NAME), clock.Follower(api, ns, name, db)
    with writing(m, pod) as loop, followers[0] as log, followers[1] as dblog:
        m.kube.observe(30, until=lambda _: log.when("running"), what="the clock running")
        deleted, deleted_s = m.kube.act(f"delete pod {name}"), loop.now()
        m.kube.delete_pod(name)
        writes = in_flight(loop, deleted_s)
    asked = next((at for at, line in dblog.lines if SHUTDOWN.search(line)), None)
    drained = log.when("drained")
    regular = [c.name for c in pod.spec.containers]
    ends = {c: end(m.kube.history(name), c, deleted) for c in [*regular, db]}
    marks = {
        "db_asked_to_stop_after_s": _after(deleted, asked),
        "clock_sigterm_after_s": _after(deleted, log.when("SIGTERM")),
        "clock_drained_after_s": _after(deleted, drained),
    }
    grace = pod.spec.termination_grace_period_seconds
    m.evidence(
        db_role="native sidecar" if db not in regular else "regular container",
        grace_s=grace,
        ends=ends,
        writes_in_flight=writes,
        **marks,
    )
    m.draw(drawn(ends, grace, marks))
    m.check(asked is not None, "PostgreSQL logged no shutdown request")
    m.check(
        asked is not None and drained is not None and asked >= drained,
        f"PostgreSQL was asked to stop {_after(deleted, asked)} s after the deletion, before the regular "
        f"containers had ended (the clock drained at {_after(deleted, drained)} s)",
    )


WRITE = json.dumps({"data": "in-flight"})  # the chapter's /write, as webapp.write sends it


@contextmanager
def writing(m: Measurement, pod: Any) -> Iterator[RequestLoop]:
    """A loop of the chapter's writes to the pod's own address, answered before the scenario acts."""
    url = f"http://{pod.status.pod_ip}:{m.subject.port}/write"
    with m.kube.request_loop(url, max_seconds=180, body=WRITE) as loop:
        loop.await_answered(3, "writes to the pod before it is deleted")
        yield loop


def in_flight(loop: RequestLoop, deleted_s: float) -> dict[str, Any]:
    """The writes still under way at the deletion or begun after it, until the pod was gone: what
    the web image does with SIGTERM decides them (evidence, not the verdict)."""
    gone_s = loop.now()
    seen = [s for s in loop.samples if s.at + s.took >= deleted_s and s.at < gone_s]
    answered = [s.at + s.took - deleted_s for s in seen if s.ok]
    return {
        "writes": len(seen),
        "answered": len(answered),
        "failed": traffic.summary([s for s in seen if not s.ok]),
        "last_answered_after_s": round(max(answered), 2) if answered else None,
    }


def drawn(ends: dict[str, dict[str, Any]], grace: float, marks: dict[str, float | None]) -> StopTimeline:
    return StopTimeline(
        grace_s=grace,
        ends=[ContainerEnd(c, e["seconds"], e["exit_code"]) for c, e in ends.items()],
        marks={k: v for k, v in marks.items() if v is not None},
    )


def _after(start: datetime | None, at: datetime | None) -> float | None:
    return round((at - start).total_seconds(), 2) if start and at else None


def end(history: list[tuple[datetime, Any]], container: str, deleted: datetime) -> dict[str, Any]:
    """The container's end after the deletion: its exit code, and the seconds to its ``finishedAt``
    (whole seconds, from the kubelet: the end lies in the second that follows, so an end in the
    deletion's own second would read as before it, and is 0), and whether it was killed at the end
    of the grace period."""
    ended = next(
        (
            s.state.terminated
            for at, p in history
            if at >= deleted
            for c, s in pods.statuses(p).items()
            if c == container and s.state and s.state.terminated
        ),
        None,
    )
    if ended is None:
        return {"exit_code": None, "seconds": None, "killed_at_grace": None}
    took = round(max(0.0, (ended.finished_at - deleted).total_seconds()), 1) if ended.finished_at else None
    grace = history[-1][1].spec.termination_grace_period_seconds
    return {
        "exit_code": ended.exit_code,
        "seconds": took,
        "killed_at_grace": ended.exit_code == SIGKILL_EXIT and took is not None and took >= grace - 1,
    }
