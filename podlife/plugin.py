"""The pytest plugin behind ``scenarios/``: options, the cluster, the claims' tests, reports.

- Every :class:`~podlife.claims.Claim` declared in a scenario module becomes its tests: one
  for the claim (``test_<id>``) and one per counter-example (``test_<id>_counter_example[...]``).
  The measurement runs while the test is set up; a refuted claim (or a counter-example that
  is not refuted) fails the test; anything that stops the measurement before a verdict (a
  set-up error, a wait that could not end) is an error, with no verdict.
- The cluster: ``--kubeconfig`` (pytest-kind's option) names any existing cluster; without it
  podlife brings its own kind cluster up, or reuses a healthy one.  A cluster that cannot be
  reached errors every scenario: nothing is ever skipped into a green run.
- Each scenario gets its own namespace, deleted when it passes; when it fails, the evidence
  bundle is written under ``reports/evidence/`` and ``--keep-failed`` keeps the namespace.
- At the end: ``reports/claims.json``, ``claims.md``, ``claims.html`` (and the GitHub job
  summary); ``reports/junit.xml`` comes from pytest's own ``--junitxml``.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from podlife import evidence, progress, report, resources, upstream
from podlife import tools as find
from podlife.claims import Claim, Counter, Needs, Result, expect_refuted, require
from podlife.lock import exclusive
from podlife.measure import Measurement, Options, measure
from podlife.paths import MANIFESTS, REPO, cache_dir
from podlife.progress import record
from podlife.scenario import Cluster
from podlife.schedule import ClaimScheduling, kinds_of
from podlife.subject import Subject, SubjectError

RESULTS = pytest.StashKey[list[dict[str, Any]]]()
STARTED = pytest.StashKey[float]()
SESSION = pytest.StashKey[dict[str, Any]]()
PRINTER = pytest.StashKey[progress.Printer]()
RESULT_KEY = "podlife.result"
PROGRESS = "progress.jsonl"
DURATIONS = REPO / "scenarios" / "durations.json"
TEARDOWN_S = 360
UPSTREAM_PROBE_IMAGE = upstream.tag_of(upstream.PYTHON)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("podlife")
    group.addoption(
        "--pod-manifest",
        default=str(MANIFESTS / "webpod.yml"),
        help="the chapter's pod to measure: any pod of a web container serving the chapter's API on a "
        "declared port and a PostgreSQL container (default: manifests/webpod.yml)",
    )
    group.addoption(
        "--claim", action="append", default=[], metavar="ID", help="run only this claim (repeatable)"
    )
    group.addoption("--runs", type=int, default=10, help="fresh pods for the start-up claims (default 10)")
    group.addoption("--keep-failed", action="store_true", help="keep the namespace of a failed scenario")
    group.addoption("--reports", default=str(REPO / "reports"), help="where reports go (default: reports/)")
    group.addoption(
        "--store-durations",
        action="store_true",
        help="write how long each scenario held the cluster to scenarios/durations.json "
        "(the next runs start the longest first)",
    )
    group.addoption(
        "--probe-image",
        default=None,
        help="with --kubeconfig: the Python image for podlife's probes and request loops "
        f"(default: {UPSTREAM_PROBE_IMAGE}; podlife's own cluster holds its own)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Bad input gets one clear error, up front, before any cluster work."""
    config.addinivalue_line("markers", "claim(id): the chapter claim a scenario measures")
    config.stash[RESULTS] = []
    config.stash[STARTED] = time.time()
    config.pluginmanager.register(ResultCollector(config.stash[RESULTS]), "podlife-results")
    if config.getoption("runs") < 1:
        raise pytest.UsageError("--runs must be at least 1")
    try:
        Subject.load(Path(config.getoption("pod_manifest"))).pod  # noqa: B018 - exactly one Pod
    except SubjectError as exc:
        raise pytest.UsageError(f"--pod-manifest {exc}") from None
    known = declared_ids(config.args)
    if known and (unknown := sorted(set(config.getoption("claim")) - known)):
        raise pytest.UsageError(f"unknown claim id(s) {unknown}; known: {', '.join(sorted(known))}")


