"""The pytest plugin behind ``scenarios/``: options, the cluster, namespaces, reports.

- The cluster: ``--kubeconfig`` (pytest-kind's option) names any existing cluster;
  without it podlife brings its own kind cluster up, or reuses a healthy one.  A cluster
  that cannot be reached fails every scenario: nothing is ever skipped into a green run.
- Each scenario gets its own namespace, deleted when it passes; when it fails, the
  evidence bundle is written under ``reports/evidence/`` and ``--keep-failed`` keeps
  the namespace for a look.
- At the end: ``reports/claims.json`` and ``reports/claims.md`` (and the GitHub job
  summary); ``reports/junit.xml`` comes from pytest's own ``--junitxml``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from podlife import evidence, report
from podlife.claims import CLAIMS
from podlife.lock import exclusive
from podlife.paths import MANIFESTS, REPO
from podlife.scenario import Cluster, Scenario

RESULTS = pytest.StashKey[list[dict[str, Any]]]()
STARTED = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("podlife")
    group.addoption(
        "--pod-manifest",
        default=str(MANIFESTS / "webpod.yml"),
        help="the chapter's pod manifest to test (default: manifests/webpod.yml)",
    )
    group.addoption(
        "--claim",
        action="append",
        default=[],
        metavar="ID",
        help=f"run only this claim (repeatable); ids: {', '.join(CLAIMS)}",
    )
    group.addoption(
        "--runs", type=int, default=10, help="fresh pods for the start-up order claims (default 10)"
    )
    group.addoption("--keep-failed", action="store_true", help="keep the namespace of a failed scenario")
    group.addoption("--reports", default=str(REPO / "reports"), help="where reports go (default: reports/)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id): the chapter claim a scenario measures")
    config.stash[RESULTS] = []
    config.stash[STARTED] = time.time()
    unknown = [c for c in config.getoption("claim") if c not in CLAIMS]
    if unknown:
        raise pytest.UsageError(f"unknown claim id(s) {unknown}; known: {', '.join(CLAIMS)}")
    if config.getoption("runs") < 1:
        raise pytest.UsageError("--runs must be at least 1")
    manifest = Path(config.getoption("pod_manifest"))
    if not manifest.is_file():
        raise pytest.UsageError(f"--pod-manifest {manifest}: no such file")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("claim"))
    if not wanted:
        return
    keep = [i for i in items if (m := i.get_closest_marker("claim")) and m.args[0] in wanted]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The cluster under test, held for the whole session (podlife.lock: nobody else
    may recreate it or stop its nodes meanwhile); a failure to reach one fails the scenario."""
    # a scenario session starts: evidence bundles of an earlier run would mislead
    shutil.rmtree(Path(request.config.getoption("reports")) / "evidence", ignore_errors=True)
    given = request.config.getoption("kubeconfig")
    kubectl = request.config.getoption("kind_kubectl_bin")
    with ExitStack() as held:
        try:
            if given:
                kubeconfig, image_map, desc = Path(given), {}, f"kubeconfig {given}"
                kubectl = kubectl or shutil.which("kubectl") or "kubectl"
                held.enter_context(exclusive(kubeconfig, "scenarios"))
            else:
                from podlife import cluster as kind

                held.enter_context(exclusive(kind.kubeconfig_path(), "scenarios"))
                kubeconfig = kind.up()
                tools = kind.current_tools()
                image_map, desc = tools.image_map, f"kind {kind.NAME} ({tools.node_image}, 3 nodes)"
                kubectl = kubectl or str(tools.kubectl or shutil.which("kubectl") or "kubectl")
            api = kube_config.new_client_from_config(str(kubeconfig))
            client.VersionApi(api).get_code()  # reachable, or fail here with the reason
        except Exception as exc:
            pytest.fail(f"no cluster to run scenarios on: {exc}", pytrace=False)
        request.config.stash[RESULTS]
        request.config._podlife_cluster = desc  # type: ignore[attr-defined]
        yield Cluster(kubeconfig, api, kubectl, image_map, desc)


@pytest.fixture
def manifest(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.getoption("pod_manifest")).resolve()


@pytest.fixture
def runs(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("runs"))


@pytest.fixture
def scn(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Scenario]:
    marker = request.node.get_closest_marker("claim")
    if not marker:
        raise pytest.UsageError(f"{request.node.nodeid} uses the scenario fixture but has no claim marker")
    scenario = Scenario(cluster, marker.args[0])
    scenario.open()
    yield scenario
    rep = getattr(request.node, "rep_call", None)
    failed = rep is None or rep.failed
    reports = Path(request.config.getoption("reports"))
    if failed:
        dest = reports / "evidence" / request.node.name.replace("/", "_")
        try:
            evidence.collect(cluster.api, scenario.namespace, dest)
        except Exception as exc:  # the bundle is a courtesy; the failure itself is already reported
            print(f"podlife: evidence bundle incomplete: {exc}")
    scenario.close(delete=not (failed and request.config.getoption("keep_failed")))
    for result, counter in scenario.results:
        entry = result.as_dict()
        entry["counter_example"] = counter
        entry["test"] = request.node.nodeid
        request.config.stash[RESULTS].append(entry)


def pytest_sessionfinish(session: pytest.Session) -> None:
    results = session.config.stash.get(RESULTS, [])
    if not results:
        return
    order = list(CLAIMS)
    results.sort(key=lambda r: (r["counter_example"], order.index(r["id"]) if r["id"] in order else 99))
    started = session.config.stash[STARTED]
    meta = {
        "cluster": getattr(session.config, "_podlife_cluster", "?"),
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "ci": bool(os.environ.get("CI")),
    }
    report.write(results, Path(session.config.getoption("reports")), meta)
