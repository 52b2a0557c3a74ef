"""The container engine: use a running Docker, or start Debian's docker.io ourselves.

Where Docker already answers (a laptop, GitHub Actions) nothing is touched.  Where it
does not and we are root on Debian, docker.io is installed and dockerd started with
``airgap/runc-capfilter`` as its default runtime: kind runs every node privileged, and
runc cannot grant capabilities missing from the host's bounding set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from podlife.kube.wait import WaitTimeout, poll_until
from podlife.paths import AIRGAP
from podlife.provision.steps import StepFailed, log_path, output, run, say, step

WRAPPER_DEST = Path("/usr/local/lib/podlife/runc-capfilter")
DAEMON_JSON = Path("/etc/docker/daemon.json")
RUNTIME_NAME = "podlife-runc"


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


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
    install_runtime_wrapper()
    start_dockerd()


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
