"""``python -m podlife diff A B`` and ``python -m podlife matrix RUN...``: runs side by side, on the
command line (:mod:`podlife.report.diff`, :mod:`podlife.report.matrix`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

AREAS = ("diff", "matrix")


def add(sub: Any) -> None:
    """Their parsers, under ``python -m podlife``."""
    df = sub.add_parser("diff", help="two runs' claims.json (or profile.json) side by side, changes first")
    df.add_argument("a", metavar="A", help="a claims.json or profile.json (the baseline)")
    df.add_argument("b", metavar="B", help="the same kind of file of another run")
    df.add_argument("--out", default="reports", help="where diff.md, .html and .json go (default reports/)")
    mx = sub.add_parser(
        "matrix",
        help="several runs' claims.json (one per Kubernetes or runtime) as one table, their profile.json "
        "as a second",
    )
    mx.add_argument(
        "runs",
        nargs="+",
        metavar="JSON",
        help="two or more claims.json, one per run, and/or two or more profile.json (the reference profile "
        "of each run)",
    )
    mx.add_argument("--out", default="reports", help="where matrix.md, .html and .json go (default reports/)")
    mx.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a run is missing, has no junit.xml beside its claims.json (profile-junit.xml "
        "beside a profile.json) or failed a test "
        "(the table is written first): for a job that goes on past a failed run",
    )


def run(args: argparse.Namespace) -> int:
    return diff_command(args) if args.area == "diff" else matrix_command(args)


def diff_command(args: argparse.Namespace) -> int:
    """Exit status 1 when a verdict (or a profile's observation) changed, 2 on bad input."""
    from podlife.report import diff

    try:
        found = diff.diff(Path(args.a), Path(args.b))
    except diff.DiffInputError as exc:
        print(f"podlife diff: {exc}", file=sys.stderr)
        return 2
    diff.write(found, args.a, args.b, Path(args.out))
    what = "verdict(s)" if found.kind == "claims" else "observation(s)"
    counts = f"{len(found.changed)} {what} changed, {len(found.only)} in one run only, {found.same} the same"
    print(f"podlife diff: {counts}")
    print(f"podlife diff: {Path(args.out) / 'diff.md'}")
    return 1 if found.changed else 0


def matrix_command(args: argparse.Namespace) -> int:
    """Exit status 0 (the table is a report, not a gate: ``diff`` is the gate), 2 on bad input; with
    ``--strict``, 1 when a run did not finish cleanly."""
    from podlife.report import diff, matrix

    try:
        found = matrix.matrix([Path(r) for r in args.runs])
    except diff.DiffInputError as exc:
        print(f"podlife matrix: {exc}", file=sys.stderr)
        return 2
    matrix.write(found, Path(args.out))
    if found.columns:
        counts = f"{len(found.differing)} claim(s) differ between the runs, {len(found.agreeing)} agree"
        print(f"podlife matrix: {counts}")
    if found.profile_columns:
        differ, agree = len(found.profile_differing), len(found.profile_agreeing)
        counts = f"{differ} profile observation(s) differ between the runs, {agree} agree"
        print(f"podlife matrix: {counts}")
    print(f"podlife matrix: {Path(args.out) / 'matrix.md'}")
    for why in found.unfinished:
        print(f"podlife matrix: not finished cleanly: {why}", file=sys.stderr)
    return 1 if args.strict and found.unfinished else 0
