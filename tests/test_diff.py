"""``python -m podlife diff A B``: what changed first, the exit status a pipeline can gate on, and
one line for files it cannot compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from podlife import __main__ as cli


def claims(path: Path, verdicts: dict[str, str], where: dict | None = None) -> Path:
    rows = [
        {"id": t.split("::")[-1], "test": t, "verdict": v, "statement": f"said {v}", "duration_s": 1.0}
        | ({"kep": "https://kep.k8s.io/5307"} if "newer" in t else {})
        for t, v in verdicts.items()
    ]
    path.write_text(json.dumps({"meta": {"where": where or {}}, "claims": rows}))
    return path


def test_a_changed_verdict_comes_first_and_fails_the_gate(tmp_path: Path, capsys) -> None:
    where = {
        "kubernetes": "v1.35.4",
        "kubelets": ["v1.35.4"],
        "runtimes": ["containerd://1.6.20"],
        "cgroup": "v1",
        "gates": {"ContainerRestartRules": True},
        "stages": {"ContainerRestartRules": "BETA"},
    }
    a = claims(
        tmp_path / "a.json",
        {"s::own_restart_policy": "not applicable", "s::kept": "confirmed", "s::gone": "refuted"},
    )
    b = claims(
        tmp_path / "b.json",
        {"s::own_restart_policy": "confirmed", "s::kept": "confirmed", "s::new": "refined"},
        where,
    )
    assert cli.main(["diff", str(a), str(b), "--out", str(tmp_path / "out")]) == 1
    assert "1 verdict(s) changed, 2 in one run only, 1 the same" in capsys.readouterr().out
    text = (tmp_path / "out" / "diff.md").read_text()
    assert (
        text.index("## Verdicts that changed (1)")
        < text.index("## In one run only")
        < text.index("## The rest")
    )
    assert "| s::own_restart_policy | own_restart_policy | not applicable | confirmed |" in text
    assert "Measured on Kubernetes v1.35.4 (kubelet v1.35.4); containerd://1.6.20; cgroup v1; 0 alpha" in text
    saved = json.loads((tmp_path / "out" / "diff.json").read_text())
    assert saved["changed"][0]["B"] == "confirmed" and "<pre>" in (tmp_path / "out" / "diff.html").read_text()
    assert cli.main(["diff", str(a), str(a), "--out", str(tmp_path / "same")]) == 0


def test_files_it_cannot_compare_are_one_line(tmp_path: Path, capsys) -> None:
    a = claims(tmp_path / "a.json", {"s::x": "confirmed"})
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"subjects": []}))
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2")
    for other, said in (
        (profile, "one is a claims.json"),
        (junk, "not a podlife report"),
        (tmp_path / "none", "not a podlife"),
    ):
        assert cli.main(["diff", str(a), str(other), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def subject(kept: bool, ready: float, findings: int, workload: str = "Deployment/w") -> dict:
    """One workload of a profile.json, as ``podlife profile`` writes it."""
    return {
        "workload": workload,
        "data": {"v": {"survives": {"pod-recreate": kept}}},
        "container_kill": {"c": {"restarted": ["c"], "unready_s": 1.0}},
        "graceful_stop": {"c": {"killed_at_grace": False, "seconds": 0.4}},
        "pod_recreate": {"replaced": True},
        "node_loss": None,
        "rolling_update": None,
        "start": {"pod_ready_s": ready},
        "departures": [],
        "findings": [{"observation": "rolling update: requests lost"}] * findings,
    }


def test_profiles_observations_that_changed_and_timings_listed_not_judged(tmp_path: Path) -> None:
    from podlife.report import diff

    for name, s in (("a", subject(True, 2.0, 0)), ("b", subject(False, 3.5, 1))):
        (tmp_path / f"{name}.json").write_text(json.dumps({"subjects": [s]}))
    found = diff.diff(tmp_path / "a.json", tmp_path / "b.json")
    assert [c["what"] for c in found.changed] == ["data v after pod-recreate", "findings"]
    assert {"what": "Deployment/w: pod Ready after apply (s)", "A": 2.0, "B": 3.5} in found.timings


def test_the_matrix_has_the_profiles_of_each_run_beside_its_claims(tmp_path: Path, capsys) -> None:
    """Each run's reference profile: a workload's observations by run, the ones that moved first; a
    workload whose test failed is an error cell, and its run fails a strict matrix."""
    runs = [tmp_path / v for v in ("1.34", "1.37")]
    for run, kept in zip(runs, (True, False), strict=True):
        run.mkdir()
        claims(run / "claims.json", {"s::x": "confirmed"})
        junit(run, {"s.py::x": ""})
        subjects = [subject(kept, 2.0, 0), subject(True, 1.0, 0, "Pod/p")]
        (run / "profile.json").write_text(json.dumps({"subjects": subjects[: 2 if run == runs[0] else 1]}))
        failed = "<error/>" if run == runs[1] else ""
        cases = f'<testcase classname="tests.subjects.p.yml" name="Pod/p">{failed}</testcase>'
        (run / "profile-junit.xml").write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")
    files = [str(r / f) for r in runs for f in ("claims.json", "profile.json")]
    assert cli.main(["matrix", *files, "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "0 claim(s) differ between the runs, 1 agree" in out
    assert "9 profile observation(s) differ between the runs, 7 agree" in out
    text = (tmp_path / "m" / "matrix.md").read_text()
    moved = text.index("## Where the runs differ (profiles) (9)")
    assert text.index("`Deployment/w: data v after pod-recreate` | yes | no |") > moved
    assert text.index("`Pod/p: departures` | none | error: no profile: error: (no message) |") > moved
    assert "`Deployment/w: rolling update: no request failed` | null (its profile.json says why)" in text
    assert cli.main(["matrix", *files, "--strict", "--out", str(tmp_path / "m")]) == 1
    assert "1.37: 1 test(s) failed or errored" in capsys.readouterr().err
    assert cli.main(["matrix", files[0], files[1], "--out", str(tmp_path / "m")]) == 2  # one of each


def test_the_matrix_puts_where_runs_differ_first_with_their_reasons(tmp_path: Path, capsys) -> None:
    at = {"kubernetes": "v1.35.4", "runtimes": ["containerd://1.6.20"], "cgroup": "v1"}
    a = claims(tmp_path / "a.json", {"s::newer": "not applicable", "s::same": "confirmed"})
    b = claims(
        tmp_path / "b.json", {"s::newer": "confirmed", "s::same": "confirmed", "s::only_b": "refuted"}, at
    )
    assert cli.main(["matrix", str(a), str(b), "--out", str(tmp_path / "m")]) == 0
    assert "2 claim(s) differ between the runs, 1 agree" in capsys.readouterr().out
    text = (tmp_path / "m" / "matrix.md").read_text()
    assert "| claim | not recorded (not recorded, cgroup not measured) | v1.35.4 (containerd" in text
    assert text.index(
        "`newer` | not applicable: said not applicable | confirmed: said confirmed"
    ) < text.index("## The same")
    assert "said confirmed | https://kep.k8s.io/5307 |" in text  # the difference, explained
    assert (
        "`only_b` | not measured: this run has no such test | refuted: said refuted | not explained" in text
    )
    assert cli.main(["matrix", str(a), "--out", str(tmp_path / "m")]) == 2


def junit(run: Path, cases: dict[str, str]) -> None:
    """pytest's junit.xml beside a run's claims.json: test id -> "" (passed), "error" or "failure"."""
    rows = []
    for test, bad in cases.items():
        module, name = test.split("::")
        inner = f'<{bad} message="timed out after 240 s&#10;and more">trace</{bad}>' if bad else ""
        rows.append(f'<testcase classname="{module[:-3].replace("/", ".")}" name="{name}">{inner}</testcase>')
    run.mkdir(parents=True, exist_ok=True)
    (run / "junit.xml").write_text(f"<testsuites><testsuite>{''.join(rows)}</testsuite></testsuites>")


def test_a_run_that_ended_early_keeps_its_column_and_fails_a_strict_matrix(tmp_path: Path, capsys) -> None:
    ok, bad, gone = (tmp_path / v for v in ("1.34", "1.35", "1.36"))
    for run in (ok, bad):
        junit(run, {"scenarios/t.py::test_a": "", "scenarios/t.py::test_b": "" if run == ok else "error"})
    both = {"scenarios/t.py::test_a": "confirmed", "scenarios/t.py::test_b": "confirmed"}
    a = claims(ok / "claims.json", both)
    b = claims(bad / "claims.json", {"scenarios/t.py::test_a": "confirmed"})
    runs = [str(a), str(b), str(gone / "claims.json")]
    assert cli.main(["matrix", *runs, "--out", str(tmp_path / "m")]) == 0  # a report: written, not a gate
    text = (tmp_path / "m" / "matrix.md").read_text()
    assert "`test_b` | confirmed: said confirmed | error: no verdict: error: timed out after 240 s |" in text
    assert "| not measured: the run wrote no claims.json (it did not finish) |" in text
    assert "## Runs that did not finish cleanly (2)" in text
    capsys.readouterr()
    assert cli.main(["matrix", *runs, "--strict", "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "1 test(s) failed or errored: scenarios/t.py::test_b" in err and "1.36/claims.json: missing" in err
    assert cli.main(["matrix", str(a), str(a), "--strict", "--out", str(tmp_path / "m")]) == 0
    (ok / "junit.xml").unlink()  # a clean run whose outcome cannot be read does not pass a strict matrix
    assert cli.main(["matrix", str(a), str(a), "--strict", "--out", str(tmp_path / "m")]) == 1
    assert cli.main(["matrix", str(gone / "x.json"), str(gone / "y.json"), "--out", str(tmp_path / "m")]) == 2


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`podlife diff A B | head -1`: stdout's reader is gone before the second line (here before the
    first: the pipe's read end is closed up front, so the write fails every time)."""
    a = claims(tmp_path / "a.json", {"s::x": "confirmed"})
    b = claims(tmp_path / "b.json", {"s::x": "refuted"})
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "podlife", "diff", str(a), str(b), "--out", str(tmp_path / "d")],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "d" / "diff.md").exists()  # the report was written before the first line
