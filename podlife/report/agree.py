"""Every picture tells the same story as its evidence: its totals are the evidence's totals.

A report that draws "136 of 263 requests failed" beside evidence that says 83 of 210 loses the
reader's trust in both.  So every result's picture is compared with the evidence it illustrates,
value by value, for every kind of picture; a disagreement fails the run.

``python -m podlife.report reports/claims.json [...]`` checks saved reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from podlife.claims import Result
from podlife.pictures import LadderTable, Picture, RequestSeries, StartupTimeline, StepsTable, StopTimeline


class Disagreement(AssertionError):
    """A picture whose totals differ from its evidence's."""


def requests(series: RequestSeries, evidence: dict[str, Any]) -> list[str]:
    out = []
    drawn = series.counted()
    counted = (evidence.get("requests"), evidence.get("failed"))
    if drawn != counted:
        out.append(
            f"the chart counts {drawn[1]} of {drawn[0]} failed, the evidence {counted[1]} of {counted[0]}"
        )
    base = evidence.get("baseline") or {"requests": 0, "failed": 0}
    if series.baseline() != (base.get("requests"), base.get("failed")):
        out.append(f"the chart's baseline is {series.baseline()}, the evidence's {base}")
    return out


def startup(timeline: StartupTimeline, evidence: dict[str, Any]) -> list[str]:
    runs = evidence.get("runs")
    return (
        []
        if len(timeline.runs) == runs
        else [f"the chart has {len(timeline.runs)} runs, the evidence {runs}"]
    )


def ladder(table: LadderTable, evidence: dict[str, Any]) -> list[str]:
    return (
        []
        if table.rows == evidence.get("ladder")
        else [f"the table {table.rows} is not the evidence's {evidence.get('ladder')}"]
    )


def steps(table: StepsTable, evidence: dict[str, Any]) -> list[str]:
    drawn = [asdict(s) for s in table.steps]
    return (
        []
        if drawn == evidence.get("steps")
        else [f"the table's steps {drawn} are not the evidence's {evidence.get('steps')}"]
    )


def stops(timeline: StopTimeline, evidence: dict[str, Any]) -> list[str]:
    """Each container's end as the evidence's ``ends`` states it, and each mark as its own key."""
    ends = evidence.get("ends") or {}
    out = [
        f"{e.container} drawn ending at {e.ended_s} s ({e.exit_code}); evidence: {ends.get(e.container)}"
        for e in timeline.ends
        if (ends.get(e.container) or {}).get("seconds") != e.ended_s
        or (ends.get(e.container) or {}).get("exit_code") != e.exit_code
    ]
    out += [
        f"{k} drawn at {v} s, the evidence says {evidence.get(k)}"
        for k, v in timeline.marks.items()
        if evidence.get(k) != v
    ]
    if evidence.get("grace_s") != timeline.grace_s:
        out.append(f"grace period drawn at {timeline.grace_s} s, the evidence says {evidence.get('grace_s')}")
    return out


AGREE: dict[type, Callable[[Any, dict[str, Any]], list[str]]] = {
    StopTimeline: stops,
    RequestSeries: requests,
    StartupTimeline: startup,
    LadderTable: ladder,
    StepsTable: steps,
}


def disagreements(picture: Picture, evidence: dict[str, Any]) -> list[str]:
    return AGREE[type(picture)](picture, evidence)


def check(results: list[Result]) -> None:
    """Raise :class:`Disagreement` naming every result whose picture disagrees with its evidence."""
    found = [
        f"{r.test or r.id}: {problem}"
        for r in results
        if r.picture is not None
        for problem in disagreements(r.picture, r.evidence)
    ]
    if found:
        raise Disagreement("pictures that disagree with their evidence:\n  " + "\n  ".join(found))
