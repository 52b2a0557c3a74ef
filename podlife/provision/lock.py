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

A place every user may write to must not be turned against the one who locks (root, often): the
folder is used only when it is a real folder (not a symlink) owned by root or by this user, and
sticky when others may write to it; a lock file or note that is a symlink is refused; a note is
written with ``O_NOFOLLOW | O_EXCL`` and read with ``O_NOFOLLOW``.  Each refusal is one line.
A cluster reached through a kubeconfig is keyed by the uid of its ``kube-system`` namespace (the
same cluster whatever the server's address is written as), or, where that cannot be read, by its
API server's address, normalised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
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
    """A cluster's lock key: a name as given (podlife's own, ``kind-<name>``); for a kubeconfig, a
    kind cluster on this machine (kind names it ``kind-<name>``, served on loopback) by that name,
    any other by the uid of its ``kube-system`` namespace, else its API server's address."""
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
    if name.startswith("kind-") and host in LOOPBACK:
        return name
    uid = kube_system_uid(Path(cluster))
    return f"kube-system uid {uid}" if uid else normalised(server)


def kube_system_uid(kubeconfig: Path) -> str | None:
    """The uid of the cluster's ``kube-system`` namespace (one per cluster, whatever it is called or
    reached as), or None when it cannot be read within a few seconds."""
    from kubernetes import client

    from podlife.kube import api_client

    try:
        core = client.CoreV1Api(api_client(kubeconfig))
        return str(core.read_namespace("kube-system", _request_timeout=10).metadata.uid)
    except Exception:  # unreachable, refused (RBAC), not a cluster: the address then
        return None


def normalised(server: str) -> str:
    """``https://API.example:443/`` and ``https://api.example`` are one server."""
    scheme, _, rest = server.strip().partition("://")
    host = rest.rstrip("/").lower()
    default = {"https": ":443", "http": ":80"}.get(scheme.lower(), "")
    return f"{scheme.lower()}://{host.removesuffix(default)}"


def lock_dir() -> Path:
    """``LOCKS``, made sticky and open to every user when missing; refused, in one line, when it
    is a symlink, not a folder, owned by another user than root or this one, or writable by others
    without the sticky bit (anyone could then replace what is in it)."""
    with contextlib.suppress(FileExistsError):
        LOCKS.mkdir(parents=True)
        LOCKS.chmod(0o1777)
    info = os.lstat(LOCKS)
    if stat.S_ISLNK(info.st_mode):
        why = "is a symlink"
    elif not stat.S_ISDIR(info.st_mode):
        why = "is not a folder"
    elif info.st_uid not in (0, os.geteuid()):
        why = f"belongs to uid {info.st_uid}"
    elif info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX:
        why = "is writable by others without the sticky bit"
    else:
        return LOCKS
    raise StepFailed(
        "lock the cluster", f"{LOCKS} {why}: podlife does not lock there (remove it if it is not yours)"
    )


def _files(key: str) -> tuple[Path, Path]:
    """The lock file and the note saying who holds it, for this key (neither a symlink)."""
    key = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = lock_dir()
    files = folder / f"{key}.lock", folder / f"{key}.holder.json"
    for path in files:
        if path.is_symlink():
            raise StepFailed(
                "lock the cluster", f"{path} is a symlink: podlife neither locks nor writes through it"
            )
    return files


def holder(cluster: str | Path) -> dict[str, object] | None:
    """Who holds the cluster now (pid, command, since), or None when nobody does."""
    path, note = _files(key_of(cluster))
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
        fd = os.open(note, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as f:
            return json.loads(f.read(4096))
    except (OSError, ValueError):
        return None


@contextmanager
def exclusive(cluster: str | Path, purpose: str) -> Iterator[None]:
    """Hold the cluster (:func:`key_of`) for ``purpose``; re-entrant within one process (the
    suite's session lock covers the ``cluster up`` it makes)."""
    key = key_of(cluster)
    path, note = _files(key)
    lock = FileLock(path, timeout=0, mode=0o666, is_singleton=True)
    first = not lock.is_locked
    try:
        lock.acquire()
    except Timeout:
        who = _read(note) or {}
        raise StepFailed(
            f"lock the cluster for {purpose}",
            f"the cluster ({key}) is in use by pid {who.get('pid', '?')} "
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
    with contextlib.suppress(OSError):  # a name someone re-made meanwhile (O_EXCL): no note, '?'
        note.unlink(missing_ok=True)
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(held))
