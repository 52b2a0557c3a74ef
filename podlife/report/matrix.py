"""``python -m podlife matrix RUN...``: several runs' ``claims.json`` (one per Kubernetes version or
runtime) as one table, claim by run, differences first.

Each column is a run, headed by where it measured (its Kubernetes, runtime, cgroup mode); each cell is
that run's verdict and the statement behind it; a claim a run did not measure says so.  The claims
whose verdicts differ between the runs come first, each with the reason the runs give (a "not
applicable" names the version or gate that lacks the feature); then the claims on which every run
agrees.  Written as ``matrix.md``, ``.html`` and ``.json``; nothing is judged that a run did not
measure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from podlife.report.diff import DiffInputError, cell, load, page


@dataclass
class Matrix:
    columns: list[dict[str, Any]]  # per run: its file and where it measured
    differing: list[dict[str, Any]]  # claim test -> its verdict per run, where they differ
    agreeing: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def matrix(paths: list[Path]) -> Matrix:
    if len(paths) < 2:
        raise DiffInputError("name two or more claims.json files (one per run)")
    runs = [load(p) for p in paths]
    if any("claims" not in r for r in runs):
        raise DiffInputError("every file must be a claims.json")
    columns = [column(p, r) for p, r in zip(paths, runs, strict=True)]
    by_run = [{row["test"]: row for row in r["claims"]} for r in runs]
    tests = sorted({t for run in by_run for t in run})
    differing, agreeing = [], []
    for test in tests:
        cells = [cell_of(run.get(test)) for run in by_run]
        explained = next((r["kep"] for run in by_run if (r := run.get(test)) and r.get("kep")), "")
        row = {"test": test, "cells": cells, "explained": explained}
        (agreeing if len({c["verdict"] for c in cells}) == 1 else differing).append(row)
    return Matrix(columns, differing, agreeing)


def column(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    where = (run.get("meta") or {}).get("where") or {}
    return {
        "file": str(path),
        "kubernetes": where.get("kubernetes") or "not recorded",
        "runtime": ", ".join(where.get("runtimes") or []) or "not recorded",
        "cgroup": where.get("cgroup") or "not measured",
    }


def cell_of(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"verdict": "not measured", "statement": "this run has no such test"}
    return {"verdict": row["verdict"], "statement": row.get("statement") or ""}


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
