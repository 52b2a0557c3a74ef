"""``python -m podlife matrix RUN...``: several runs' ``claims.json`` (one per Kubernetes version or
runtime) as one table, claim by run, differences first; and their ``profile.json`` (the reference
profile on each) as a second table, each workload's observation by run, differences first.

Each column is a run, headed by where it measured (its Kubernetes, runtime, cgroup mode); each cell is
that run's verdict and the statement behind it; a claim a run did not measure says so.  The claims
whose verdicts differ between the runs come first, each with the reason the runs give (a "not
applicable" names the version or gate that lacks the feature); then the claims on which every run
agrees.  Written as ``matrix.md``, ``.html`` and ``.json``; nothing is judged that a run did not
measure.

A run that ended early still has its column: a claims.json that is missing (its cluster never came
up) makes every cell of that run "not measured" with that reason, and a test with no verdict says
what its ``junit.xml`` (beside the claims.json) recorded, e.g. "error: … timed out".  With
``--strict`` the command exits 1 when any run is missing, lacks its junit.xml or failed a test (the
report is written first), so ``tox -e matrix`` can go on past a version that failed and still fail.

A profile's row is one observation that Kubernetes documents (:func:`podlife.report.diff.observations`:
data kept after what, what a SIGKILL restarted, replaced or not, departures, findings) of one
workload; its timings stay in each profile's own report and in ``podlife diff``, where they are listed,
not judged.  A profile run's outcomes are read from the ``profile-junit.xml`` beside its profile.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podlife.report.diff import DiffInputError, cell, load, observations, page
from podlife.report.junit import JUNIT, Outcomes, outcomes

PROFILE_JUNIT = "profile-junit.xml"  # beside a profile.json (``python -m podlife profile`` writes it)


@dataclass
class Matrix:
    columns: list[dict[str, Any]]  # per run: its file and where it measured
    differing: list[dict[str, Any]]  # claim test -> its verdict per run, where they differ
    agreeing: list[dict[str, Any]]
    unfinished: list[str] = field(default_factory=list)  # per run that failed: what its files say
    profile_columns: list[dict[str, Any]] = field(default_factory=list)  # per profile run
    profile_differing: list[dict[str, Any]] = field(default_factory=list)  # "workload: observation" rows
    profile_agreeing: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def matrix(paths: list[Path]) -> Matrix:
    """Claims and profiles, each of two or more runs; a missing file is a run that did not finish (a
    ``profile.json`` by its name, a claims.json otherwise)."""
    runs = {p: load(p) if p.exists() else {} for p in paths}
    profiled = [p for p in paths if "subjects" in runs[p] or (not runs[p] and p.name == "profile.json")]
    claimed = [p for p in paths if p not in profiled]
    if len(paths) < 2 or len(claimed) == 1 or len(profiled) == 1:
        raise DiffInputError("name two or more runs: claims.json files, profile.json files, or both")
    if not any(p.exists() for p in paths):
        raise DiffInputError(f"none of these files exists: {', '.join(map(str, paths))}")
    found = claim_table(claimed, [runs[p] or {"claims": []} for p in claimed])
    if profiled:
        profile_table(found, profiled, [runs[p] or {"subjects": []} for p in profiled])
    return found


def claim_table(paths: list[Path], runs: list[dict[str, Any]]) -> Matrix:
    ended = [outcomes(p.parent / JUNIT) for p in paths]
    columns = [column(p, r) for p, r in zip(paths, runs, strict=True)]
    by_run = [{row["test"]: row for row in r["claims"]} for r in runs]
    tests = sorted({t for run in by_run for t in run} | {t for o in ended for t in o.failed})
    differing, agreeing = [], []
    for test in tests:
        cells = [cell_of(run.get(test), test, p, o) for run, p, o in zip(by_run, paths, ended, strict=True)]
        explained = next((r["kep"] for run in by_run if (r := run.get(test)) and r.get("kep")), "")
        row = {"test": test, "cells": cells, "explained": explained}
        (agreeing if len({c["verdict"] for c in cells}) == 1 else differing).append(row)
    unfinished = [why for p, o in zip(paths, ended, strict=True) if (why := unfinished_run(p, o))]
    return Matrix(columns, differing, agreeing, unfinished)


def profile_table(m: Matrix, paths: list[Path], runs: list[dict[str, Any]]) -> None:
    """Each workload's observations by run, into ``m``; a workload whose test failed is an error cell."""
    ended = [outcomes(p.parent / PROFILE_JUNIT) for p in paths]
    m.profile_columns = [column(p, r) for p, r in zip(paths, runs, strict=True)]
    seen = [{s["workload"]: observations(s) for s in r["subjects"]} for r in runs]
    failed = [{t.split("::")[-1]: why for t, why in o.failed.items()} for o in ended]
    for workload in sorted({w for run in seen for w in run} | {w for f in failed for w in f}):
        keys = sorted({k for run in seen for k in run.get(workload, {})})
        for key in keys or ["(no observation)"]:
            cells = [
                observed(run, workload, key, p, bad) for run, p, bad in zip(seen, paths, failed, strict=True)
            ]
            row = {"test": f"{workload}: {key}", "cells": cells, "explained": ""}
            (m.profile_agreeing if len({c["verdict"] for c in cells}) == 1 else m.profile_differing).append(
                row
            )
    m.unfinished += [
        why for p, o in zip(paths, ended, strict=True) if (why := unfinished_run(p, o, PROFILE_JUNIT))
    ]


