"""Whether this machine's kernel can give one more kind cluster its inotify instances.

Every process of every kind node runs as this machine's root, and each kubelet, containerd and
systemd takes inotify instances from one per-user budget, ``fs.inotify.max_user_instances`` (128 on
Debian).  A three-node cluster of podlife's took 55 (measured 2026-12-07: 27, 14 and 14 per node);
past the budget a new node's kubelet dies at start with ``inotify_init: too many open files`` and
``kind create`` waits minutes for a join that never comes.  So ``cluster up`` asks first, and names
the remedy in one line; podlife does not change the kernel's setting itself.
"""

from __future__ import annotations

import os
from pathlib import Path

LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")
PER_CLUSTER = 60  # a three-node cluster's instances (55 measured), with a margin


def in_use(proc: Path = Path("/proc"), uid: int = 0) -> int:
    """The inotify instances open by processes of ``uid``: root, whose budget rootful Docker's kind
    nodes share (a user who cannot read root's processes counts none, and is not stopped)."""
    count = 0
    for pid in proc.iterdir():
        if not pid.name.isdigit():
            continue
        try:
            if pid.stat().st_uid != uid:
                continue
            count += sum(1 for fd in (pid / "fd").iterdir() if os.readlink(fd) == "anon_inode:inotify")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return count


def shortfall(limit_path: Path = LIMIT, used: int | None = None) -> str | None:
    """None when one more cluster fits the budget; else the one line that says why not and what to do."""
    try:
        limit = int(limit_path.read_text())
    except (OSError, ValueError):
        return None  # not Linux's /proc: nothing known to check
    used = in_use() if used is None else used
    if used + PER_CLUSTER <= limit:
        return None
    return (
        f"fs.inotify.max_user_instances is {limit} and {used} are in use: another kind cluster needs about "
        f"{PER_CLUSTER} (its kubelets would fail with 'inotify_init: too many open files'). Raise it "
        f"(sysctl -w fs.inotify.max_user_instances=512) or delete a cluster "
        f"(python -m podlife cluster down --kubernetes X.Y)"
    )
