"""Whether this machine has room for one more kind cluster: its inotify budget and Docker's disk.

Disk: a three-node cluster's node volumes took 6.1-7.6 GB here (measured 2026-12-07, four clusters,
after their images were loaded), and a cluster whose images cannot be unpacked fails at ``kind load``
with "no space left on device"; ``cluster up`` asks for ``DISK_GB`` free where Docker keeps its data.

inotify:
Every process of every kind node runs as this machine's root, and each kubelet, containerd and
systemd takes inotify instances from one per-user budget, ``fs.inotify.max_user_instances`` (128 on
Debian).  A three-node cluster of podlife's took 55 (measured 2026-12-07: 27, 14 and 14 per node);
past the budget a new node's kubelet dies at start with ``inotify_init: too many open files`` and
``kind create`` waits minutes for a join that never comes.  So ``cluster up`` asks first, and names
the remedy in one line; podlife does not change the kernel's setting itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")
DISK_GB = 8.0  # a cluster's node volumes (7.6 GB measured), with a margin
DOCKER_DATA = Path("/var/lib/docker")
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


def disk_shortfall(path: Path = DOCKER_DATA, free_gb: float | None = None) -> str | None:
    """None when Docker's data directory has room for one more cluster; else the one line why not."""
    if free_gb is None:
        try:
            free_gb = shutil.disk_usage(path if path.exists() else Path("/")).free / 1e9
        except OSError:
            return None
    if free_gb >= DISK_GB:
        return None
    return (
        f"{free_gb:.1f} GB free where Docker keeps its data ({path}): another kind cluster needs about "
        f"{DISK_GB:.0f} GB (its images would not unpack: 'no space left on device'). Free some, or delete "
        f"a cluster (python -m podlife cluster down --kubernetes X.Y)"
    )
