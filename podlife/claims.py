"""Claims, counter-examples, verdicts and evidence: what a scenario declares and returns.

A claim is declared once, in its scenario module: its id, the chapter's sentence and
section, the manifest it measures, its counter-examples and what it needs of the cluster;
its measurement is the function decorated with ``@CLAIM.measure``.  The pytest plugin turns
every declared claim into its tests (the claim, and one test per counter-example), and
the framework (:mod:`podlife.measure`) turns a measurement into a :class:`Result`.

Evidence is numbers and ids.  Where the report draws a picture, the measurement hands it
a typed value (:class:`StartupTimeline`, :class:`RequestSeries`, :class:`LadderTable`,
:class:`StepsTable`): the report draws by type, so a renamed field fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

PLAIN_SIGHT = "Hiding in plain sight"
LIFE_CYCLE = "Life Cycle"
ARCHITECTURE = "Architectural thoughts"
LEARNINGS = "Learnings"
FIXES = "Conclusion: the fixes"
SECTIONS = (PLAIN_SIGHT, LIFE_CYCLE, ARCHITECTURE, LEARNINGS, FIXES)


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    REFINED = "refined"
    REFUTED = "refuted"


@dataclass(frozen=True)
class Needs:
    """What a scenario holds of the one cluster while it runs, so that scenarios that would
    disturb each other never overlap (see :mod:`podlife.resources`).

    - ``nodes``: ``"one"`` puts every pod of the scenario on one worker of its own choosing
      (it shares that worker with other scenarios); ``"all"`` lets its pods go to any worker
      (spreading, moving a pod elsewhere).
    - ``stops_node``: it stops the worker its pod runs on: nothing else may run there meanwhile.
    - ``cpu``: it measures the workers' free CPU and requests most of it.
    - ``host_ports``: its pods keep the host ports their manifest binds (one such pod per
      worker at a time), for a claim about the pod exactly as applied; by default podlife
      removes them: no claim's measurement goes through them (HTTP goes through a
      port-forward), and a kept ``hostPort: 8080`` lets one pod per worker run at a time.
    """

    nodes: str = "one"
    stops_node: bool = False
    cpu: bool = False
    host_ports: bool = False


@dataclass(frozen=True)
class Counter:
    """A counter-example: a manifest in which the claim is false, and why."""

    manifest: Path
    why: str
    needs: Needs | None = None  # when it differs from the claim's

    @property
    def name(self) -> str:
        return self.manifest.stem


@dataclass
class Claim:
    """One sentence of the chapter, measured; declared once in its scenario module."""

    id: str
    section: str
    sentence: str
    counters: tuple[Counter, ...]
    subject: Path | None = None  # the manifest measured; None: the chapter's pod (--pod-manifest)
    fixes: str = ""  # for a fix: the id of the problem it is measured beside
    needs: Needs = field(default_factory=Needs)
    measurement: Callable[[Any], None] | None = None

    def measure(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """Decorator: the claim's measurement (it receives a :class:`podlife.measure.Measurement`)."""
        self.measurement = fn
        return fn

    def tests(self) -> list[tuple[str, Counter | None]]:
        """Its tests, by name: one for the claim (``test_<id>``), one per counter-example
        (``test_<id>_counter_example``, named after its manifest when there are several)."""
        base = "test_" + self.id.replace("-", "_")
        many = len(self.counters) > 1
        return [(base, None)] + [
            (f"{base}_counter_example" + (f"_{c.name.replace('-', '_')}" if many else ""), c)
            for c in self.counters
        ]

    def needs_of(self, counter: Counter | None) -> Needs:
        """What the claim's test (``counter`` None) or a counter-example's test holds."""
        return counter.needs if counter and counter.needs else self.needs


# ---------------------------------------------------------------- pictures: evidence with a shape
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
    """Requests per ``bin_s``, answered and failed, and named moments (seconds since the loop began)."""

    bin_s: float
    ok: list[int]
    failed: list[int]
    marks: dict[str, float]


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


Picture = StartupTimeline | RequestSeries | LadderTable | StepsTable
PICTURES: dict[str, type] = {t.__name__: t for t in (StartupTimeline, RequestSeries, LadderTable, StepsTable)}
NESTED = {("StartupTimeline", "runs"): StartupRun, ("StepsTable", "steps"): Step}


def picture_dict(picture: Picture | None) -> dict[str, Any] | None:
    return {"kind": type(picture).__name__, "data": asdict(picture)} if picture is not None else None


def picture_from(saved: dict[str, Any]) -> Picture:
    """The typed picture back from a report's JSON; a field that does not fit raises TypeError."""
    kind = PICTURES[saved["kind"]]
    data = dict(saved["data"])
    for f in fields(kind):
        inner = NESTED.get((kind.__name__, f.name))
        if inner:
            data[f.name] = [inner(**item) for item in data[f.name]]
    return kind(**data)


@dataclass
class Result:
    """What a scenario measured and concluded."""

    id: str
    section: str
    sentence: str
    verdict: Verdict
    evidence: dict[str, Any]
    statement: str = ""  # for refined/refuted: what the data does support
    duration_s: float = 0.0
    manifest: str = ""
    fixes: str = ""
    counter_example: bool = False
    picture: dict[str, Any] | None = None
    timeline: str = ""  # the merged timeline, when a named check failed
    test: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ClaimRefuted(AssertionError):
    """Raised by :func:`require` so that a refuted claim fails its test."""


def require(result: Result) -> Result:
    if result.verdict is Verdict.REFUTED:
        timeline = f"\n{result.timeline}" if result.timeline else ""
        raise ClaimRefuted(
            f"{result.id}: refuted — {result.statement}\nevidence: {result.evidence}{timeline}"
        )
    return result


def expect_refuted(result: Result) -> None:
    """A counter-example's check: the claim is refuted there (else the claim could not fail)."""
    if result.verdict is not Verdict.REFUTED:
        raise AssertionError(
            f"counter-example {result.manifest} did not refute {result.id}: {result.verdict} "
            f"— {result.statement}\nevidence: {result.evidence}"
        )
