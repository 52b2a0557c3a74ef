"""The runtime wrapper and the workflow files, checked with real tools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from podlife.paths import REPO, cache_dir

WRAPPER = REPO / "airgap" / "runc-capfilter"


def bounding_caps() -> set[int]:
    mask = int(
        next(
            line.split()[1]
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("CapBnd:")
        ),
        16,
    )
    return {bit for bit in range(64) if mask >> bit & 1}


def run_wrapper(args: list[str], tmp_path: Path) -> list[str]:
    """Run the wrapper with `echo` standing in for runc: we see the arguments it passes on."""
    env = {**os.environ, "PODLIFE_REAL_RUNC": shutil.which("echo") or "/bin/echo"}
    out = subprocess.run(
        [sys.executable, str(WRAPPER), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    return out.stdout.split()


def test_wrapper_keeps_only_capabilities_the_host_can_grant(tmp_path: Path) -> None:
    names = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_BPF", "CAP_NEW_FROM_THE_FUTURE"]
    bits = {"CAP_CHOWN": 0, "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24, "CAP_BPF": 39}
    (tmp_path / "config.json").write_text(
        json.dumps({"process": {"capabilities": {"bounding": names, "effective": names}}})
    )
    passed = run_wrapper(["--root", "/x", "create", "--bundle", str(tmp_path), "id1"], tmp_path)
    assert passed == ["--root", "/x", "create", "--bundle", str(tmp_path), "id1"]
    kept = json.loads((tmp_path / "config.json").read_text())["process"]["capabilities"]
    grantable = {n for n, b in bits.items() if b in bounding_caps()}
    expected = [n for n in names if n in grantable or n not in bits]  # unknown names are runc's business
    assert kept["bounding"] == expected and kept["effective"] == expected


def test_wrapper_filters_exec_process_files(tmp_path: Path) -> None:
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"capabilities": {"permitted": ["CAP_SYS_RESOURCE", "CAP_KILL"]}}))
    run_wrapper(["exec", "--process", str(process), "id1"], tmp_path)
    permitted = json.loads(process.read_text())["capabilities"]["permitted"]
    assert "CAP_KILL" in permitted
    assert ("CAP_SYS_RESOURCE" in permitted) == (24 in bounding_caps())


def actionlint() -> Path:
    """actionlint, built from its Go module once and kept in podlife's cache."""
    out = cache_dir() / "bin" / "actionlint-v1.7.12"
    if not out.exists():
        work = cache_dir() / "bin" / "actionlint-work"
        work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(work), "CGO_ENABLED": "0"}
        subprocess.run(
            ["go", "install", "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"],
            env=env,
            check=True,
            capture_output=True,
        )
        (work / "actionlint").rename(out)
    return out


def test_github_workflows_pass_actionlint() -> None:
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert workflows, "no workflow to check"
    result = subprocess.run(
        [str(actionlint()), *map(str, workflows)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
