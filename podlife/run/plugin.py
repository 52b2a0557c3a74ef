"""The pytest plugin behind ``scenarios/``: options, the claims' tests, the run, the reports.

- Every :class:`~podlife.claims.Claim` declared in a scenario module becomes its tests: one
  for the claim (``test_<id>``) and one per counter-example (``test_<id>_counter_example[...]``).
  The measurement runs while the test is set up; a refuted claim (or a counter-example that
  is not refuted) fails the test; anything that stops the measurement before a verdict (a
  set-up error, a wait that could not end) is an error, with no verdict.
- The cluster (:mod:`podlife.run.session`): ``--kubeconfig`` (pytest-kind's option) names any
  existing cluster; without it podlife brings its own kind cluster up, or reuses a healthy one.
  A cluster that cannot be reached errors every scenario: nothing is ever skipped into a green run.
- Each scenario (:mod:`podlife.run.scenario`) gets its own namespace, deleted when it passes;
  when it fails, the evidence bundle is written under ``reports/evidence/`` and
  ``--keep-failed`` keeps the namespace.
- At the end: ``reports/claims.json``, ``claims.md``, ``claims.html`` (and the GitHub job
  summary); ``reports/junit.xml`` comes from pytest's own ``--junitxml``.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podlife.claims import Claim, Counter, Kind, Needs, Result, expect_refuted, require
from podlife.kube import Cluster, Subject, SubjectError
from podlife.measure import Measurement, measure
from podlife.provision.releases import select_for as select_kubernetes
from podlife.provision.releases import select_gates, select_runtime
from podlife.run import options, profile, progress, scenario
from podlife.run import session as run
from podlife.run.registry import declared, scenario_files
from podlife.run.schedule import ClaimScheduling, kinds_of

CLAIM = pytest.StashKey[tuple[Claim, Counter | None]]()
RESULT_KEY = "podlife.result"


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser.getgroup("podlife"))


def pytest_configure(config: pytest.Config) -> None:
    """Bad input gets one clear error, up front, before any cluster work."""
    config.addinivalue_line("markers", "claim(id): the chapter claim a scenario measures")
    stop_on_sigterm()
    run.configure(config)
    config.pluginmanager.register(ResultCollector(config.stash[run.RESULTS]), "podlife-results")
    config.pluginmanager.register(ProfileCollector(config.stash[run.PROFILES]), "podlife-profiles")
    if config.getoption("runs") < 1:
        raise pytest.UsageError("--runs must be at least 1")
    try:  # before anything reads it: which Kubernetes podlife's own cluster runs (its processes too)
        select_kubernetes(config.getoption("kubernetes"), config.getoption("kubeconfig"))
        select_gates(config.getoption("feature_gates"), config.getoption("kubeconfig"))
        select_runtime(config.getoption("runtime"), config.getoption("kubeconfig"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        allow = config.getoption("allow_privileged_subject")
        Subject.load(Path(config.getoption("pod_manifest")), allow_privileged=allow).pod  # noqa: B018
    except SubjectError as exc:
        raise pytest.UsageError(f"--pod-manifest {exc}") from None
    known = {c.id for c in declared(scenario_files(config.args))}
    if known and (unknown := sorted(set(config.getoption("claim")) - known)):
        raise pytest.UsageError(f"unknown claim id(s) {unknown}; known: {', '.join(sorted(known))}")


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


def needs_of(item: pytest.Item) -> Needs:
    if isinstance(item, profile.NodeLossItem):
        return profile.NODE_LOSS_NEEDS
    claim, counter = item.stash.get(CLAIM, (None, None))
    return claim.needs_of(counter) if claim else Needs()


ORDER = {Kind.STOPPER: 0, Kind.OTHER: 1, Kind.SPREADER: 2, Kind.ALONE: 3}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the claims asked for; a scenario that stops a worker first (little else waits for
    that worker yet), those that spread over every worker last (they can use both only once no
    worker is stopped); each group longest first, so the run ends soon after its longest one."""
    wanted = set(config.getoption("claim"))
    known = {i.stash[CLAIM][0].id for i in items if CLAIM in i.stash}
    if unknown := sorted(wanted - known):
        raise pytest.UsageError(f"unknown claim id(s) {unknown}; known: {', '.join(sorted(known))}")
    if wanted:
        keep = [i for i in items if CLAIM in i.stash and i.stash[CLAIM][0].id in wanted]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    profile.with_node_loss(config, items)
    took = progress.durations(run.DURATIONS)
    items.sort(key=lambda i: (ORDER[needs_of(i).kind], -took.get(i.nodeid, progress.UNKNOWN_S)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Side by side (``--dist load``, pytest-xdist's default with ``-n``): podlife.run.schedule,
    which knows which scenarios stop a worker and which spread over every worker."""
    if config.getvalue("dist") != "load":
        return None
    return ClaimScheduling(config, log, lambda ids: kinds_of(config.rootpath, ids))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# ---------------------------------------------------------------- the run
def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest-xdist's controller reaches the cluster now, when its arguments declare a claim
    (its workers are configured before they collect); a run in one process once it has
    collected a claim's test."""
    config = session.config
    measures = config.getoption("profile") or declared(scenario_files(config.args))
    if config.pluginmanager.hasplugin("dsession") and measures:
        run.start(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(
        CLAIM in item.stash or isinstance(item, profile.ProfileItem | profile.NodeLossItem)
        for item in session.items
    ):
        run.start(session.config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    return profile.collect_file(parent.config, file_path, parent)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    if run.PRINTER in node.config.stash:
        node.config.stash[run.PRINTER].total = len(ids)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: each worker gets the cluster the controller holds."""
    node.workerinput["podlife"] = run.to_wire(node.config)


# This process was interrupted (Ctrl-C, SIGTERM): pytest's interrupt hook is told nothing of the
# session, and the session's end must know it (a short wait for teardowns, then the clean-up).
INTERRUPTED: list[bool] = []
INTERRUPTED_JOIN_S = 5  # an interrupted process waits this long for its teardowns in flight


def pytest_keyboard_interrupt() -> None:
    INTERRUPTED.append(True)


def stop_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) ends a run as Ctrl-C does (KeyboardInterrupt): each scenario's ``finally`` runs (a
    stopped node is started again) and the run cleans up after itself."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread: pytest is hosted, leave it be
        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGHUP, interrupt)  # a terminal or an ssh session gone: the same


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every process waits for its scenarios' teardowns; the one that started the run writes
    the reports (and fails the run when a teardown failed).  Last, so pytest-xdist's workers are
    gone by then: an interrupted run then deletes what it made (:func:`run.abandon`)."""
    scenario.join_teardowns(INTERRUPTED_JOIN_S if INTERRUPTED else scenario.TEARDOWN_S)
    if INTERRUPTED:
        run.abandon(session.config)
    run.finish(session)


# ---------------------------------------------------------------- a scenario
@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The cluster under test; failing to reach one errors every scenario (never a skip)."""
    return run.connected(request.config, "run scenarios")


@pytest.fixture
def scn(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Measurement]:
    """The claim's share of the cluster, its namespace and watch, opened before its measurement;
    afterwards the evidence bundle when it failed, and the namespace deleted in the background."""
    claim, counter = request.node.stash[CLAIM]
    opened = scenario.begin(
        request.config, request.node.nodeid, cluster, claim, counter, needs_of(request.node)
    )
    yield opened.measurement
    scenario.end(request.config, request.node, opened)


@pytest.fixture
def measured(request: pytest.FixtureRequest, scn: Measurement) -> Result:
    """The measurement, run as the test is set up: anything but a verdict is an error."""
    result = measure(scn)
    result.test = request.node.nodeid
    result.order = request.session.items.index(request.node)
    request.node.user_properties.append((RESULT_KEY, json.dumps(result.to_json(), default=str)))
    return result


class ProfileCollector:
    """A workload's profile travels with its test's call report, like a claim's result."""

    def __init__(self, profiles: list[dict[str, Any]]) -> None:
        self.profiles = profiles

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.profiles += [json.loads(v) for k, v in report.user_properties if k == profile.PROFILE_KEY]
            self.profiles += [
                {profile.NODE_LOSS: json.loads(v)}
                for k, v in report.user_properties
                if k == profile.NODE_LOSS_KEY
            ]


class ResultCollector:
    """Results travel with each test's set-up report (the one place they are JSON), so they
    reach this process also from pytest-xdist's workers."""

    def __init__(self, results: list[Result]) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self.results += [
                Result.from_json(json.loads(v)) for k, v in report.user_properties if k == RESULT_KEY
            ]
