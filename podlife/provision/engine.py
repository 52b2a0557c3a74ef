"""The container engine: use a running Docker, or start Debian's docker.io ourselves.

Where Docker already answers (a laptop, GitHub Actions) nothing is touched.  Where it
does not and we are root on Debian, docker.io is installed and dockerd started with
``airgap/runc-capfilter`` as its default runtime: kind runs every node privileged, and
runc cannot grant capabilities missing from the host's bounding set.

The host's Docker is left as found: podlife configures and starts only a Docker it installed
itself (``OWNED`` records that, and what it changed, for undoing: README, "What podlife changes
on a host").  A Docker that was there before and does not answer is the user's to start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from podlife.docker import succeeds
from podlife.kube import WaitTimeout, poll_until
from podlife.paths import AIRGAP
from podlife.provision.steps import StepFailed, log_path, output, run, say, step

WRAPPER_DEST = Path("/usr/local/lib/podlife/runc-capfilter")
DAEMON_JSON = Path("/etc/docker/daemon.json")
RUNTIME_NAME = "podlife-runc"
OWNED = Path("/usr/local/lib/podlife/installed-docker.json")  # podlife installed this host's Docker


def docker_answers() -> bool:
    return succeeds("info", timeout=20)


def ensure_docker() -> None:
    """Make sure a Docker daemon answers and can run privileged containers."""
    if docker_answers():
        return
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise StepFailed(
            "container engine",
            "no Docker daemon answers, and podlife can only start one itself as root on Debian. "
            "Start Docker (or set DOCKER_HOST) and run again.",
        )
    if not shutil.which("dockerd"):
        install_packages(["docker.io"])
        record({"installed": ["docker.io"], "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    elif not podlifes_docker():
        raise StepFailed(
            "container engine",
            f"no Docker daemon answers, and this host's Docker ({shutil.which('dockerd')}) was not installed "
            "by podlife: podlife leaves it as found. Start it yourself (e.g. `systemctl start docker`, "
            "or set DOCKER_HOST) and run again.",
        )
    install_runtime_wrapper()
    start_dockerd()


def podlifes_docker() -> bool:
    """podlife installed this host's Docker: its record says so, or (hosts set up before the record
    existed) the daemon's configuration is podlife's own, naming its runtime as the default."""
    if OWNED.exists():
        return True
    try:
        return json.loads(DAEMON_JSON.read_text()).get("default-runtime") == RUNTIME_NAME
    except (OSError, ValueError, AttributeError):
        return False


def record(change: dict[str, object]) -> None:
    """Add to the record of what podlife changed on this host."""
    OWNED.parent.mkdir(parents=True, exist_ok=True)
    try:
        known = json.loads(OWNED.read_text())
    except (OSError, ValueError):
        known = {}
    OWNED.write_text(json.dumps({**known, **change}, indent=2) + "\n")


def install_packages(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get update", ["apt-get", "update"], log="apt", env=env)
    run(f"apt-get install {' '.join(packages)}", ["apt-get", "install", "-y", *packages], log="apt", env=env)


def install_runtime_wrapper() -> None:
    """Copy the wrapper to a stable path and register it as dockerd's default runtime."""
    WRAPPER_DEST.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(AIRGAP / "runc-capfilter", WRAPPER_DEST)
    WRAPPER_DEST.chmod(0o755)
    config = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.exists() else {}
    if config.get("default-runtime") != RUNTIME_NAME:  # not yet podlife's: keep the file as it was
        backup = DAEMON_JSON.with_name("daemon.json.before-podlife")
        if DAEMON_JSON.exists() and not backup.exists():
            shutil.copy2(DAEMON_JSON, backup)
        record(
            {"daemon_json": str(DAEMON_JSON), "daemon_json_backup": str(backup) if backup.exists() else None}
        )
    config.setdefault("runtimes", {})[RUNTIME_NAME] = {"path": str(WRAPPER_DEST)}
    config["default-runtime"] = RUNTIME_NAME
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(config, indent=2) + "\n")
    Path("/lib/modules").mkdir(parents=True, exist_ok=True)  # kind bind-mounts it into every node


def start_dockerd() -> None:
    log = log_path("dockerd")
    with step("start dockerd", log):
        out = log.open("ab")
        subprocess.Popen(
            ["dockerd"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            poll_until("dockerd to answer `docker info`", docker_answers, timeout=90)
        except WaitTimeout as exc:
            raise StepFailed("start dockerd", str(exc), log) from exc
    say(f"dockerd {output(['docker', 'version', '--format', '{{.Server.Version}}']).strip()} is up")
