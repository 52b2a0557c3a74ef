"""The frame every claim runs in, so that a claim writes only its measurement.

A measurement is a function of one :class:`Measurement`: it applies the subject, acts, looks,
and records what it saw with ``check``/``expect`` (the claim's conditions), ``evidence``
(numbers and ids), ``refine``/``state`` (the statement the data supports) and ``draw`` (a
picture's typed data).  :func:`measure` owns the rest: timing, the verdict (refuted when a
check failed, refined when the measurement refined it, else confirmed), and the merged
timeline when a check failed.  Anything raised instead (:class:`~podlife.errors.SetupError`,
a wait that timed out or became impossible) ends the scenario with no verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podlife import claims, execs, shape
from podlife.claims import Claim, Counter, Needs, Picture, Result, Verdict
from podlife.scenario import Cluster, Scenario
from podlife.subject import Subject, next_tag
from podlife.timeline import Check
from podlife.wait import poll_until


@dataclass(frozen=True)
class Options:
    chapter: Path  # the chapter's pod (--pod-manifest)
    runs: int  # fresh pods for the start-up claims


class Measurement(Scenario):
    """A scenario plus what its measurement concludes."""

    def __init__(
        self,
        cluster: Cluster,
        claim: Claim,
        counter: Counter | None,
        options: Options,
        needs: Needs | None = None,
    ) -> None:
        super().__init__(cluster, claim.id + ("-counter" if counter else ""))
        self.claim, self.counter, self.options = claim, counter, options
        self.needs = needs or claim.needs
        self.subject = Subject.load(counter.manifest if counter else claim.subject or options.chapter)
        self.failures: list[str] = []
        self.failed_checks = False
        self.facts: dict[str, Any] = {}
        self.statement = ""
        self.refined = False
        self.picture: Picture | None = None

    # --- the subject ---
    @property
    def docs(self) -> list[dict[str, Any]]:
        """The subject's documents, images mapped to what the cluster holds (a fresh copy), and
        shaped as the claim's needs say (:class:`podlife.claims.Needs`): without host ports where
        the claim does not keep them, pinned to the scenario's worker when it holds one."""
        return self.placed(self.subject.loaded(self.cluster.image_map))

    def placed(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Any documents the scenario applies, shaped as the claim's needs say (see ``docs``)."""
        if not self.needs.host_ports:
            docs = shape.without_host_ports(docs)
        if self.node:
            return shape.pinned(docs, self.node)
        return shape.preferring(docs, self.prefer) if self.prefer else docs

    @property
    def runs(self) -> int:
        return self.options.runs

    def chapter(self) -> Subject:
        return Subject.load(self.options.chapter)

    @staticmethod
    def next_image(image: str) -> str:
        """The next version of ``image``: the same image under podlife's next tag."""
        return next_tag(image)

    def await_postgres(self, pod: str, timeout: float = 120) -> None:
        """PostgreSQL in ``pod`` accepts TCP connections: ``pg_isready``, the database image's
        own tool (an entry point's temporary server listens on no TCP port)."""
        argv = ["pg_isready", "--host=127.0.0.1"]
        poll_until(
            f"PostgreSQL in pod {pod} to accept connections",
            lambda: execs.run_in(self.cluster.api, self.namespace, pod, self.subject.db, argv).code == 0,
            timeout=timeout,
        )

    # --- what it concludes ---
    def check(self, ok: bool, failure: str) -> bool:
        """A condition of the claim; ``failure`` says what was seen when it does not hold."""
        if not ok:
            self.failures.append(failure)
        return ok

    def expect(self, check: Check) -> bool:
        """A named timeline check as a condition of the claim (its failure prints the timeline)."""
        self.facts.setdefault("checks", {})[check.name] = check.detail
        if not check.ok:
            self.failed_checks = True
        return self.check(check.ok, str(check))

    def evidence(self, **facts: Any) -> None:
        self.facts.update(facts)

    def refine(self, statement: str) -> None:
        """True, but the data supports this more precise statement."""
        self.refined, self.statement = True, statement

    def state(self, statement: str) -> None:
        """What the data supports, said for a confirmed claim too (a summary)."""
        self.statement = statement

    def draw(self, picture: Picture) -> None:
        self.picture = picture


def measure(m: Measurement) -> Result:
    """Run the claim's measurement; its verdict and evidence as one Result."""
    claim = m.claim
    if claim.measurement is None:
        raise TypeError(f"claim {claim.id} declares no measurement (@{claim.id}.measure)")
    started = time.monotonic()
    claim.measurement(m)
    verdict = Verdict.REFUTED if m.failures else Verdict.REFINED if m.refined else Verdict.CONFIRMED
    return Result(
        id=claim.id,
        section=claim.section,
        sentence=claim.sentence,
        verdict=verdict,
        evidence=m.facts,
        statement="; ".join(m.failures) if m.failures else m.statement,
        duration_s=round(time.monotonic() - started, 3),
        manifest=str(m.subject.path),
        fixes=claim.fixes,
        counter_example=m.counter is not None,
        picture=claims.picture_dict(m.picture),
        timeline=m.timeline() if m.failures else "",
    )
