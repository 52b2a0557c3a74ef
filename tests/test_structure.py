"""The suite's structure, checked: every claim declared once and complete, scenario functions
that fit a screen, and podlife's modules layered without an import cycle."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from podlife.claims import SECTIONS, Claim
from podlife.paths import REPO
from podlife.subject import Subject

SCENARIOS = sorted((REPO / "scenarios").glob("test_*.py"))
MAX_FUNCTION_LINES = 40


def declared() -> list[Claim]:
    claims = []
    for path in SCENARIOS:
        module = importlib.import_module(f"scenarios.{path.stem}")
        claims += [obj for obj in vars(module).values() if isinstance(obj, Claim)]
    return claims


def test_every_claim_is_declared_once_and_complete() -> None:
    claims = declared()
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids)), sorted(ids)
    for claim in claims:
        assert claim.measurement is not None, f"{claim.id}: no @{claim.id}.measure"
        assert claim.section in SECTIONS, claim.id
        assert claim.counters, f"{claim.id}: no counter-example"
        for path in [c.manifest for c in claim.counters] + ([claim.subject] if claim.subject else []):
            Subject.load(path)  # raises naming the file if it cannot serve
        assert not claim.fixes or claim.fixes in ids, f"{claim.id} fixes an unknown claim {claim.fixes}"


def test_the_readme_lists_exactly_the_declared_claims() -> None:
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme, flags=re.MULTILINE))
    assert listed == {c.id for c in declared()}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_functions_fit_a_screen(path: Path) -> None:
    tree = ast.parse(path.read_text())
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


def imports(path: Path) -> set[str]:
    """The podlife modules a module imports (at module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podlife"):
            if node.module == "podlife":
                found |= {f"podlife.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("podlife.")}
    return found


def test_podlife_has_no_import_cycle() -> None:
    graph = {f"podlife.{p.stem}": imports(p) for p in (REPO / "podlife").glob("*.py") if p.stem != "__init__"}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join(
            [*visiting[visiting.index(module) :], module]
        )
        visiting.append(module)
        for dep in sorted(graph.get(module, ())):
            visit(dep)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_scenarios_use_a_cluster_and_never_build_one() -> None:
    for path in SCENARIOS:
        bad = imports(path) & {"podlife.cluster", "podlife.images", "podlife.artefacts", "podlife.engine"}
        assert not bad, f"{path.name} imports {bad}"
