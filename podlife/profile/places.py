"""Every place a container can write: each volume it mounts writable (emptyDir, emptyDir in
memory, a PersistentVolumeClaim or volumeClaimTemplate, hostPath) and its own root filesystem.

podlife writes a marker there before an event and looks for it afterwards, through an ephemeral
probe: one that mounts the same volume, or, for a root filesystem, one that targets the container
and reaches its root through ``/proc/1/root`` (the target's main process).  The subject's image
needs nothing.  A place no probe can write (a read-only root filesystem, a ConfigMap) is listed
as not applicable, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podlife.profile.workload import Workload

READ_ONLY = ("configMap", "secret", "downwardAPI", "projected")
MOUNT = "/podlife-place"


@dataclass(frozen=True)
class Place:
    key: str  # the volume's name, or CONTAINER:rootfs
    type: str  # emptyDir | emptyDir-memory | pvc | hostPath | rootfs
    container: str  # the container whose restart the place is measured against
    volume: str | None  # the pod volume a probe mounts; None for a root filesystem

    def path(self, marker: str) -> str:
        """Where a probe finds the marker: under its mount of the volume, or the target's root."""
        return f"{MOUNT}/{self.volume}/{marker}" if self.volume else f"/proc/1/root/{marker}"

    def mounts(self) -> dict[str, str]:
        return {self.volume: f"{MOUNT}/{self.volume}"} if self.volume else {}


def volume_type(volume: dict[str, Any] | None, templates: set[str], name: str) -> str | None:
    """The place's type, or None when no probe can write it (read-only kinds, unknown ones)."""
    if volume is None:
        return "pvc" if name in templates else None
    if "emptyDir" in volume:
        return "emptyDir-memory" if (volume["emptyDir"] or {}).get("medium") == "Memory" else "emptyDir"
    if "persistentVolumeClaim" in volume:
        return "pvc"
    if "hostPath" in volume:
        return "hostPath"
    return None


def places(workload: Workload) -> tuple[list[Place], dict[str, str]]:
    """The writable places of the running containers, and those not applicable with the reason."""
    spec = workload.spec()
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    templates = {
        t["metadata"]["name"] for t in (workload.doc.get("spec") or {}).get("volumeClaimTemplates") or []
    }
    found: dict[str, Place] = {}
    skipped: dict[str, str] = {}
    by_name = {c["name"]: c for c in workload.containers()}
    for name in workload.running():
        container = by_name[name]
        if (container.get("securityContext") or {}).get("readOnlyRootFilesystem"):
            skipped[f"{name}:rootfs"] = "readOnlyRootFilesystem: nothing can write there"
        else:
            found[f"{name}:rootfs"] = Place(f"{name}:rootfs", "rootfs", name, None)
        for mount in container.get("volumeMounts") or []:
            vol = mount["name"]
            kind = volume_type(volumes.get(vol), templates, vol)
            if kind is None:
                what = next((k for k in (volumes.get(vol) or {}) if k != "name"), "unknown")
                skipped.setdefault(vol, f"a {what} volume is not a place the container writes its data")
            elif mount.get("readOnly") or mount.get("subPath"):
                skipped.setdefault(vol, "mounted read-only or through a subPath")
            else:
                found.setdefault(vol, Place(vol, kind, name, vol))
    for vol in found:
        skipped.pop(vol, None)
    return list(found.values()), skipped
