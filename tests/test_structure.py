"""The suite's structure, checked: every claim declared once and complete, functions that fit a
screen, modules that fit a sitting, and the import rules of podlife's rooms.

The rules are written as the packages each package may import (as Kubernetes' e2e framework
writes its import restrictions): anything not listed is refused.  The arrows point one way:

    run ──> provision ──> kube ──> face (claims, pictures, errors, paths)
     │  ├─> report ──────────────> face
     │  └─> profile ──> kube
     └────> measure ──> kube

Inside ``podlife.kube`` the same, one floor down (as e2e's per-directory import restrictions):
its facade (``podlife.kube``: ``__init__`` and ``namespace``) stands over five sub-rooms that
point one way, helpers <- api <- pod <- node <- chapter, and only the facade is reached from
outside ``podlife.kube``.

Nothing imports ``podlife.run`` but its entry points (the repository's ``conftest.py`` and
``python -m podlife profile``).
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import pytest

from podlife.claims import SECTIONS, Claim
from podlife.kube.chapter.subject import Subject
from podlife.paths import REPO
from podlife.run.registry import declared, scenario_files

SCENARIOS = scenario_files([str(REPO / "scenarios")])
PODLIFE = sorted((REPO / "podlife").rglob("*.py"))
MAX_FUNCTION_LINES = 40
pytest_plugins = ["pytester"]
MAX_MODULE_LINES = 300

FACE = {
    "podlife.claims",
    "podlife.profiled",
    "podlife.findings",
    "podlife.pictures",
    "podlife.errors",
    "podlife.paths",
}
ALLOWED: dict[str, set[str]] = {
    "podlife": set(),
    "podlife.errors": set(),
    "podlife.paths": set(),
    "podlife.docker": {"podlife.errors"},  # this machine's Docker CLI: the one module that calls it
    "podlife.pictures": set(),
    "podlife.claims": {"podlife.pictures"},
    "podlife.profiled": {
        "podlife.findings"
    },  # a workload's typed profile, from the measurement to the reports
    "podlife.findings": set(),  # the workload's part: an old pod's way out, a finding
    "podlife.kube": {"podlife.kube"} | FACE - {"podlife.claims"},  # the facade: its sub-rooms
    "podlife.kube.helpers": set(),  # programs run inside pods and on nodes: the standard library only
    "podlife.kube.api": {"podlife.kube.api", "podlife.errors"},
    "podlife.kube.pod": {
        "podlife.kube.pod",
        "podlife.kube.api",
        "podlife.kube.helpers",
        "podlife.errors",
        "podlife.pictures",
        "podlife.findings",
    },
    "podlife.kube.node": {
        "podlife.docker",
        "podlife.kube.node",
        "podlife.kube.pod",
        "podlife.kube.api",
        "podlife.kube.helpers",
        "podlife.errors",
    },
    "podlife.kube.chapter": {"podlife.kube.chapter", "podlife.kube.api", "podlife.kube.pod"},
    "podlife.measure": {"podlife.kube"} | FACE,
    "podlife.report": {"podlife.report"} | FACE,
    "podlife.provision": {
        "podlife.provision",
        "podlife.kube",
        "podlife.docker",
        "podlife.errors",
        "podlife.paths",
    },
    "podlife.run": {"podlife"},  # the pytest run may use every room
    "podlife.__main__": {
        "podlife.provision",
        "podlife.kube",
        "podlife.profile",
        "podlife.docker",
        "podlife.report",
    },
    "podlife.profile": {"podlife.profile", "podlife.kube"} | FACE - {"podlife.claims"},
    "scenarios": {"podlife.kube", "podlife.measure"} | FACE,
    "bench": {"bench", "service"},
    "bench.interrupt": {"bench.signals", "podlife.kube", "podlife.provision"},  # its own clean-up
    "bench.rehearsal_interrupt": {"bench.signals", "podlife.provision"},  # measures the rehearsal's restore
    "bench.kill9": {"bench.signals", "podlife.kube"},  # what a killed run left on the cluster
    "bench.rbac": {"podlife.kube"},  # the rights of manifests/rbac/podlife.yml, tried as podlife's account
    "service": {"service"},
}
# the only files outside podlife.run that may name it: pytest's and ``python -m podlife profile``'s
ENTRY_POINTS = {REPO / "conftest.py", REPO / "podlife" / "__main__.py"}


def module_of(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The project modules a file imports (at module level or inside functions): for ``from P
    import name``, ``P.name`` where that is a module, else ``P``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (REPO / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    REPO / Path(*sub.split("."))
                ).is_dir()
                found.add(sub if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.split(".")[0] in {"podlife", "scenarios", "bench", "tests", "service"}}


KUBE_FACADE = {"podlife.kube", "podlife.kube.namespace"}
KUBE_ROOMS = {"api", "pod", "node", "helpers", "chapter"}


def rule_for(module: str) -> tuple[str, set[str]]:
    owner = max((k for k in ALLOWED if module == k or module.startswith(k + ".")), key=len)
    return owner, ALLOWED[owner]


def allowed(target: str, rule: set[str], importer: str = "") -> bool:
    """``target`` is within the rule; from outside ``podlife.kube`` only its facade is."""
    if (
        target.startswith("podlife.kube.")
        and not importer.startswith("podlife.kube")
        and target not in KUBE_FACADE
    ):
        return False
    return any(target == a or target.startswith(a + ".") for a in rule)


def governed() -> list[Path]:
    return [
        *PODLIFE,
        *SCENARIOS,
        *sorted((REPO / "bench").glob("*.py")),
        *sorted((REPO / "service").glob("*.py")),
    ]


@pytest.mark.parametrize("path", governed(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_follow_the_written_rules(path: Path) -> None:
    owner, rule = rule_for(module_of(path))
    module = module_of(path)
    bad = sorted(t for t in imports(path) if not allowed(t, rule, module) and t != module)
    assert not bad, (
        f"{module_of(path)} ({owner} may import {sorted(rule) or 'nothing of the project'}) imports {bad}"
    )


def test_kube_is_a_facade_over_its_sub_rooms() -> None:
    """Nothing in ``podlife/kube/`` outside its facade (``__init__``, ``namespace``) and the five
    sub-rooms, and every sub-room under a rule of its own."""
    kube = REPO / "podlife" / "kube"
    loose = sorted(p.name for p in kube.glob("*.py") if p.stem not in {"__init__", "namespace"})
    rooms = {p.name for p in kube.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert not loose, f"modules in podlife/kube/ outside its facade and sub-rooms: {loose}"
    assert rooms == KUBE_ROOMS, rooms
    assert all(f"podlife.kube.{room}" in ALLOWED for room in rooms)
    assert not [p for p in kube.rglob("*.py") if len(p.relative_to(kube).parts) > 2]  # one floor


def test_the_kube_rooms_point_one_way() -> None:
    """The lowest sub-room imports nothing above it: helpers <- api <- pod <- node <- chapter."""
    order = ["helpers", "api", "pod", "node", "chapter"]
    for i, room in enumerate(order):
        above = {f"podlife.kube.{r}" for r in order[i + 1 :]} | KUBE_FACADE
        assert not ALLOWED[f"podlife.kube.{room}"] & above, room


def test_nothing_imports_the_run_but_its_entry_point() -> None:
    users = [
        p
        for p in [*governed(), *REPO.glob("*.py")]
        if not module_of(p).startswith("podlife.run")
        and p not in ENTRY_POINTS
        and (any(t.startswith("podlife.run") for t in imports(p)) or names_the_run(p))
    ]
    assert not users, users
    assert "podlife.run.plugin" in (REPO / "conftest.py").read_text()


def names_the_run(path: Path) -> bool:
    """A string that is exactly a module of the run (``pytest_plugins = ["podlife.run.plugin"]``)."""
    return any(
        isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and re.fullmatch(r"podlife\.run(\.\w+)*", n.value)
        for n in ast.walk(ast.parse(path.read_text()))
    )


def test_bench_and_tests_are_independent_of_each_other() -> None:
    bench = {t for p in (REPO / "bench").glob("*.py") for t in imports(p)}
    tests = {t for p in (REPO / "tests").rglob("*.py") for t in imports(p)}
    assert not {t for t in bench if t.startswith("tests")}
    assert not {t for t in tests if t.startswith("bench")}


def test_podlife_has_no_import_cycle() -> None:
    graph = {module_of(p): {t for t in imports(p) if t.startswith("podlife")} for p in PODLIFE}
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


@pytest.mark.parametrize("path", [*PODLIFE, *SCENARIOS], ids=lambda p: str(p.relative_to(REPO)))
def test_functions_fit_a_screen(path: Path) -> None:
    tree = ast.parse(path.read_text())
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


@pytest.mark.parametrize("path", PODLIFE, ids=lambda p: str(p.relative_to(REPO)))
def test_podlife_modules_fit_a_sitting(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


# ---------------------------------------------------------------- the claims
def test_every_claim_is_declared_once_and_complete() -> None:
    claims = declared(SCENARIOS)
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids)), sorted(ids)
    for claim in claims:
        assert claim.measurement is not None, f"{claim.id}: no @{claim.id}.measure"
        assert claim.section in SECTIONS, claim.id
        assert claim.counters, f"{claim.id}: no counter-example"
        for path in [c.manifest for c in claim.counters] + ([claim.subject] if claim.subject else []):
            Subject.load(path)  # raises naming the file if it cannot serve
        assert not claim.fixes or claim.fixes in ids, f"{claim.id} fixes an unknown claim {claim.fixes}"


def test_the_registry_imports_each_scenario_module_once_under_pytests_name() -> None:
    first = declared(SCENARIOS)
    again = declared(SCENARIOS)
    assert [id(c) for c in first] == [id(c) for c in again]  # the same objects: imported once
    assert all(f"scenarios.{p.stem}" in sys.modules for p in SCENARIOS)


def test_the_readme_lists_exactly_the_declared_claims() -> None:
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", readme, flags=re.MULTILINE))
    assert listed == {c.id for c in declared(SCENARIOS)}


def adding_a_claim_snippet() -> str:
    """The example of docs/adding-a-claim.md (the README's "Adding a claim" points there), as written."""
    section = (REPO / "docs" / "adding-a-claim.md").read_text()
    found = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert found, "docs/adding-a-claim.md has no python example"
    return textwrap.dedent(found.group(1))


def test_a_claim_added_as_the_readme_says_becomes_its_tests(pytester: pytest.Pytester) -> None:
    """A throw-away claim, declared to the letter of docs/adding-a-claim.md (with the imports it names),
    is found by the registry, follows the import rules and becomes the claim's test and its
    counter-example's."""
    counter = pytester.mkdir("counter")
    (counter / "web-never-restarted.yml").write_text((REPO / "manifests" / "webpod.yml").read_text())
    source = adding_a_claim_snippet()
    path = pytester.makepyfile(test_throwaway=source)
    (claim,) = [c for c in declared([path]) if isinstance(c, Claim)]
    assert claim.id == "restart-back-off" and claim.measurement is not None
    tree_imports = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert all(allowed(m, ALLOWED["scenarios"]) for m in tree_imports if m and m.startswith("podlife"))
    for owner, name in used_on_m(source):  # what it calls on m and m.kube exists there
        known = hasattr(owner, name) or name in getattr(owner, "__annotations__", {})
        assert known, f"docs/adding-a-claim.md's example uses {owner.__name__}.{name}, which does not exist"
    pytester.makeconftest('pytest_plugins = ["podlife.run.plugin"]')
    result = pytester.runpytest_subprocess("--collect-only", "-q", "--kubeconfig", "nowhere")
    result.stdout.fnmatch_lines(["*test_restart_back_off", "*test_restart_back_off_counter_example"])


def used_on_m(source: str) -> list[tuple[type, str]]:
    """(class, attribute) for every ``m.X`` and ``m.kube.X`` the source uses."""
    from podlife.kube import Namespace
    from podlife.measure import Measurement

    out: list[tuple[type, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "m":
            out.append((Measurement, node.attr))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "m"
            and node.value.attr == "kube"
        ):
            out.append((Namespace, node.attr))
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenarios_use_only_what_a_measurement_has(path: Path) -> None:
    source = path.read_text().replace("self.m.", "m.")  # a helper class that keeps its m
    missing = [
        f"{owner.__name__}.{name}"
        for owner, name in used_on_m(source)
        if not (hasattr(owner, name) or name in getattr(owner, "__annotations__", {}))
    ]
    assert not missing
