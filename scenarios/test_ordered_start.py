"""The fix for "Boot up order of containers in the pod is not deterministic": the chapter's
"There are ways to guarantee startup order, one example is init-containers".

PostgreSQL as a native sidecar (an init container with ``restartPolicy: Always``) whose
startup probe passes only once it accepts connections: over N fresh pods, the web app's own
wait record shows one connection attempt, never a failed one.  Measured with the same runs
as ``startup-order`` (:func:`scenarios.test_startup_order.one_run`), so the two sit side by
side in the report on the same numbers.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from podlife import pods
from podlife.claims import CLAIMS, Result, Stopwatch, Verdict, expect_refuted, require
from podlife.scenario import Scenario
from scenarios.test_startup_order import FIXED, one_run, stamp

COUNTER = Path(__file__).parent / "counter" / "sidecar-without-startup-probe.yml"


def ordered_start(scn: Scenario, manifest: Path, runs: int) -> Result:
    """Confirmed when, in every run, the web's first attempt to connect succeeded and came
    after PostgreSQL logged that it accepts connections."""
    clock = Stopwatch()
    docs = scn.load(manifest)
    name = pods.pod_doc(docs)["metadata"]["name"]
    measured = [one_run(scn, docs, name) for _ in range(runs)]
    retried = [i + 1 for i, r in enumerate(measured) if r["web_attempts"] != 1]
    early = [i + 1 for i, r in enumerate(measured) if r["web_running_before_db_accepting"]]
    # how long after PostgreSQL accepted connections the web app first tried (negative: before)
    after_ms = [
        round((stamp(r["web_first_attempt"]) - stamp(r["db_accepting"])).total_seconds() * 1000)
        for r in measured
    ]
    evidence = {
        "runs": runs,
        "web_attempts": [r["web_attempts"] for r in measured],
        "runs_with_failed_attempts": retried,
        "runs_web_before_db_accepting": early,
        "web_first_attempt_after_db_accepting_ms": {
            "min": min(after_ms),
            "median": statistics.median(after_ms),
            "max": max(after_ms),
        },
        "per_run": measured,
    }
    if retried or early:
        verdict = Verdict.REFUTED
        statement = (
            f"the web app needed more than one attempt in run(s) {retried or 'none'} and tried before "
            f"PostgreSQL accepted connections in run(s) {early or 'none'} of {runs}"
        )
    else:
        verdict = Verdict.CONFIRMED
        statement = (
            f"in all {runs} runs the web app connected at its first attempt, "
            f"{min(after_ms)}-{max(after_ms)} ms after PostgreSQL accepted connections"
        )
    return Result(CLAIMS["ordered-start"], verdict, evidence, statement, clock.elapsed(), str(manifest))


@pytest.mark.claim("ordered-start")
def test_ordered_start(scn: Scenario, runs: int) -> None:
    require(scn.record(ordered_start(scn, FIXED, runs)))


@pytest.mark.claim("ordered-start")
def test_ordered_start_counter_example(scn: Scenario, runs: int) -> None:
    """The same sidecar without its startup probe: the web starts while PostgreSQL initialises."""
    result = scn.record(ordered_start(scn, COUNTER, min(runs, 3)), counter=True)
    expect_refuted(result)
