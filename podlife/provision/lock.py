"""One user of a cluster at a time: a suite, or a ``cluster up|down``.

Why: ``cluster up`` recreates a cluster it finds unhealthy, and the bare-pod scenario
stops a node on purpose.  A second suite, or a ``cluster up`` run beside a suite, would
see that stopped node and recreate the cluster under the running scenarios.  So every
user of a cluster holds an exclusive lock on it, keyed by the cluster itself: podlife's own
kind cluster by its name, any other by its API server's address (a kind cluster on this machine
reached through a kubeconfig by its kind name too: ``--kubeconfig`` on podlife's own cluster is
the same cluster as ``cluster up``).  The locks live in one fixed
place, ``LOCKS``, readable and writable by every user, so neither ``sudo`` nor another
``PODLIFE_CACHE`` gets a lock of its own for the same cluster.  A second user fails at once,
naming who holds it.  The operating system releases the lock when its holder exits, however it
exits: a killed run leaves nothing stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from filelock import FileLock, Timeout

from podlife.provision.steps import StepFailed

LOCKS = Path("/tmp/podlife-locks")  # one place for every user and cache (sticky, like /tmp)


LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


def key_of(cluster: str | Path) -> str:
    """A cluster's lock key: a name as given (podlife's own, ``kind-<name>``), or for a kubeconfig
    its current context's API server (any copy of it, anywhere, is the same cluster); for a kind
    cluster on this machine (kind names it ``kind-<name>``, served on loopback) that name."""
    if isinstance(cluster, str):
        return cluster
    try:
        cfg = yaml.safe_load(Path(cluster).read_text())
        context = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
        name = str(context["cluster"])
        server = str(next(c["cluster"]["server"] for c in cfg["clusters"] if c["name"] == name))
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration):
        return str(Path(cluster).resolve())
    host = server.split("://", 1)[-1].rsplit(":", 1)[0]
    return name if name.startswith("kind-") and host in LOOPBACK else server


def _files(cluster: str | Path) -> tuple[Path, Path]:
    """The lock file and the note saying who holds it, for this cluster."""
    key = hashlib.sha256(key_of(cluster).encode()).hexdigest()[:16]
    if not LOCKS.is_dir():
        LOCKS.mkdir(parents=True, exist_ok=True)
        LOCKS.chmod(0o1777)
    return LOCKS / f"{key}.lock", LOCKS / f"{key}.holder.json"


def holder(cluster: str | Path) -> dict[str, object] | None:
    """Who holds the cluster now (pid, command, since), or None when nobody does."""
    path, note = _files(cluster)
    probe = FileLock(path, timeout=0, mode=0o666, is_singleton=True)
    if probe.is_locked:  # this process holds it
        return _read(note)
    try:
        with probe:
            return None
    except Timeout:
        return _read(note) or {"pid": "?", "command": "?", "since": "?"}


def _read(note: Path) -> dict[str, object] | None:
    try:
        return json.loads(note.read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def exclusive(cluster: str | Path, purpose: str) -> Iterator[None]:
    """Hold the cluster (:func:`key_of`) for ``purpose``; re-entrant within one process (the
    suite's session lock covers the ``cluster up`` it makes)."""
    path, note = _files(cluster)
    lock = FileLock(path, timeout=0, mode=0o666, is_singleton=True)
    first = not lock.is_locked
    try:
        lock.acquire()
    except Timeout:
        who = _read(note) or {}
        raise StepFailed(
            f"lock the cluster for {purpose}",
            f"the cluster ({key_of(cluster)}) is in use by pid {who.get('pid', '?')} "
            f"({who.get('purpose', '?')}: {who.get('command', '?')}, since {who.get('since', '?')}). "
            "One suite or one `cluster up|down` at a time: wait for it to finish, or stop it.",
        ) from None
    try:
        if first:
            _write_note(note, purpose)
        yield
    finally:
        if first:
            with contextlib.suppress(OSError):
                note.unlink(missing_ok=True)
        lock.release()


def _write_note(note: Path, purpose: str) -> None:
    """Who holds the lock, for the next user's message; a note another user's killed run left in
    the sticky place cannot be replaced, and then the message says '?'."""
    held = {
        "pid": os.getpid(),
        "purpose": purpose,
        "command": " ".join(sys.argv)[:200],
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with contextlib.suppress(OSError):
        note.unlink(missing_ok=True)
        note.write_text(json.dumps(held))