def declared_ids(args: list[str]) -> set[str]:
    """The claim ids the scenario files declare (read, not imported: pytest-xdist's controller
    checks --claim before any worker collects)."""
    files: list[Path] = []
    for arg in args:
        path = Path(arg.split("::")[0])
        files += sorted(path.rglob("test_*.py")) if path.is_dir() else [path] if path.suffix == ".py" else []
    return {
        node.args[0].value
        for f in files
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "Claim"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


# ---------------------------------------------------------------- a claim's tests
def _claim_test(measured: Result) -> None:
    require(measured)


def _counter_test(measured: Result) -> None:
    expect_refuted(measured)


def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> list[pytest.Item] | None:
    if not isinstance(obj, Claim) or not isinstance(collector, pytest.Module):
        return None
    items = []
    for test_name, counter in obj.tests():
        fn = _counter_test if counter else _claim_test
        item = pytest.Function.from_parent(collector, name=test_name, callobj=fn)
        item.add_marker(pytest.mark.claim(obj.id))
        item.stash[CLAIM] = (obj, counter)
        items.append(item)
    return items


CLAIM = pytest.StashKey[tuple[Claim, Counter | None]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("claim"))
    known = {i.stash[CLAIM][0].id for i in items if CLAIM in i.stash}
    if unknown := sorted(wanted - known):
        raise pytest.UsageError(f"unknown claim id(s) {unknown}; known: {', '.join(sorted(known))}")
    if wanted:
        keep = [i for i in items if CLAIM in i.stash and i.stash[CLAIM][0].id in wanted]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    # A scenario that stops a worker first (little else waits for that worker yet), those that
    # spread over every worker last (they can use both only once no worker is stopped); each
    # group longest first, so the run ends soon after its longest scenario.
    took = progress.durations(DURATIONS)

    def order(item: pytest.Item) -> tuple[int, float]:
        needs = needs_of(item)
        group = 0 if needs.stops_node else 2 if needs.nodes == "all" else 1
        return group, -took.get(item.nodeid, progress.UNKNOWN_S)

    items.sort(key=order)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Side by side (``--dist load``, pytest-xdist's default with ``-n``): podlife.schedule, which
    knows which scenarios stop a worker and which spread over every worker."""
    if config.getvalue("dist") != "load":
        return None
    return ClaimScheduling(config, log, lambda ids: kinds_of(config.rootpath, ids))


def needs_of(item: pytest.Item) -> Needs:
    claim, counter = item.stash.get(CLAIM, (None, None))
    return claim.needs_of(counter) if claim else Needs()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# ---------------------------------------------------------------- the cluster, once per run
def pytest_sessionstart(session: pytest.Session) -> None:
    """The process that starts the run (pytest-xdist's controller, or the only process) brings
    the cluster up, holds it for the whole run (podlife.lock: nobody else may recreate it or
    stop its nodes meanwhile) and hands it to every process that runs scenarios.  pytest-xdist's
    controller does so now (its workers are configured before they collect); a run in one
    process once it has collected a claim's test (``pytest tests`` needs no cluster)."""
    config = session.config
    if not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("dsession"):
        start_run(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if SESSION not in config.stash and any(CLAIM in item.stash for item in session.items):
        start_run(config)


def start_run(config: pytest.Config) -> None:
    """A new run's reports directory, the cluster reached (or why not), the progress printer."""
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    reports = Path(config.getoption("reports"))
    shutil.rmtree(reports / "evidence", ignore_errors=True)  # a new run: old bundles would mislead
    reports.mkdir(parents=True, exist_ok=True)
    (reports / PROGRESS).unlink(missing_ok=True)
    held = ExitStack()
    config.add_cleanup(held.close)
    try:
        config.stash[SESSION] = reach_cluster(config, held)
    except Exception as exc:
        config.stash[SESSION] = {"error": f"{type(exc).__name__}: {exc}"}
    if config.pluginmanager.hasplugin("dsession"):  # pytest-xdist runs the scenarios side by side
        terminal = config.pluginmanager.get_plugin("terminalreporter")

        def say(line: str) -> None:
            terminal.write_line(line)
            terminal.flush()  # live on a pipe too (GitHub Actions, tox)

        config.stash[PRINTER] = progress.Printer(reports / PROGRESS, say=say if terminal else print).start()
        config.add_cleanup(config.stash[PRINTER].stop)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    if PRINTER in node.config.stash:
        node.config.stash[PRINTER].total = len(ids)


def reach_cluster(config: pytest.Config, held: ExitStack) -> dict[str, Any]:
    given = config.getoption("kubeconfig")
    if given:
        held.enter_context(exclusive(Path(given), "scenarios"))
        server = client.VersionApi(kube_config.new_client_from_config(given)).get_code().git_version
        kubectl = config.getoption("kind_kubectl_bin") or str(
            find.kubectl(server, cache_dir() / "bin" / "k8s" / "kubectl")
        )
        probe = config.getoption("probe_image") or UPSTREAM_PROBE_IMAGE
        info = {
            "kubeconfig": given,
            "kubectl": kubectl,
            "image_map": {},
            "probe": probe,
            "desc": f"kubeconfig {given}",
        }
    else:
        from podlife import cluster as kind

        held.enter_context(exclusive(kind.kubeconfig_path(), "scenarios"))
        kubeconfig = kind.up()
        tools = kind.current_tools()
        kind.load_subject_images(tools, subjects(config))
        desc = f"kind {kind.NAME} ({tools.node_image}, 3 nodes)"
        info = {
            "kubeconfig": str(kubeconfig),
            "kubectl": str(tools.kubectl),
            "image_map": tools.image_map,
            "probe": tools.probe_image,
            "desc": desc,
        }
    api = kube_config.new_client_from_config(info["kubeconfig"])
    client.VersionApi(api).get_code()  # reachable, or fail here with the reason
    return info


def subjects(config: pytest.Config) -> list[Subject]:
    """Every manifest a run may measure (their images must be in the cluster): the chapter's pod
    and the manifests of podlife's fixes and counter-examples."""
    paths = {Path(config.getoption("pod_manifest")), MANIFESTS / "separated"}
    paths |= {p for p in [*MANIFESTS.rglob("*.yml"), *(REPO / "scenarios" / "counter").glob("*.yml")]}
    paths -= set((MANIFESTS / "separated").glob("*.yml"))
    return [Subject.load(p) for p in sorted(paths)]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: each worker gets the cluster the controller holds."""
    node.workerinput["podlife"] = json.dumps(node.config.stash.get(SESSION, {"error": "no cluster"}))


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The cluster under test; failing to reach one errors every scenario (never a skip)."""
    config = request.config
    info = (
        json.loads(config.workerinput["podlife"]) if hasattr(config, "workerinput") else config.stash[SESSION]
    )
    if "error" in info:
        pytest.fail(f"no cluster to run scenarios on: {info['error']}", pytrace=False)
    api = kube_config.new_client_from_config(info["kubeconfig"])
    return Cluster(
        Path(info["kubeconfig"]), api, info["kubectl"], info["image_map"], info["probe"], info["desc"]
    )


# ---------------------------------------------------------------- a scenario
TEARDOWNS: list[threading.Thread] = []


@pytest.fixture
def scn(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Measurement]:
    """The claim's share of the cluster (podlife.resources), its namespace and watch, opened
    before its measurement; afterwards the evidence bundle when it failed or erred, and the
    namespace deleted in the background (the share is released once its pods are gone)."""
    config, test = request.config, request.node.nodeid
    claim, counter = request.node.stash[CLAIM]
    options = Options(Path(config.getoption("pod_manifest")).resolve(), config.getoption("runs"))
    needs = needs_of(request.node)
    m = Measurement(cluster, claim, counter, options, needs)
    log = Path(config.getoption("reports")) / PROGRESS
    held = resources.acquire(
        resources.lock_dir(cluster.kubeconfig),
        test,
        needs,
        needs.host_ports and m.subject.host_ports(),
        cluster.workers(),
        waiting=lambda text: record(log, test, "waiting", on=text),
    )
    m.node = held.node if needs.nodes == "one" else None
    m.prefer = held.node if needs.nodes == "all" else None
    record(log, test, "running", node=held.node)
    m.open()
    yield m
    failed = any(
        r is None or r.failed for r in (getattr(request.node, f"rep_{w}", None) for w in ("setup", "call"))
    )
    if failed:
        dest = Path(config.getoption("reports")) / "evidence" / request.node.name.replace("/", "_")
        try:
            evidence.collect(cluster.api, m.namespace, dest, m.timeline())
        except Exception as exc:  # the bundle is a courtesy; the failure itself is already reported
            print(f"podlife: evidence bundle incomplete: {exc}")
    keep = failed and config.getoption("keep_failed")
    record(log, test, "tearing down")
    TEARDOWNS.append(threading.Thread(target=teardown, args=(m, held, keep, log, test), daemon=True))
    TEARDOWNS[-1].start()


def teardown(m: Measurement, held: resources.Allocation, keep: bool, log: Path, test: str) -> None:
    """In the background: the namespace deleted and its pods awaited gone, then the share
    released.  A namespace that does not go keeps its share held (nobody may collide with
    it) and is reported at the end of the run."""
    try:
        m.close(delete=not keep)
    except Exception as exc:
        record(log, test, "teardown failed", error=f"{type(exc).__name__}: {exc}")
        return
    if not keep:
        held.release()
    record(log, test, "done")


@pytest.fixture
def measured(request: pytest.FixtureRequest, scn: Measurement) -> Result:
    """The measurement, run as the test is set up: anything but a verdict is an error."""
    result = measure(scn)
    result.test = request.node.nodeid
    entry = {**result.as_dict(), "order": request.session.items.index(request.node)}
    request.node.user_properties.append((RESULT_KEY, json.dumps(entry, default=str)))
    return result


class ResultCollector:
    """Results travel with each test's set-up report, so they reach this process also from
    pytest-xdist's workers."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self.results += [json.loads(v) for k, v in report.user_properties if k == RESULT_KEY]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every process waits for its scenarios' teardowns; the one that started the run writes
    the reports and says which teardown failed, if one did (the run then fails)."""
    for thread in TEARDOWNS:
        thread.join(TEARDOWN_S)
    config = session.config
    if hasattr(config, "workerinput") or SESSION not in config.stash:
        return
    reports = Path(config.getoption("reports"))
    entries = progress.read(reports / PROGRESS)
    stuck = [e for e in entries if e["state"] == "teardown failed"]
    for e in stuck:
        print(f"podlife: the teardown of {e['test']} failed: {e['error']}", file=sys.stderr)
    if stuck:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if config.getoption("store_durations"):
        progress.store_durations(DURATIONS, entries)
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    started = config.stash[STARTED]
    meta = {
        "cluster": config.stash[SESSION].get("desc", "?"),
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "ci": bool(os.environ.get("CI")),
    }
    report.write(results, reports, meta, progress.schedule(entries))
