"""``python -m podlife matrix RUN...``: several runs' ``claims.json`` (one per Kubernetes version or
runtime) as one table, claim by run, differences first.

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
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podlife.report.diff import DiffInputError, cell, load, page
from podlife.report.junit import JUNIT, Outcomes, outcomes


@dataclass
class Matrix:
    columns: list[dict[str, Any]]  # per run: its file and where it measured
    differing: list[dict[str, Any]]  # claim test -> its verdict per run, where they differ
    agreeing: list[dict[str, Any]]
    unfinished: list[str] = field(default_factory=list)  # per run that failed: what its files say

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def matrix(paths: list[Path]) -> Matrix:
    if len(paths) < 2:
        raise DiffInputError("name two or more claims.json files (one per run)")
    if not any(p.exists() for p in paths):
        raise DiffInputError(f"none of these files exists: {', '.join(map(str, paths))}")
    runs = [load(p) if p.exists() else {"claims": []} for p in paths]
    if any("claims" not in r for r in runs):
        raise DiffInputError("every file must be a claims.json")
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


def unfinished_run(path: Path, ended: Outcomes) -> str:
    """Why this run does not count as finished, or ""."""
    if not path.exists():
        return f"{path}: missing (the run did not finish; its log says why)"
    if ended.missing:
        return f"{path.parent / JUNIT}: missing (was the run given --junitxml there?)"
    if ended.failed:
        names = ", ".join(sorted(ended.failed))
        return f"{path.parent}: {len(ended.failed)} test(s) failed or errored: {names}"
    return ""


def markdown(m: Matrix) -> str:
    head = " | ".join(f"{c['kubernetes']} ({c['runtime']}, cgroup {c['cgroup']})" for c in m.columns)
    lines = ["# podlife matrix", "", *(f"- `{c['file']}`" for c in m.columns), ""]

    def table(rows: list[dict[str, Any]], explained: bool) -> list[str]:
        extra = " explained by |" if explained else ""
        out = [f"| claim | {head} |{extra}", f"|---|{'---|' * (len(m.columns) + explained)}"]
        for row in rows:
            cells = [
                c["verdict"] + (f": {headline(c['statement'])}" if c["statement"] else "")
                for c in row["cells"]
            ]
            why = f" {row.get('explained') or 'not explained: look at it'} |" if explained else ""
            out.append(f"| `{row['test'].split('::')[-1]}` | {' | '.join(cell(c) for c in cells)} |{why}")
        return out

    lines += [f"## Where the runs differ ({len(m.differing)})", ""]
    lines += (
        table(m.differing, explained=True) if m.differing else ["Nowhere: every claim has the same verdict."]
    )
    lines += ["", f"## The same everywhere ({len(m.agreeing)})", "", *table(m.agreeing, explained=False)]
    if m.unfinished:
        lines += ["", f"## Runs that did not finish cleanly ({len(m.unfinished)})", ""]
        lines += [f"- {why}" for why in m.unfinished]
    return "\n".join(lines) + "\n"


HEADLINE = 120  # characters of a cell's statement (its headline figure), the rest in matrix.json


def headline(statement: str) -> str:
    return statement if len(statement) <= HEADLINE else statement[: HEADLINE - 1] + "…"


def write(m: Matrix, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(m)
    (out / "matrix.md").write_text(text)
    (out / "matrix.html").write_text(page(text).replace("podlife diff", "podlife matrix"))
    (out / "matrix.json").write_text(json.dumps(m.to_json(), indent=1))
