"""Reports a person reads first: ``claims.json``, ``claims.md`` (each problem next to its fix,
then every claim, then the run's schedule), ``claims.html`` (the same pairs with pictures) and the
GitHub job summary.  They are written from typed :class:`~podlife.claims.Result` values; a file a
result names is named relative to where the run started (a report carries no absolute path of the
machine it ran on); a picture whose totals differ from its evidence's fails the report
(:mod:`podlife.report.agree`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podlife.claims import SECTIONS, Result
from podlife.report import agree, markdown, page, summary
from podlife.report import profile_files as profile_files


@dataclass(frozen=True)
class Meta:
    cluster: str
    started: str
    duration_s: float
    ci: bool = False
    where: dict[str, Any] = field(default_factory=dict)  # Kubernetes, runtime, gates, cgroup: as measured
    chain_s: float | None = None  # the scenarios that cannot overlap, one after another
    chain_parts: str = ""  # which those were: "stopper(s) 197 s + the longest spreader 64 s + ..."


def ordered(results: list[Result]) -> list[Result]:
    """Claims first, in the chapter's order (section, then as the suite declares them); then
    the counter-examples in the same order."""
    section = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(results, key=lambda r: (r.counter_example, section.get(r.section, 99), r.order))


def write(results: list[Result], reports: Path, meta: Meta, schedule: str = "", *, root: Path) -> None:
    """claims.json, claims.md (with the run's schedule), claims.html, and the GitHub job summary;
    raises :class:`agree.Disagreement` (after writing them) when a picture disagrees with its evidence."""
    results = [r.located(root) for r in ordered(results)]
    reports.mkdir(parents=True, exist_ok=True)
    saved = {"meta": asdict(meta), "claims": [r.to_json() for r in results]}
    (reports / "claims.json").write_text(json.dumps(saved, indent=2, default=str))
    table = markdown.render(results, meta) + ("\n" + schedule if schedule else "")
    (reports / "claims.md").write_text(table)
    (reports / "claims.html").write_text(page.render(results, meta))
    summary.append(table)
    agree.check(results)
