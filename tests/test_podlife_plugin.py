"""The scenario plugin's promises: a declared claim becomes its tests; a verdict decides pass or
fail, anything else is an error with no verdict; bad input is refused clearly, up front; no
cluster means errors, never a skip."""

from __future__ import annotations

import json

import pytest

from podlife.paths import MANIFESTS

pytest_plugins = ["pytester"]

SCENARIO = """
import os
from pathlib import Path
from podlife.claims import LEARNINGS, Claim, Counter
from podlife.errors import SetupError

HERE = Path(__file__).parent
TOY = Claim("toy-claim", LEARNINGS, "a toy sentence", counters=(Counter(HERE / "counter.yml", "why not"),))


@TOY.measure
def toy(m):
    mode = os.environ["TOY_" + ("COUNTER" if m.counter else "CLAIM")]
    if mode == "setup":
        raise SetupError("the toy image is missing")
    m.evidence(mode=mode)
    m.check(mode == "holds", "the toy claim does not hold")
"""

FAKE_CLUSTER = """
pytest_plugins = ["podlife.run.plugin"]

from pathlib import Path
import pytest


@pytest.fixture
def scn(request):
    from podlife.claims import Placement
    from podlife.kube.api.cluster import Cluster
    from podlife.kube.namespace import Namespace
    from podlife.measure import Measurement, Options
    from podlife.run.plugin import CLAIM

    claim, counter = request.node.stash[CLAIM]
    cluster = Cluster(Path("kubeconfig"), None, "kubectl", {}, "python:3", "a fake cluster")
    options = Options(Path(request.config.getoption("pod_manifest")), 1)
    yield Measurement(Namespace(cluster, claim.id), claim, counter, options, Placement())
"""


CLOSED = (
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
    "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
    "current-context: x\n"
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A toy scenario module; the cluster is a kubeconfig nobody answers (so no run here ever
    builds or starts one) and the toy's scenario fixture is a fake."""
    pytester.makeconftest(FAKE_CLUSTER)
    pytester.makepyfile(test_toy=SCENARIO)
    (pytester.path / "counter.yml").write_text((MANIFESTS / "webpod.yml").read_text())
    (pytester.path / "kubeconfig").write_text(CLOSED)
    return pytester


@pytest.mark.parametrize(
    ("claim", "counter", "outcomes", "verdicts"),
    [
        ("holds", "fails", {"passed": 2}, ["confirmed", "refuted"]),
        ("fails", "fails", {"failed": 1, "passed": 1}, ["refuted", "refuted"]),
        ("holds", "holds", {"failed": 1, "passed": 1}, ["confirmed", "confirmed"]),
        ("setup", "fails", {"errors": 1, "passed": 1}, ["refuted"]),
    ],
)
def test_a_verdict_decides_the_outcome_and_a_setup_error_gives_none(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    claim: str,
    counter: str,
    outcomes: dict[str, int],
    verdicts: list[str],
) -> None:
    monkeypatch.setenv("TOY_CLAIM", claim)
    monkeypatch.setenv("TOY_COUNTER", counter)
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--reports", "out", "-rA", "--kubeconfig", "kubeconfig"
    )
    assert result.parseoutcomes() == outcomes
    result.stdout.fnmatch_lines(["*test_toy_claim*", "*test_toy_claim_counter_example*"])
    saved = json.loads((suite.path / "out" / "claims.json").read_text())["claims"]
    assert [c["verdict"] for c in saved] == verdicts
    if claim == "setup":
        result.stdout.fnmatch_lines(["*ERROR*test_toy_claim*SetupError*"])


def test_unknown_claim_id_is_a_usage_error(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("--claim", "no-such-claim", "--kubeconfig", "kubeconfig")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown claim id*no-such-claim*toy-claim*"])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "*--pod-manifest nowhere.yml: cannot read it*"),
        ("kind: Pod\n  bad: [", "*--pod-manifest nowhere.yml: not YAML at line 2*"),
        (
            "kind: Pod\nmetadata: {name: p}\n"
            "spec: {containers: [{name: w, image: w, ports: [{containerPort: 1}]}]}\n",
            "*--pod-manifest nowhere.yml: no database container*",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\n"
            "spec: {hostPID: true, containers: [{name: d, image: postgres}]}\n",
            "*--pod-manifest nowhere.yml: Pod/p asks for hostPID; * only with --allow-privileged-subject",
        ),
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\n",
            "*--pod-manifest nowhere.yml: podlife does not apply a ClusterRoleBinding*",
        ),
    ],
)
def test_a_manifest_that_cannot_serve_is_a_usage_error(
    suite: pytest.Pytester, text: str | None, says: str
) -> None:
    if text is not None:
        (suite.path / "nowhere.yml").write_text(text)
    result = suite.runpytest_subprocess("--pod-manifest", "nowhere.yml", "--kubeconfig", "kubeconfig")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([says])
    assert "Traceback" not in result.stderr.str()


