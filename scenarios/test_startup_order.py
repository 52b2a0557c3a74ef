"""The chapter's "Starting up order" and its learning: "Boot up order of containers in the
pod is not deterministic. Boot up of containers happens in parallel."

Over N fresh pods: when each container's process started, when PostgreSQL first accepted
connections, and the web app's own wait record (attempts, first attempt, database
answered).  Times come from the API, the kubelet's log timestamps and the app's log line.
"""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from podlife import pods, webapp
from podlife.claims import CLAIMS, Result, Stopwatch, Verdict, expect_refuted, require
from podlife.execs import run_in
from podlife.scenario import Scenario

FIXED = Path(__file__).resolve().parent.parent / "manifests" / "webpod-ordered.yml"
DB_READY = "database system is ready to accept connections"
FRACTION = re.compile(r"\.(\d+)")


def stamp(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (kubelet) or milliseconds (the app), as UTC."""
    match = FRACTION.search(text)
    if match:  # Python takes at most microseconds
        text = text[: match.start()] + "." + match.group(1)[:6].ljust(6, "0") + text[match.end() :]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def log_lines(log: str) -> list[tuple[datetime, str]]:
    out = []
    for line in log.splitlines():
        at, _, text = line.partition(" ")
        if at:
            out.append((stamp(at), text))
    return out


def wait_record(web_log: str) -> dict[str, Any]:
    for _, text in log_lines(web_log):
        if '"db_wait_done"' in text:
            return json.loads(text)
    raise AssertionError("the web container logged no db_wait_done record")


USER_HZ = 100  # /proc reports process start times in USER_HZ ticks, 100 on Linux


def process_start_ticks(scn: Scenario, pod: str, container: str) -> int:
    """When the container's main process started, in ticks since boot (10 ms resolution).

    The API's startedAt has whole seconds only; every container of a node shares one
    kernel, so these ticks order the containers' processes precisely."""
    ran = run_in(scn.cluster.api, scn.namespace, pod, container, ["cat", "/proc/1/stat"])
    if ran.code != 0:
        raise AssertionError(f"cannot read the {container} container's process start: {ran.err}")
    return int(ran.out.rsplit(")", 1)[1].split()[19])  # field 22, starttime


def one_run(scn: Scenario, docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    pod, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"run pod never became ready: {broken}")
    with scn.endpoint(name, 8080) as ep:
        webapp.read_when_answering(ep)  # the app logs its wait record before it opens its port
    record = wait_record(scn.logs(name, "web"))
    db_lines = log_lines(scn.logs(name, "db"))
    ready_at = [at for at, text in db_lines if DB_READY in text]
    if not ready_at:
        raise AssertionError("PostgreSQL logged no 'ready to accept connections' line")
    web_start, db_ready = stamp(record["first_attempt"]), ready_at[-1]
    ticks = {c: process_start_ticks(scn, name, c) for c in ("web", "db")}
    status = pods.statuses(pod)
    scn.delete_pod(name)
    scn.gone(name)
    return {
        "web_started_at": pods.started_at(status["web"]),
        "db_started_at": pods.started_at(status["db"]),
        "web_first_attempt": record["first_attempt"],
        "db_first_log": db_lines[0][0].isoformat(),
        "db_accepting": db_ready.isoformat(),
        "web_attempts": record["attempts"],
        "web_waited_ms": round((stamp(record["db_answered"]) - web_start).total_seconds() * 1000),
        # how much earlier the web's process started than PostgreSQL's (negative: later)
        "web_lead_ms": (ticks["db"] - ticks["web"]) * 1000 // USER_HZ,
        "web_running_before_db_accepting": web_start < db_ready,
    }


def startup_order(scn: Scenario, manifest: Path, runs: int) -> Result:
    clock = Stopwatch()
    docs = scn.load(manifest)
    name = pods.pod_doc(docs)["metadata"]["name"]
    measured = [one_run(scn, docs, name) for _ in range(runs)]
    early = sum(r["web_running_before_db_accepting"] for r in measured)
    leads = [r["web_lead_ms"] for r in measured]
    order = {"web": sum(x > 0 for x in leads), "db": sum(x < 0 for x in leads), "same tick": leads.count(0)}
    waits = [r["web_waited_ms"] for r in measured]
    evidence = {
        "runs": runs,
        "web_running_before_db_accepting": early,
        "started_first": order,
        "web_lead_ms": {"min": min(leads), "median": statistics.median(leads), "max": max(leads)},
        "web_waited_ms": {"min": min(waits), "median": statistics.median(waits), "max": max(waits)},
        "web_attempts": sorted(r["web_attempts"] for r in measured),
        "per_run": measured,
    }
    one_order = next((who for who in ("web", "db") if order[who] == runs), None)
    if early == 0:
        verdict = Verdict.REFUTED
        statement = (
            f"in all {runs} runs the database accepted connections before the web container "
            "started: start-up was ordered"
        )
    elif one_order:
        verdict = Verdict.REFINED
        statement = (
            f"Start-up is not parallel: the kubelet starts a pod's containers one after another in spec "
            f"order ({one_order} started first in {runs}/{runs} runs, {abs(statistics.median(leads)):.0f} ms "
            f"ahead on median). What is not deterministic is readiness: the web container was running "
            f"before PostgreSQL accepted connections in {early}/{runs} runs and waited up to {max(waits)} ms."
        )
    else:
        verdict = Verdict.CONFIRMED
        statement = (
            f"start order varied ({order}); the web ran before the database accepted connections "
            f"in {early}/{runs} runs"
        )
    return Result(CLAIMS["startup-order"], verdict, evidence, statement, clock.elapsed(), str(manifest))


@pytest.mark.claim("startup-order")
def test_startup_order(scn: Scenario, manifest: Path, runs: int) -> None:
    require(scn.record(startup_order(scn, manifest, runs)))


@pytest.mark.claim("startup-order")
def test_startup_order_counter_example(scn: Scenario, runs: int) -> None:
    """PostgreSQL as a native sidecar with a startup probe: the web starts only after it."""
    result = scn.record(startup_order(scn, FIXED, min(runs, 3)), counter=True)
    expect_refuted(result)
