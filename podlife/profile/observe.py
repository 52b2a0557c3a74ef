"""Reading a workload's pods from the scenario's watch: moments first seen, container states, the
pods of the workload, and the data markers written and read through ephemeral probes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from podlife.errors import SetupError
from podlife.kube.namespace import Namespace
from podlife.profile.places import Place

History = list[tuple[datetime, Any]]
PROBE_TIMEOUT_S = 120


def first(history: History, seen: Callable[[Any], bool], *, after: datetime | None = None) -> datetime | None:
    """When the watch first saw a state for which ``seen(pod)`` holds (after ``after``)."""
    return next((at for at, pod in history if (after is None or at >= after) and seen(pod)), None)


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 2) if start and end else None


def live_pods(kube: Namespace) -> dict[str, Any]:
    assert kube.watcher
    return {n: p for n, p in kube.watcher.objects.items() if not p.metadata.deletion_timestamp}


def history_of(kube: Namespace, pod: Any) -> History:
    """Every state the watch saw of this very pod (its name and uid: a StatefulSet's new pod has the
    old one's name)."""
    return kube.history(pod.metadata.name, pod.metadata.uid)


def new_token() -> str:
    return f".podlife-marker-{secrets.token_hex(4)}"


def markers(
    kube: Namespace, pod: str, places: list[Place], token: str, *, write: bool
) -> dict[str, bool | str]:
    """Write (or look for) the marker ``token`` in every place, one probe per container: it targets
    the container (its root filesystem) and mounts the volumes measured against it.  Returns, per
    place, True/False, or the reason it could not be written or read."""
    out: dict[str, bool | str] = {}
    for container in sorted({p.container for p in places}):
        mine = [p for p in places if p.container == container]
        paths = {p.path(token): token for p in mine}
        mounts = {k: v for p in mine for k, v in p.mounts().items()}
        job = {"write": paths} if write else {"read": paths}
        try:
            result = kube.probes.run(pod, container, [("markers", job)], PROBE_TIMEOUT_S, mounts)["markers"]
        except SetupError as exc:
            out.update({p.key: f"no probe could reach it: {exc}" for p in mine})
            continue
        seen = result["written" if write else "found"]
        out.update({p.key: seen[p.path(token)] for p in mine})
    return out


def kept(written: dict[str, Any], found: dict[str, Any], key: str) -> bool | str:
    """Whether the marker written in the place ``key`` was found again (True/False), or why that is
    not known: it could not be written, or not be read."""
    if written.get(key) is not True:
        return f"the marker could not be written: {written.get(key)}"
    value = found.get(key)
    return value if isinstance(value, bool) else f"the marker could not be read: {value}"
