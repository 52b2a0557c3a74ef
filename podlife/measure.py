"""The frame every claim runs in, so that a claim writes only its measurement.

A measurement is a function of one :class:`Measurement`: it applies the subject and acts on
Kubernetes through ``m.kube`` (:class:`podlife.kube.namespace.Namespace`: apply, wait, watch,
probes, HTTP), looks with the helpers of :mod:`podlife.kube`, and records what it saw with
``check``/``expect`` (the claim's conditions), ``evidence`` (numbers and ids), ``refine``/
``state`` (the statement the data supports) and ``draw`` (a picture's typed data).
:func:`measure` owns the rest: timing, the verdict (refuted when a check failed, refined when
the measurement refined it, else confirmed), and the merged timeline when a check failed.
Anything raised instead (:class:`~podlife.errors.SetupError`, a wait that timed out or became
impossible) ends the scenario with no verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podlife.claims import Claim, Counter, NotApplicable, Placement, Result, Verdict
from podlife.kube import Check, Subject, next_tag, shape
from podlife.kube.namespace import Namespace
from podlife.pictures import Picture


@dataclass(frozen=True)
class Options:
    chapter: Path  # the chapter's pod (--pod-manifest)
    runs: int  # fresh pods for the start-up claims
    allow_privileged: bool = False  # --allow-privileged-subject: the chapter's pod may be privileged


class Measurement:
    """What a claim's measurement gets: its subject, ``kube`` (the scenario's namespace and
    everything done in it), and what it concludes."""

    kube: Namespace  # apply, wait, watch, probes, HTTP: everything done on Kubernetes
    subject: Subject  # the manifest measured (the chapter's pod, the claim's, or a counter-example's)
    claim: Claim
    counter: Counter | None  # the counter-example this test measures, if it is one
    placement: Placement  # where its pods go (the worker it holds)

    def __init__(
        self, kube: Namespace, claim: Claim, counter: Counter | None, options: Options, placement: Placement
    ) -> None:
        self.kube, self.claim, self.counter, self.options = kube, claim, counter, options
        self.placement = placement
        self.subject = self.subject_of(claim, counter, options)
        self.failures: list[str] = []
        self.facts: dict[str, Any] = {}
        self.statement = ""
        self.refined = False
        self.picture: Picture | None = None

    # --- the subject ---
    @staticmethod
    def subject_of(claim: Claim, counter: Counter | None, options: Options) -> Subject:
        """What a claim's test measures: the counter-example's manifest, the claim's own, or the
        chapter's pod."""
        own = counter.manifest if counter else claim.subject  # podlife's own manifests: never privileged
        if own is not None:
            return Subject.load(own)
        return Subject.load(options.chapter, allow_privileged=options.allow_privileged)

    @property
    def docs(self) -> list[dict[str, Any]]:
        """The subject's documents, images mapped to what the cluster holds (a fresh copy), and
        placed as the claim's needs say (see ``placed``)."""
        return self.placed(self.subject.loaded(self.kube.cluster.image_map))

    def placed(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Any documents the scenario applies, placed as the claim's needs say
        (:meth:`podlife.claims.Needs.placement`): without host ports where the claim does not
        keep them, pinned to the scenario's worker, or preferring the worker it may stop."""
        p = self.placement
        return shape.placed(docs, pin=p.pin, prefer=p.prefer, host_ports=p.host_ports)

    @property
    def runs(self) -> int:
        return self.options.runs

    def chapter(self) -> Subject:
        return Subject.load(self.options.chapter, allow_privileged=self.options.allow_privileged)

    def next_image(self, image: str) -> str:
        """The next version of ``image``: the same image under podlife's next tag; a set-up error
        at once where some worker cannot get it (a cluster podlife loads nothing into)."""
        image = next_tag(image)
        self.kube.cluster.can_get([image], "the update's next version")
        return image

    # --- what it concludes ---
    def check(self, ok: bool, failure: str) -> bool:
        """A condition of the claim; ``failure`` says what was seen when it does not hold."""
        if not ok:
            self.failures.append(failure)
        return ok

    def expect(self, check: Check) -> bool:
        """A named timeline check as a condition of the claim (its failure prints the timeline)."""
        self.facts.setdefault("checks", {})[check.name] = check.detail
        return self.check(check.ok, str(check))

    def evidence(self, **facts: Any) -> None:
        self.facts.update(facts)

    def not_there(self, reason: str) -> None:
        """The feature is not there (the API server dropped its field, the runtime ignores it): the
        verdict is ``not applicable``, with ``reason``, measured in this run."""
        raise NotApplicable(reason)

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
    try:
        if claim.since > (1, 0) or claim.gate:
            applies(claim, getattr(m.kube.cluster, "where", None) or {}, m.kube.server_version())
        claim.measurement(m)
    except NotApplicable as exc:
        return not_applicable(m, str(exc), started)
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
        kep=claim.kep,
        counter_example=m.counter is not None,
        picture=m.picture,
        timeline=m.kube.timeline() if m.failures else "",
    ).located(Path.cwd())  # its messages (junit.xml, the terminal) name no absolute path either


def applies(claim: Claim, where: dict[str, Any], version: tuple[int, int]) -> None:
    """Raise :class:`NotApplicable` where the claim's feature is not there: a Kubernetes older than
    it needs, or its feature gate off or absent (as the API server reports its gates)."""
    at = f"Kubernetes {where.get('kubernetes') or '.'.join(map(str, version))}"
    if claim.since > (1, 0) and version < claim.since:
        raise NotApplicable(f"{at}: the feature needs {'.'.join(map(str, claim.since))} or later")
    gates = where.get("gates")
    if claim.gate and gates is not None:
        if claim.gate not in gates:
            raise NotApplicable(f"{at} has no feature gate {claim.gate}")
        if not gates[claim.gate]:
            stage = (where.get("stages") or {}).get(claim.gate) or "GA"
            raise NotApplicable(f"{at}: feature gate {claim.gate} ({stage.lower()}) is off")


def not_applicable(m: Measurement, reason: str, started: float) -> Result:
    """The verdict where the feature is not there: the reason, and where it was measured."""
    where = getattr(m.kube.cluster, "where", None) or {}
    return Result(
        id=m.claim.id,
        section=m.claim.section,
        sentence=m.claim.sentence,
        verdict=Verdict.NOT_APPLICABLE,
        evidence={
            **m.facts,
            "reason": reason,
            "kubernetes": where.get("kubernetes"),
            "gate": m.claim.gate or None,
        },
        statement=reason,
        duration_s=round(time.monotonic() - started, 3),
        manifest=str(m.subject.path),
        fixes=m.claim.fixes,
        kep=m.claim.kep,
        counter_example=m.counter is not None,
    ).located(Path.cwd())
