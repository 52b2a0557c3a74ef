"""Pictures: evidence with a shape.

Where a report draws a picture, the measurement hands it a typed value (:class:`StartupTimeline`,
:class:`RequestSeries`, :class:`LadderTable`, :class:`StepsTable`, :class:`StopTimeline`): the
report draws by type, so a renamed field fails loudly.  A picture shows the evidence's own values,
and the reports check that they agree (:mod:`podlife.report.agree`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class StartupRun:
    """One fresh pod: when each container's process started, when PostgreSQL accepted
    connections, and when the web app first answered (seconds on the node's wall clock)."""

    web_started: float
    db_started: float
    db_accepting: float
    web_answered: float | None


@dataclass(frozen=True)
class StartupTimeline:
    runs: list[StartupRun]


@dataclass(frozen=True)
class RequestSeries:
    """Requests per ``bin_s``, answered and failed, and named moments (seconds since the loop
    began).  The requests before the first answered one (the loop's own start) are the baseline,
    binned apart (``baseline_ok``/``baseline_failed``), drawn as such and never in the totals:
    ``ok``/``failed`` are exactly what the evidence counts."""

    bin_s: float
    ok: list[int]
    failed: list[int]
    marks: dict[str, float]
    baseline_ok: list[int] = field(default_factory=list)
    baseline_failed: list[int] = field(default_factory=list)
    counted_from: float = 0.0  # seconds: the first answered request

    def counted(self) -> tuple[int, int]:
        """(requests, failed) the evidence counts."""
        return sum(self.ok) + sum(self.failed), sum(self.failed)

    def baseline(self) -> tuple[int, int]:
        """(requests, failed) before the first answered request."""
        return sum(self.baseline_ok) + sum(self.baseline_failed), sum(self.baseline_failed)


@dataclass(frozen=True)
class LadderTable:
    """Where the data lives (rows) by what happened (columns) -> the outcome measured."""

    rows: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Step:
    step: str
    lines: int
    intact: bool
    seconds: float


@dataclass(frozen=True)
class StepsTable:
    steps: list[Step]


@dataclass(frozen=True)
class ContainerEnd:
    container: str
    ended_s: float | None  # seconds from the pod's deletion to the container's end
    exit_code: int | None


@dataclass(frozen=True)
class StopTimeline:
    """A pod's deletion: each container's end, its grace period, and named moments (seconds after
    the deletion) that its evidence states under the same names."""

    grace_s: float
    ends: list[ContainerEnd]
    marks: dict[str, float]


Picture = StartupTimeline | RequestSeries | LadderTable | StepsTable | StopTimeline
PICTURES: dict[str, type] = {
    t.__name__: t for t in (StartupTimeline, RequestSeries, LadderTable, StepsTable, StopTimeline)
}
NESTED = {
    ("StartupTimeline", "runs"): StartupRun,
    ("StepsTable", "steps"): Step,
    ("StopTimeline", "ends"): ContainerEnd,
}


def to_dict(picture: Picture | None) -> dict[str, Any] | None:
    return {"kind": type(picture).__name__, "data": asdict(picture)} if picture is not None else None


def from_dict(saved: dict[str, Any] | None) -> Picture | None:
    """The typed picture back from its JSON; a field that does not fit raises TypeError."""
    if not saved:
        return None
    kind = PICTURES[saved["kind"]]
    data = dict(saved["data"])
    for f in fields(kind):
        inner = NESTED.get((kind.__name__, f.name))
        if inner:
            data[f.name] = [inner(**item) for item in data[f.name]]
    return kind(**data)
