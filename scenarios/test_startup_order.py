"""The chapter's "Starting up order" and its learning ("Boot up order of containers in the
pod is not deterministic. Boot up of containers happens in parallel."), and the fix it
points to ("There are ways to guarantee startup order, one example is init-containers").

Over N fresh pods, measured from outside the web app: when each container's process
started (its ``/proc`` start time, 10 ms ticks, read by a probe targeting it), when
PostgreSQL accepted connections (its own log line, timed by the kubelet), and when the web
app first answered GET /ping (probed every 10 ms from inside the pod's network namespace).
"""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from podlife.claims import FIXES, LEARNINGS, Claim, Counter, Needs
from podlife.errors import SetupError
from podlife.kube import pods, poll_until, shape
from podlife.measure import Measurement
from podlife.paths import MANIFESTS
from podlife.pictures import StartupRun, StartupTimeline

ORDERED = MANIFESTS / "webpod-ordered.yml"
COUNTER = Path(__file__).parent / "counter"
DB_READY = "database system is ready to accept connections"
COUNTER_RUNS = 3  # a counter-example is refuted by one run; three show it is no accident
PG_PORT = 5432
PROBE_S = 240  # a probe's jobs end within 180 s; the rest is a busy node starting its container
AT_ONCE = 2  # fresh pods at a time: a pod's own containers start in its own order whatever runs beside

STARTUP = Claim(
    "startup-order",
    LEARNINGS,
    "Boot up order of containers in the pod is not deterministic. Boot up of containers happens in parallel.",
    needs=Needs(host_ports=False),  # ten fresh pods; a host port plays no part in how they start
    counters=(
        Counter(
            ORDERED, "PostgreSQL as a native sidecar with a startup probe: the web starts only after it."
        ),
    ),
)


@STARTUP.measure
def startup_order(m: Measurement) -> None:
    """Refuted if the database always accepted connections before the web container started;
    refined when the processes always started in one order (readiness is what varies)."""
    runs, facts = measured_runs(m)
    n, web, db = len(runs), m.subject.web, m.subject.db
    early = sum(r.web_started < r.db_accepting for r in runs)
    leads = [f["web_lead_ms"] for f in facts]
    order = {web: sum(x > 0 for x in leads), db: sum(x < 0 for x in leads), "same tick": leads.count(0)}
    waits = [f["web_answered_after_ms"] for f in facts if f["web_answered_after_ms"] is not None]
    m.draw(StartupTimeline(runs))
    m.evidence(
        runs=n,
        web_running_before_db_accepting=early,
        started_first=order,
        web_lead_ms=spread(leads),
        web_answered_after_ms=spread(waits),
        per_run=facts,
    )
    if not m.check(
        early > 0,
        f"in all {n} runs the database accepted connections before the web "
        "container started: start-up was ordered",
    ):
        return
    first = next((c for c in (web, db) if order[c] == n), None)
    if first is None:
        m.state(
            f"start order varied ({order}); web ran before the db accepted connections in {early}/{n} runs"
        )
        return
    in_spec = first == next(c["name"] for c in spec_order(m))
    m.refine(
        f"Start-up is not parallel: the kubelet starts a pod's containers one after another"
        f"{' in spec order' if in_spec else ''} ({first} started first in {n}/{n} runs, "
        f"{abs(statistics.median(leads)):.0f} ms ahead on median). What is not deterministic is readiness: "
        f"the web container was running before PostgreSQL accepted connections in {early}/{n} runs, and "
        f"first answered up to {max(waits, default=0)} ms after it started."
    )


ORDERED_START = Claim(
    "ordered-start",
    FIXES,
    "There are ways to guarantee startup order, one example is init-containers",
    subject=ORDERED,
    fixes="startup-order",
    needs=Needs(host_ports=False),
    counters=(
        Counter(
            COUNTER / "sidecar-without-startup-probe.yml",
            "The same sidecar without its startup probe: the web starts while PostgreSQL initialises.",
        ),
    ),
)