def test_unreachable_cluster_errors_never_skips(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["podlife.run.plugin"]')
    pytester.makepyfile(test_toy=SCENARIO)
    (pytester.path / "counter.yml").write_text((MANIFESTS / "webpod.yml").read_text())
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(CLOSED)
    result = pytester.runpytest_subprocess("--kubeconfig", str(kubeconfig), "--reports", "out")
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) == 2
    assert "skipped" not in outcomes and "passed" not in outcomes and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*no cluster to run scenarios on*"])
    assert not (pytester.path / "out" / "claims.json").exists()


def test_a_run_without_claims_reaches_no_cluster(pytester: pytest.Pytester) -> None:
    """``pytest tests``: nothing in it is a claim, so no cluster is brought up or touched."""
    pytester.makeconftest('pytest_plugins = ["podlife.run.plugin"]')
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(CLOSED)
    result = pytester.runpytest_subprocess("--kubeconfig", str(kubeconfig), "--reports", "out")
    assert result.parseoutcomes() == {"passed": 1}
    assert not (pytester.path / "out").exists()  # the run's reports directory was never begun


def test_a_profile_run_loses_a_node_once_for_all_workloads_and_errors_without_a_cluster(
    pytester: pytest.Pytester,
) -> None:
    """Two workloads, one node-loss test (first: it takes longest); an unreachable cluster errors
    all three, and ``--no-node-loss`` leaves that test out."""
    pytester.makeconftest('pytest_plugins = ["podlife.run.plugin"]')
    for name in ("a", "b"):
        (pytester.path / f"{name}.yml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"
            "spec: {containers: [{name: c, image: busybox}]}\n"
        )
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(CLOSED)
    args = [
        "--profile",
        "a.yml",
        "b.yml",
        "--kubeconfig",
        str(kubeconfig),
        "--reports",
        "out",
        "-p",
        "no:randomly",
    ]
    result = pytester.runpytest_subprocess(*args, "-v")
    assert result.parseoutcomes().get("failed", 0) == 3  # no cluster: a failure, never a skip
    lines = [line for line in result.stdout.lines if line.endswith("%]")]
    assert len(lines) == 3 and lines[0].startswith("node-loss FAILED")
    result = pytester.runpytest_subprocess(*args, "--no-node-loss")
    assert result.parseoutcomes().get("failed", 0) == 2


def test_a_claim_whose_feature_the_cluster_lacks_is_not_applicable_naming_why() -> None:
    """Too old a Kubernetes, a gate off, a gate the version does not have: not applicable, with the
    reason and where, never refuted; the measurement is not even run.  Where the gates cannot be
    read the claim is measured (its measurement can still say the feature is not there)."""
    from pathlib import Path
    from types import SimpleNamespace as NS

    from podlife.claims import Claim, Verdict
    from podlife.measure import Measurement, measure

    ran: list[str] = []

    def case(version: tuple[int, int], where: dict, **declared: object) -> tuple[Verdict, str]:
        claim = Claim("x", "s", "a sentence", (), **declared)  # type: ignore[arg-type]
        claim.measure(lambda m: ran.append(claim.id))
        m = Measurement.__new__(Measurement)
        m.claim, m.counter, m.facts, m.failures, m.refined, m.statement, m.picture = (
            claim,
            None,
            {},
            [],
            False,
            "",
            None,
        )
        m.kube = NS(server_version=lambda: version, cluster=NS(where=where), timeline=lambda: "")  # type: ignore[assignment]
        m.subject = NS(path=Path("manifests/webpod.yml"))  # type: ignore[assignment]
        result = measure(m)
        return result.verdict, result.statement

    gates = {"kubernetes": "v1.34.0", "gates": {"Off": False, "On": True}, "stages": {"Off": "ALPHA"}}
    assert case((1, 31), {}, since=(1, 33)) == (
        Verdict.NOT_APPLICABLE,
        "Kubernetes 1.31: the feature needs 1.33 or later",
    )
    assert case((1, 34), gates, gate="Off") == (
        Verdict.NOT_APPLICABLE,
        "Kubernetes v1.34.0: feature gate Off (alpha) is off",
    )
    assert case((1, 34), gates, gate="Absent") == (
        Verdict.NOT_APPLICABLE,
        "Kubernetes v1.34.0 has no feature gate Absent",
    )
    assert not ran
    assert case((1, 34), gates, gate="On")[0] == Verdict.CONFIRMED and ran == ["x"]
    assert case((1, 34), {"gates": None}, gate="Off")[0] == Verdict.CONFIRMED and ran == ["x", "x"]


