"""Claims, verdicts and evidence: the one evidence format of podlife.

A claim is one sentence of the chapter with a stable id.  A scenario measures, then
returns a :class:`Result`: the verdict (confirmed / refined / refuted), the evidence as
numbers and ids, and for ``refined`` the precise statement the data supports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    REFINED = "refined"
    REFUTED = "refuted"


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    sentence: str
    fixes: str = ""  # for a fix: the id of the problem claim it is measured beside


PLAIN_SIGHT = "Hiding in plain sight"
LIFE_CYCLE = "Life Cycle"
ARCHITECTURE = "Architectural thoughts"
LEARNINGS = "Learnings"
FIXES = "Conclusion: the fixes"

# The chapter's claims, in the order the chapter makes them, then the fixes it points to.
CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim("shared-network", PLAIN_SIGHT, "containers in a pod share the network layer and port space"),
        Claim("shared-ipc", PLAIN_SIGHT, "IPC namespace (pipes and semaphores etc)"),
        Claim("ready-2-of-2", LIFE_CYCLE, "web2 2/2 Running"),
        Claim(
            "quit-restarts-web-only",
            LIFE_CYCLE,
            "So even though the container restarted, the data still persisted as the database container "
            "didn't die.",
        ),
        Claim("delete-loses-data", LIFE_CYCLE, "So we lost all the data!!!!"),
        Claim(
            "no-horizontal-scale",
            ARCHITECTURE,
            "Its impossible to horizontally scale this pod as the databases would be replicated as well.",
        ),
        Claim(
            "db-crash-loses-data",
            ARCHITECTURE,
            "When one container dies, it is restarted, although if the postgres container dies, it loses "
            "data.",
        ),
        Claim(
            "update-needs-downtime",
            ARCHITECTURE,
            "Updating the application container is going to be complicated and will definitely take a down "
            "time.",
        ),
        Claim(
            "unschedulable-together",
            ARCHITECTURE,
            "The lack of resources in one node will cause the pod to be un-schedule-able.",
        ),
        Claim("bare-pod-not-rescheduled", ARCHITECTURE, "There is a kinda-high-availability going on."),
        Claim(
            "kill-one-container",
            LEARNINGS,
            "Killing one container in a pod does not restart all others. The container that died is "
            "resurrected. This increments the Restarts of the pod though!",
        ),
        Claim(
            "startup-order",
            LEARNINGS,
            "Boot up order of containers in the pod is not deterministic. Boot up of containers happens in "
            "parallel.",
        ),
        Claim("same-node", LEARNINGS, "All containers in a pod are scheduled on the same node."),
        Claim(
            "ordered-start",
            FIXES,
            "There are ways to guarantee startup order, one example is init-containers",
            "startup-order",
        ),
        Claim(
            "storage-ladder",
            FIXES,
            "Shared volumes (we will learn about volumes later).",
            "delete-loses-data",
        ),
        Claim(
            "separated-survives",
            FIXES,
            "Keeping application pods separate from database pods is a good idea as these pods have "
            "different needs and scale differently.",
            "no-horizontal-scale",
        ),
        Claim(
            "rolling-update-no-downtime",
            FIXES,
            "Separating your state-less components (application servers) and state-ful components "
            "(databases, redis etc) will help you manage each better.",
            "update-needs-downtime",
        ),
    )
}


@dataclass
class Result:
    """What a scenario measured and concluded."""

    claim: Claim
    verdict: Verdict
    evidence: dict[str, Any]
    statement: str = ""  # for refined/refuted: what the data does support
    duration_s: float = 0.0
    manifest: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("claim")
        return {"id": self.claim.id, "section": self.claim.section, "sentence": self.claim.sentence, **out}


class ClaimRefuted(AssertionError):
    """Raised by :func:`require` so that a refuted claim fails its scenario."""


def require(result: Result) -> Result:
    if result.verdict is Verdict.REFUTED:
        raise ClaimRefuted(f"{result.claim.id}: refuted — {result.statement}\nevidence: {result.evidence}")
    return result


def judged(
    claim_id: str, failures: list[str], evidence: dict[str, Any], clock: Stopwatch, manifest: object
) -> Result:
    """The verdict of a claim that holds exactly when none of its checks failed."""
    return Result(
        CLAIMS[claim_id],
        Verdict.REFUTED if failures else Verdict.CONFIRMED,
        evidence,
        "; ".join(failures),
        clock.elapsed(),
        str(manifest),
    )


def expect_refuted(result: Result) -> None:
    """A counter-example's check: the claim is refuted, and a refuted claim fails its scenario."""
    import pytest

    assert result.verdict is Verdict.REFUTED, result
    with pytest.raises(ClaimRefuted):
        require(result)


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)