@ORDERED_START.measure
def ordered_start(m: Measurement) -> None:
    """Confirmed when, in every run, the web container's process started only after PostgreSQL
    accepted connections."""
    runs, facts = measured_runs(m)
    after_ms = [round((r.web_started - r.db_accepting) * 1000) for r in runs]
    early = [i + 1 for i, ms in enumerate(after_ms) if ms <= 0]
    m.draw(StartupTimeline(runs))
    m.evidence(runs=len(runs), web_started_after_db_accepting_ms=spread(after_ms), per_run=facts)
    m.check(not early, f"the web container started before PostgreSQL accepted connections in run(s) {early}")
    m.state(
        f"in all {len(runs)} runs the web container started {min(after_ms)}-{max(after_ms)} ms "
        "after PostgreSQL accepted connections"
    )


# ---------------------------------------------------------------- one fresh pod
def measured_runs(m: Measurement) -> tuple[list[StartupRun], list[dict[str, Any]]]:
    count = m.runs if m.counter is None else min(m.runs, COUNTER_RUNS)
    with ThreadPoolExecutor(AT_ONCE) as pool:  # each run is its own pod: two at a time, in any order
        measured = list(pool.map(lambda i: one_run(m, f"{m.subject.pod}-run{i}"), range(1, count + 1)))
    return [r for r, _ in measured], [f for _, f in measured]


def one_run(m: Measurement, name: str) -> tuple[StartupRun, dict[str, Any]]:
    """Apply a fresh pod (a name of its own: the last one may still be going away), with a probe
    waiting on each container from the start; then delete it."""
    web, db = m.subject.web, m.subject.db
    m.kube.apply(shape.renamed(m.docs, name))
    m.kube.act("applied a fresh pod")
    web_probe = m.kube.probe_start(
        name, web, [("proc", {}), ("first_answer", {"url": f"http://127.0.0.1:{m.subject.port}/ping"})]
    )
    db_probe = m.kube.probe_start(name, db, [("proc", {}), ("pg_accepting", {"port": PG_PORT})])
    _, why = m.kube.settled(name)
    if why:
        raise SetupError(f"pod {name} never became ready: {why}")
    seen_web, seen_db = web_probe.result(PROBE_S), db_probe.result(PROBE_S)
    accepting = db_accepting(m, name, db, seen_db["pg_accepting"])
    m.kube.delete_pod(name, wait=False)
    clock = seen_web["proc"]["boot_wall"], seen_web["proc"]["clk_tck"]  # one kernel, one clock
    web_started, db_started = (clock[0] + p["proc"]["start_ticks"] / clock[1] for p in (seen_web, seen_db))
    answered = seen_web["first_answer"]
    run = StartupRun(round(web_started, 3), round(db_started, 3), accepting, answered["answered_at"])
    return run, {
        "web_lead_ms": (seen_db["proc"]["start_ticks"] - seen_web["proc"]["start_ticks"]) * 1000 // clock[1],
        "web_running_before_db_accepting": web_started < accepting,
        "web_answered_after_ms": round((answered["answered_at"] - web_started) * 1000)
        if answered["answered_at"]
        else None,
        "answered_at_first_probe": answered["attempts"] == 1,
    }


def db_accepting(m: Measurement, pod: str, db: str, seen: dict[str, Any]) -> float:
    """When PostgreSQL logged that it accepts connections (the server that accepts TCP, not the
    entry point's temporary one), once the probe beside it saw it accept them over TCP."""
    if seen.get("accepting_at") is None:
        raise SetupError(f"PostgreSQL in pod {pod} never accepted connections (last answer {seen})")
    lines = poll_until(
        f"PostgreSQL's '{DB_READY}' line",
        lambda: [at for at, text in pods.log_lines(m.kube.logs(pod, db)) if DB_READY in text],
        timeout=30,
    )
    return round(lines[-1].timestamp(), 3)


def spec_order(m: Measurement) -> list[dict[str, Any]]:
    spec = pods.pod_doc(m.subject.docs)["spec"]
    return [*(spec.get("initContainers") or []), *spec["containers"]]


def spread(values: list[int]) -> dict[str, float] | None:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else None
