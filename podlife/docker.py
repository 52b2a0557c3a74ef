"""This machine's Docker, through its CLI: the one module that asks it things.

Short questions and actions (inspect, tag, exec on a kind node, cp) go through :func:`docker` (its
output, or :class:`DockerFailed` naming the command and what Docker said) and :func:`attempt`
(whatever it exits with).  Long operations whose output belongs in a log (pull, build, push) run
as provisioning steps (``podlife.provision.steps.run``) with :func:`argv`.
"""

from __future__ import annotations

import subprocess

from podlife.errors import SetupError


class DockerFailed(SetupError):
    """A Docker command failed: the message names it and what Docker said."""


def argv(*args: str) -> list[str]:
    return ["docker", *args]


def attempt(*args: str, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``docker ARGS`` whatever it exits with; a missing ``docker`` binary is exit 127."""
    try:
        return subprocess.run(
            argv(*args), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        return subprocess.CompletedProcess(argv(*args), 127, "", "no docker command on this machine")


def docker(*args: str, timeout: float = 120, stdin: str | None = None) -> str:
    """The standard output of ``docker ARGS``; :class:`DockerFailed` when it fails."""
    try:
        proc = attempt(*args, timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired as exc:
        raise DockerFailed(f"docker {' '.join(args[:3])}: no answer after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        raise DockerFailed(f"docker {' '.join(args[:3])} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def succeeds(*args: str, timeout: float = 60) -> bool:
    """``docker ARGS`` exits 0 (no answer in time, or no docker, is a no)."""
    try:
        return attempt(*args, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def has_image(ref: str) -> bool:
    return succeeds("image", "inspect", ref)


def copy_out(container: str, path: str) -> bytes | None:
    """``docker cp CONTAINER:PATH -`` (a tar stream), or None when it cannot be read."""
    try:
        proc = subprocess.run(
            argv("cp", f"{container}:{path}", "-"), capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None