def observed(
    run: dict[str, Any], workload: str, key: str, path: Path, failed: dict[str, str]
) -> dict[str, Any]:
    if workload in failed:
        return {"verdict": "error", "statement": f"no profile: {failed[workload]}"}
    if workload in run:
        return {"verdict": shown(run[workload].get(key)), "statement": ""}
    if not path.exists():
        return {"verdict": "not measured", "statement": "the run wrote no profile.json (it did not finish)"}
    return {"verdict": "not measured", "statement": "this run did not profile it"}


def shown(value: Any) -> str:
    """An observation as a cell: yes/no, a list's items, or why it is null."""
    if value is None:
        return "null (its profile.json says why)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def column(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    where = (run.get("meta") or {}).get("where") or {}
    return {
        "file": str(path),
        "kubernetes": where.get("kubernetes") or ("no claims.json" if not path.exists() else "not recorded"),
        "runtime": ", ".join(where.get("runtimes") or []) or "not recorded",
        "cgroup": where.get("cgroup") or "not measured",
    }


def cell_of(row: dict[str, Any] | None, test: str, path: Path, ended: Outcomes) -> dict[str, Any]:
    if row is not None:
        return {"verdict": row["verdict"], "statement": row.get("statement") or ""}
    if test in ended.failed:
        return {"verdict": "error", "statement": f"no verdict: {ended.failed[test]}"}
    if not path.exists():
        return {"verdict": "not measured", "statement": "the run wrote no claims.json (it did not finish)"}
    return {"verdict": "not measured", "statement": "this run has no such test"}


def unfinished_run(path: Path, ended: Outcomes, junit: str = JUNIT) -> str:
    """Why this run does not count as finished, or ""."""
    if not path.exists():
        return f"{path}: missing (the run did not finish; its log says why)"
    if ended.missing:
        return f"{path.parent / junit}: missing (was the run given --junitxml there?)"
    if ended.failed:
        names = ", ".join(sorted(ended.failed))
        return f"{path.parent}: {len(ended.failed)} test(s) failed or errored: {names}"
    return ""


def markdown(m: Matrix) -> str:
    files = [c["file"] for c in m.columns + m.profile_columns]
    lines = ["# podlife matrix", "", *(f"- `{f}`" for f in files), ""]
    if m.columns:
        lines += section("claim", m.columns, m.differing, m.agreeing, "every claim has the same verdict")
    if m.profile_columns:
        lines += section(
            "profile: workload: observation",
            m.profile_columns,
            m.profile_differing,
            m.profile_agreeing,
            "every workload behaved the same",
        )
    if m.unfinished:
        lines += [f"## Runs that did not finish cleanly ({len(m.unfinished)})", ""]
        lines += [f"- {why}" for why in m.unfinished]
    return "\n".join(lines) + "\n"


def section(
    what: str,
    columns: list[dict[str, Any]],
    differing: list[dict[str, Any]],
    agreeing: list[dict[str, Any]],
    none: str,
) -> list[str]:
    """One table's two parts: where the runs differ (each row with what explains it), the same."""
    head = " | ".join(f"{c['kubernetes']} ({c['runtime']}, cgroup {c['cgroup']})" for c in columns)
    kind = "" if what == "claim" else " (profiles)"

    def table(rows: list[dict[str, Any]], explained: bool) -> list[str]:
        extra = " explained by |" if explained else ""
        out = [f"| {what} | {head} |{extra}", f"|---|{'---|' * (len(columns) + explained)}"]
        for row in rows:
            cells = [
                c["verdict"] + (f": {headline(c['statement'])}" if c["statement"] else "")
                for c in row["cells"]
            ]
            why = f" {row.get('explained') or 'not explained: look at it'} |" if explained else ""
            out.append(f"| `{row['test'].split('::')[-1]}` | {' | '.join(cell(c) for c in cells)} |{why}")
        return out

    lines = [f"## Where the runs differ{kind} ({len(differing)})", ""]
    lines += table(differing, explained=True) if differing else [f"Nowhere: {none}."]
    return [*lines, "", f"## The same everywhere{kind} ({len(agreeing)})", "", *table(agreeing, False), ""]


HEADLINE = 120  # characters of a cell's statement (its headline figure), the rest in matrix.json


def headline(statement: str) -> str:
    return statement if len(statement) <= HEADLINE else statement[: HEADLINE - 1] + "…"


def write(m: Matrix, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(m)
    (out / "matrix.md").write_text(text)
    (out / "matrix.html").write_text(page(text).replace("podlife diff", "podlife matrix"))
    (out / "matrix.json").write_text(json.dumps(m.to_json(), indent=1))