def test_sigterm_ends_a_run_as_ctrl_c_does(pytester: pytest.Pytester) -> None:
    """SIGTERM (a CI runner cancelling a job) is a KeyboardInterrupt: ``finally`` blocks run (a node a
    scenario stopped is started again) and the run cleans up after itself."""
    import signal
    import subprocess
    import sys

    pytester.makeconftest('pytest_plugins = ["podlife.run.plugin"]')
    pytester.makepyfile(
        test_idle=(
            "import signal\n"
            "def test_idle():\n"
            "    try:\n"
            "        print('idle', flush=True)\n"
            "        signal.pause()\n"
            "    finally:\n"
            "        print('finally ran', flush=True)\n"
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "test_idle.py"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "idle" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=30)[0]
    assert "finally ran" in out and "KeyboardInterrupt" in out and proc.returncode == 2


def test_every_manifest_a_run_measures_loads_and_the_rbac_role_is_not_one() -> None:
    from types import SimpleNamespace

    from podlife.run.session import subjects

    config = SimpleNamespace(getoption=lambda name: str(MANIFESTS / "webpod.yml"))
    paths = {s.path for s in subjects(config)}  # type: ignore[arg-type]
    assert MANIFESTS / "webpod.yml" in paths and MANIFESTS / "separated" in paths
    assert not [p for p in paths if "rbac" in p.parts]


@pytest.mark.parametrize("keep", [False, True])
def test_a_failed_teardown_fails_the_run_and_its_namespaces_are_deleted_unless_kept(
    keep: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    from podlife.kube.api.cluster import ClusterInfo
    from podlife.run import session

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(
        session.leftovers, "abandon", lambda kc, run, timeout: asked.append((kc, run)) or ["ns"]
    )
    info = ClusterInfo("kc", "kubectl", {}, "probe", "a cluster", run="r1")
    config = SimpleNamespace(stash={session.REACHED: info}, getoption=lambda name: keep)
    stuck = [{"test": "scenarios/x.py::test_a", "error": "KeyError: 'X'"}]
    session.collect_stuck(config, stuck)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "the teardown of scenarios/x.py::test_a failed: KeyError: 'X'" in err
    assert asked == ([] if keep else [("kc", "r1")])
    assert ("1 namespace(s) left by those teardowns deleted" in err) is not keep


def test_at_the_interrupt_the_controller_starts_its_clean_up_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from podlife.kube.api.cluster import ClusterInfo
    from podlife.run import session

    done: list[tuple[str, object]] = []
    monkeypatch.setattr(session.agent, "restore", lambda api, run: done.append(("agents", run)) or [])
    monkeypatch.setattr(session, "api_client", lambda kubeconfig: kubeconfig)
    monkeypatch.setattr(
        session.leftovers, "abandon", lambda kc, run, timeout: done.append(("namespaces", timeout)) or []
    )
    info = ClusterInfo("kc", "kubectl", {}, "probe", "a cluster", run="r1")
    worker = session.Interrupt(SimpleNamespace(stash={session.REACHED: info}, workerinput={}))  # type: ignore[arg-type]
    worker.pytest_keyboard_interrupt()
    assert worker.thread is None and done == []  # a pytest-xdist worker leaves it to the controller
    controller = session.Interrupt(SimpleNamespace(stash={session.REACHED: info}))  # type: ignore[arg-type]
    controller.pytest_keyboard_interrupt()
    assert controller.thread
    controller.thread.join(5)
    assert done == [("agents", "r1"), ("namespaces", None)]  # deleted, not awaited: abandon() awaits
