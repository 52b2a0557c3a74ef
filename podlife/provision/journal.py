"""What the rehearsal changes on this machine's Docker, written down on disk *before* it changes it,
so that a rehearsal killed with ``kill -9`` (no ``finally`` runs) leaves nothing it cannot undo:
the next ``python -m podlife cluster up`` or rehearsal finds the record and puts it back
(:func:`restore_left`).

- ``daemon.json``: its bytes as they were (or that there was none), before the mirror is set;
- the user's own tags the rehearsal moves aside (``postgres:…`` → ``podlife-rehearsal-kept/…``).

The records live in the cache (``~/.cache/podlife/host-journal/``), are written atomically
(a temporary file renamed over), and are removed once what they record is back.  Reloading
``dockerd`` signals only the daemon whose pid file this machine's Docker keeps, never every
process called ``dockerd``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

from podlife.docker import attempt, docker
from podlife.kube import WaitTimeout, poll_until
from podlife.paths import cache_dir
from podlife.provision.engine import DAEMON_JSON
from podlife.provision.steps import StepFailed

DOCKER_PID = Path("/var/run/docker.pid")


def folder() -> Path:
    path = cache_dir() / "host-journal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def daemon_json_saved(daemon_json: Path = DAEMON_JSON) -> None:
    """``daemon.json`` as it is now, recorded before anything edits it (an earlier record, from a
    rehearsal killed meanwhile, is kept: it holds the file as the user had it)."""
    record = folder() / "daemon.json.before"
    if record.exists():
        return
    before = {"existed": daemon_json.exists()}
    if before["existed"]:
        before["bytes"] = daemon_json.read_bytes().hex()
    _write(record, json.dumps(before).encode())


def tags_saved(kept: dict[str, str]) -> None:
    """The user's tags about to be moved aside (tag -> where it is kept meanwhile)."""
    record = folder() / "moved-tags.json"
    earlier = json.loads(record.read_text()) if record.exists() else {}
    _write(record, json.dumps({**earlier, **kept}).encode())


def forget(name: str) -> None:
    (folder() / name).unlink(missing_ok=True)


def restore_left(say: Callable[[str], None], daemon_json: Path = DAEMON_JSON) -> list[str]:
    """What a killed rehearsal left recorded, put back: ``daemon.json`` byte for byte (dockerd
    reloaded) and the user's tags; what was restored, in words."""
    done: list[str] = []
    record = folder() / "daemon.json.before"
    if record.exists():
        before = json.loads(record.read_text())
        original = bytes.fromhex(before["bytes"]) if before["existed"] else None
        try:  # a reload leaves the live mirrors alone unless the file names them: name none, reload, ...
            none = {**json.loads(original or b"{}"), "registry-mirrors": []}
            _write(daemon_json, (json.dumps(none) + "\n").encode())
            reload_dockerd()
            dropped(daemon_json)
        finally:  # ... then the file as it was, byte for byte, whatever happened, and reloaded again
            if original is not None:
                _write(daemon_json, original)
            else:
                daemon_json.unlink(missing_ok=True)
            record.unlink()  # the file is back: a reload that fails is said once, not at every run
        done.append(f"{daemon_json} as it was before a rehearsal that did not finish, its mirror dropped")
        reload_dockerd()
    tags = folder() / "moved-tags.json"
    if tags.exists():
        for tag, aside in json.loads(tags.read_text()).items():
            if attempt("image", "inspect", aside).returncode == 0:
                docker("tag", aside, tag)
                docker("rmi", aside)
                done.append(f"your tag {tag}")
        tags.unlink()
    for what in done:
        say(f"put back: {what}")
    return done


def dropped(daemon_json: Path, timeout_s: float = 30) -> None:
    """Wait (bounded) until the reloaded daemon has no registry mirror left (``docker info``); one
    that keeps it is said by the caller's next step (its ``docker info`` still names it)."""

    def none_left() -> bool:
        answer = attempt("info", "--format", "{{json .RegistryConfig.Mirrors}}")
        return answer.returncode != 0 or json.loads(answer.stdout or "null") in (None, [])

    with contextlib.suppress(WaitTimeout):
        poll_until(f"dockerd to drop the mirror ({daemon_json})", none_left, timeout=timeout_s)


def reload_dockerd(pid_file: Path = DOCKER_PID) -> None:
    """SIGHUP to the dockerd this machine's Docker runs (its pid file), and to nothing else."""
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError) as exc:
        raise StepFailed("reload dockerd", f"no dockerd found through {pid_file} ({exc})") from exc
    if comm != "dockerd":
        raise StepFailed("reload dockerd", f"{pid_file} names pid {pid}, which is {comm}, not dockerd")
    os.kill(pid, signal.SIGHUP)
