"""One user of a cluster at a time: a suite, or a ``cluster up|down``.

Why: ``cluster up`` recreates a cluster it finds unhealthy, and the bare-pod scenario
stops a node on purpose.  A second suite, or a ``cluster up`` run beside a suite, would
see that stopped node and recreate the cluster under the running scenarios.  So every
user of a cluster holds an exclusive lock on it, keyed by the cluster's kubeconfig path;
a second user fails at once, naming who holds it.  The operating system releases the
lock when its holder exits, however it exits: a killed run leaves nothing stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from podlife.paths import cache_dir
from podlife.provision.steps import StepFailed


def _files(kubeconfig: Path) -> tuple[Path, Path]:
    """The lock file and the note saying who holds it, for this cluster."""
    key = hashlib.sha256(str(Path(kubeconfig).resolve()).encode()).hexdigest()[:16]
    base = cache_dir() / "locks"
    base.mkdir(parents=True, exist_ok=True)
    return base / f"{key}.lock", base / f"{key}.holder.json"


def holder(kubeconfig: Path) -> dict[str, object] | None:
    """Who holds the cluster now (pid, command, since), or None when nobody does."""
    path, note = _files(kubeconfig)
    probe = FileLock(path, timeout=0, is_singleton=True)
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
def exclusive(kubeconfig: Path, purpose: str) -> Iterator[None]:
    """Hold the cluster for ``purpose``; re-entrant within one process (the suite's
    session lock covers the ``cluster up`` it makes)."""
    path, note = _files(kubeconfig)
    lock = FileLock(path, timeout=0, is_singleton=True)
    first = not lock.is_locked
    try:
        lock.acquire()
    except Timeout:
        who = _read(note) or {}
        raise StepFailed(
            f"lock the cluster for {purpose}",
            f"the cluster ({kubeconfig}) is in use by pid {who.get('pid', '?')} "
            f"({who.get('purpose', '?')}: {who.get('command', '?')}, since {who.get('since', '?')}). "
            "One suite or one `cluster up|down` at a time: wait for it to finish, or stop it.",
        ) from None
    try:
        if first:
            note.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "purpose": purpose,
                        "command": " ".join(sys.argv)[:200],
                        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    }
                )
            )
        yield
    finally:
        if first:
            note.unlink(missing_ok=True)
        lock.release()
