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


# The chapter's claims, in the order the chapter makes them.
CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in (
        Claim("ready-2-of-2", "Life Cycle", "web2 2/2 Running"),
        Claim(
            "quit-restarts-web-only",
            "Life Cycle",
            "So even though the container restarted, the data still persisted as the database container "
            "didn't die.",
        ),
        Claim("delete-loses-data", "Life Cycle", "So we lost all the data!!!!"),
        Claim(
            "startup-order",
            "Learnings",
            "Boot up order of containers in the pod is not deterministic. Boot up of containers happens in "
            "parallel.",
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


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)
