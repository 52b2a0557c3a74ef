"""The host's Docker is left as found: podlife configures and starts only a Docker it installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podlife.paths import AIRGAP
from podlife.provision import engine
from podlife.provision.steps import StepFailed


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root Debian host whose Docker does not answer; its files under ``tmp_path``."""
    monkeypatch.setattr(engine, "DAEMON_JSON", tmp_path / "etc/docker/daemon.json")
    monkeypatch.setattr(engine, "OWNED", tmp_path / "lib/podlife/installed-docker.json")
    monkeypatch.setattr(engine, "WRAPPER_DEST", tmp_path / "lib/podlife/runc-capfilter")
    monkeypatch.setattr(engine, "docker_answers", lambda: False)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(engine, "start_dockerd", lambda: None)
    return tmp_path


def test_a_docker_podlife_did_not_install_is_left_as_found(host: Path) -> None:
    engine.DAEMON_JSON.parent.mkdir(parents=True)
    before = (
        b'{"runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}},\n'
        b' "default-runtime": "nvidia"}'
    )
    engine.DAEMON_JSON.write_bytes(before)
    with pytest.raises(StepFailed, match="was not installed by podlife: podlife leaves it as found"):
        engine.ensure_docker()
    assert engine.DAEMON_JSON.read_bytes() == before and not engine.OWNED.exists()


def test_podlifes_own_docker_gets_its_runtime_and_a_backup_of_what_was_there(host: Path) -> None:
    engine.DAEMON_JSON.parent.mkdir(parents=True)
    before = b'{"log-level": "warn"}'
    engine.DAEMON_JSON.write_bytes(before)
    engine.record({"installed": ["docker.io"]})
    engine.ensure_docker()
    config = json.loads(engine.DAEMON_JSON.read_text())
    assert config["default-runtime"] == engine.RUNTIME_NAME and config["log-level"] == "warn"
    assert engine.DAEMON_JSON.with_name("daemon.json.before-podlife").read_bytes() == before
    assert json.loads(engine.OWNED.read_text())["daemon_json_backup"].endswith("daemon.json.before-podlife")
    engine.ensure_docker()  # again: the backup stays the file as it was before podlife
    assert engine.DAEMON_JSON.with_name("daemon.json.before-podlife").read_bytes() == before


def test_a_host_configured_by_podlife_before_the_record_existed_is_podlifes(host: Path) -> None:
    engine.DAEMON_JSON.parent.mkdir(parents=True)
    engine.DAEMON_JSON.write_text(json.dumps({"default-runtime": engine.RUNTIME_NAME}))
    assert engine.podlifes_docker()
    engine.DAEMON_JSON.write_text("not json")
    assert not engine.podlifes_docker()


def test_the_wrapper_finds_runc_on_path_and_not_itself(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runc").write_text("#!/bin/sh\n")
    (bin_dir / "runc").chmod(0o755)
    code = f"import runpy; print(runpy.run_path({str(AIRGAP / 'runc-capfilter')!r}, run_name='x')['RUNC'])"
    env = {"PATH": f"{bin_dir}"}
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == str(bin_dir / "runc")
    env["PODLIFE_REAL_RUNC"] = "/opt/runc"
    chosen = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "/opt/runc"
