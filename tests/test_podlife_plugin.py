"""The scenario plugin's promises: bad input is refused clearly; no cluster means failure."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SCENARIO = """
import pytest

@pytest.mark.claim("ready-2-of-2")
def test_needs_a_cluster(scn):
    pass
"""


def test_unknown_claim_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["podlife.plugin"]')
    pytester.makepyfile(test_s=SCENARIO)
    result = pytester.runpytest_subprocess("--claim", "no-such-claim")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown claim id*no-such-claim*ready-2-of-2*"])


def test_missing_manifest_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["podlife.plugin"]')
    pytester.makepyfile(test_s=SCENARIO)
    result = pytester.runpytest_subprocess("--pod-manifest", "nowhere.yml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nowhere.yml*no such file*"])


def test_unreachable_cluster_fails_never_skips(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["podlife.plugin"]')
    pytester.makepyfile(test_s=SCENARIO)
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    result = pytester.runpytest_subprocess("--kubeconfig", str(kubeconfig))
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) + outcomes.get("failed", 0) == 1
    assert "skipped" not in outcomes and "passed" not in outcomes
    result.stdout.fnmatch_lines(["*no cluster to run scenarios on*"])
