"""Claims, counter-examples, verdicts and evidence: what a scenario declares and returns.

A claim is declared once, in its scenario module: its id, the chapter's sentence and
section, the manifest it measures, its counter-examples and what it needs of the cluster;
its measurement is the function decorated with ``@CLAIM.measure``.  The pytest plugin turns
every declared claim into its tests (the claim, and one test per counter-example), and
the framework (:mod:`podlife.measure`) turns a measurement into a :class:`Result`.

Evidence is numbers and ids; a picture is typed (:mod:`podlife.pictures`).  A :class:`Result`
stays typed up to the reports; it becomes JSON only to cross from a pytest-xdist worker
(:meth:`Result.to_json`, :meth:`Result.from_json`) and in ``claims.json``.

The run finds the claims a scenario file declares (:func:`podlife.run.registry.declared`);
:func:`pairs` is the problem-beside-fix rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from podlife import pictures
from podlife.pictures import Picture

PLAIN_SIGHT = "Hiding in plain sight"
LIFE_CYCLE = "Life Cycle"
ARCHITECTURE = "Architectural thoughts"
LEARNINGS = "Learnings"
FIXES = "Conclusion: the fixes"
BEYOND = "Beyond the chapter"
NEWER = "Newer Kubernetes"  # what later releases added, measured where it exists, not applicable elsewhere
TIMING = "Timing against published numbers"  # distributions beside what Kubernetes publishes
SECTIONS = (PLAIN_SIGHT, LIFE_CYCLE, ARCHITECTURE, LEARNINGS, FIXES, BEYOND, NEWER, TIMING)


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    REFINED = "refined"
    REFUTED = "refuted"
    NOT_APPLICABLE = (
        "not applicable"  # the feature is not there (version, gate, runtime): a verdict of its own
    )


class NotApplicable(Exception):
    """Raised where the claim's feature is not there (the Kubernetes version, a feature gate off, the
    runtime): the verdict is ``not applicable`` with this reason, never refuted, never confirmed."""


class Nodes(StrEnum):
    """Where a scenario's pods may go: ``ONE`` worker of its own choosing, or ``ALL`` of them."""

    ONE = "one"
    ALL = "all"


class Kind(StrEnum):
    """How the scheduler sees a scenario (:attr:`Needs.kind`)."""

    STOPPER = "stopper"
    SPREADER = "spreader"
    OTHER = "other"
    ALONE = "alone"  # the cluster to itself: run last, once nothing else is left to start


@dataclass(frozen=True)
class Needs:
    """What a scenario holds of the one cluster while it runs, so that scenarios that would
    disturb each other never overlap (see :mod:`podlife.run.resources`).

    - ``nodes``: ``Nodes.ONE`` puts every pod of the scenario on one worker of its own choosing
      (it shares that worker with other scenarios); ``Nodes.ALL`` lets its pods go to any worker
      (spreading, moving a pod elsewhere).
    - ``stops_node``: it stops the worker its pod runs on: nothing else may run there meanwhile.
    - ``cpu``: it measures the workers' free CPU and requests most of it.
    - ``alone``: it holds every worker exclusively (a timing held against a published figure, which
      the run's other scenarios would otherwise load); it is started last, once nothing else is left
      to start (started earlier, it would hold every other scenario back while it waits).
    - ``host_ports``: its pods keep the host ports their manifest binds (one such pod per
      worker at a time), for a claim about the pod exactly as applied; by default podlife
      removes them: no claim's measurement goes through them (HTTP goes through a
      port-forward), and a kept ``hostPort: 8080`` lets one pod per worker run at a time.
    """

    nodes: Nodes = Nodes.ONE
    stops_node: bool = False
    cpu: bool = False
    host_ports: bool = False
    alone: bool = False

    @property
    def kind(self) -> Kind:
        """How the scheduler sees it: a worker ``stopper``, a ``spreader`` over every worker, ``alone``
        (the cluster to itself), or ``other`` (its pods on one worker it shares)."""
        if self.alone:
            return Kind.ALONE
        if self.stops_node:
            return Kind.STOPPER
        return Kind.SPREADER if self.nodes == Nodes.ALL else Kind.OTHER

    def placement(self, worker: str | None) -> Placement:
        """Where its pods go, given the worker its share of the cluster holds: pinned there
        (``nodes="one"``), or preferring it (``"all"``: a worker it may stop)."""
        return Placement(
            pin=worker if self.nodes == Nodes.ONE else None,
            prefer=worker if self.nodes == Nodes.ALL else None,
            host_ports=self.host_ports,
        )


STOPPER, SPREADER, OTHER, ALONE = Kind.STOPPER, Kind.SPREADER, Kind.OTHER, Kind.ALONE


@dataclass(frozen=True)
class Placement:
    """Where a scenario's pods go (:meth:`Needs.placement`); ``podlife.kube.pod.shape.placed`` applies it."""

    pin: str | None = None
    prefer: str | None = None
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
    since: tuple[int, int] = (1, 0)  # the Kubernetes version its feature needs (on by default there)
    gate: str = ""  # the feature gate it needs; off, or absent from the version: not applicable
    kep: str = ""  # where what changed between versions is explained (a KEP, a changelog entry)
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
    picture: Picture | None = None
    timeline: str = ""  # the merged timeline, when a named check failed
    test: str = ""
    order: int = 0  # its place in the run's collection
    kep: str = ""  # the claim's explanation of a difference between versions (Claim.kep)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "picture": pictures.to_dict(self.picture)}

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Result:
        return cls(
            **{**saved, "verdict": Verdict(saved["verdict"]), "picture": pictures.from_dict(saved["picture"])}
        )

    def located(self, root: Path) -> Result:
        """The same result, its manifest named relative to ``root`` where it lies below it (a
        report names no absolute path of the machine it ran on)."""
        path = Path(self.manifest)
        if path.is_absolute() and path.is_relative_to(root):
            return replace(self, manifest=str(path.relative_to(root)))
        return self


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
    """A counter-example's check: the claim is refuted there (else the claim could not fail); where
    its feature is not there the counter-example is not applicable either."""
    if result.verdict not in (Verdict.REFUTED, Verdict.NOT_APPLICABLE):
        raise AssertionError(
            f"counter-example {result.manifest} did not refute {result.id}: {result.verdict} "
            f"— {result.statement}\nevidence: {result.evidence}"
        )


def pairs(results: Iterable[Result]) -> list[tuple[str, str]]:
    """(problem id, fix id) for every fix among the results, as the fix declares it."""
    return sorted({(r.fixes, r.id) for r in results if r.fixes and not r.counter_example})
