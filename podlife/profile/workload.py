"""The workloads to profile: read from manifest files or directories, checked up front.

A workload is a Pod, Deployment, StatefulSet, ReplicaSet or DaemonSet; the Services,
PersistentVolumeClaims, ConfigMaps, Secrets and PodDisruptionBudgets in the same file (or
directory) are applied with it.  Anything else is refused, in one line naming the file, before any
cluster work.  Nothing is assumed about the images: no shell, no HTTP API, any user, any exit code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from podlife.kube import manifest

WORKLOADS = ("Pod", "Deployment", "StatefulSet", "ReplicaSet", "DaemonSet")
SUPPORTING = ("Service", "PersistentVolumeClaim", "ConfigMap", "Secret", "PodDisruptionBudget")
CONTROLLED = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet")


class ProfileInputError(ValueError):
    """Input podlife cannot profile; the message is one line naming the file."""


@dataclass(frozen=True)
class Workload:
    """One workload of a manifest, with the supporting objects of its file or directory."""

    path: Path
    doc: dict[str, Any] = field(repr=False)
    supporting: list[dict[str, Any]] = field(repr=False, default_factory=list)
    variant: str = ""  # what podlife changed in it (a remedy measured beside it), or "" for the original

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}" + (f"+{self.variant}" if self.variant else "")

    @property
    def controlled(self) -> bool:
        return self.kind in CONTROLLED

    def docs(self) -> list[dict[str, Any]]:
        """Everything applied for it, a fresh copy: the supporting objects first."""
        return copy.deepcopy([*self.supporting, self.doc])

    def spec(self) -> dict[str, Any]:
        return manifest.pod_spec(copy.deepcopy(self.doc)) or {}

    def containers(self) -> list[dict[str, Any]]:
        """Every container in start order: init containers (native sidecars among them), then the rest."""
        spec = self.spec()
        return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]

    def sidecars(self) -> set[str]:
        """Native sidecars: init containers that restart (``restartPolicy: Always``)."""
        return {
            c["name"] for c in self.spec().get("initContainers") or [] if c.get("restartPolicy") == "Always"
        }

    def running(self) -> list[str]:
        """The containers that keep running once the pod has started: sidecars and regular ones."""
        spec = self.spec()
        sidecars = [c["name"] for c in spec.get("initContainers") or [] if c["name"] in self.sidecars()]
        return [*sidecars, *(c["name"] for c in spec.get("containers") or [])]  # in spec order

    def restart_policy(self) -> str:
        return str(self.spec().get("restartPolicy") or "Always")

    def grace_s(self) -> int:
        return int(self.spec().get("terminationGracePeriodSeconds", 30))

    def images(self) -> dict[str, str]:
        return {str(c["image"]): manifest.pull_policy(c) for c in self.containers()}


def load(paths: list[str], *, allow_privileged: bool = False) -> list[Workload]:
    """Every workload the paths hold; a problem is one :class:`ProfileInputError` line.  A workload
    with privileged settings is refused unless ``allow_privileged`` (a kind node is itself a
    privileged container: such a pod is root on the host)."""
    if not paths:
        raise ProfileInputError("name one or more manifest files or directories to profile")
    found: list[Workload] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise ProfileInputError(f"{path}: no such file or directory")
        found += _workloads(path)
    for workload in found if not allow_privileged else []:
        if why := manifest.privileged_in(workload.doc):
            raise ProfileInputError(
                f"{workload.path}: {workload.key} asks for {why}; podlife profiles it only with "
                "--allow-privileged-subject"
            )
    keys = [w.key for w in found]
    if dupes := sorted({k for k in keys if keys.count(k) > 1}):
        raise ProfileInputError(f"{', '.join(dupes)}: named more than once in {', '.join(paths)}")
    return found


def _workloads(path: Path) -> list[Workload]:
    try:
        docs = manifest.read(path)
    except manifest.SubjectError as exc:
        raise ProfileInputError(str(exc)) from None
    for doc in docs:
        kind = doc.get("kind")
        if kind not in WORKLOADS + SUPPORTING:
            raise ProfileInputError(
                f"{path}: podlife cannot profile a {kind} (it profiles {', '.join(WORKLOADS)}, "
                f"applied with the {', '.join(SUPPORTING)} they need)"
            )
        if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            raise ProfileInputError(f"{path}: a {kind} has no metadata.name")
        if kind in WORKLOADS and (why := manifest.malformed(doc)):
            raise ProfileInputError(f"{path}: {kind}/{doc['metadata']['name']}: {why}")
    workloads = [d for d in docs if d["kind"] in WORKLOADS]
    if not workloads:
        raise ProfileInputError(f"{path}: no workload in it (a {', a '.join(WORKLOADS)})")
    supporting = [d for d in docs if d["kind"] in SUPPORTING]
    return [Workload(path, d, supporting) for d in workloads]


PRESTOP = "prestop-sleep"
VARIANTS = (PRESTOP,)


def parse_variant(text: str) -> tuple[str, int]:
    """``prestop-sleep`` or ``prestop-sleep=SECONDS`` (1-60, default 5); else one line saying why."""
    name, _, value = text.partition("=")
    if name not in VARIANTS:
        raise ProfileInputError(f"--variant {text}: podlife knows {', '.join(VARIANTS)}[=SECONDS]")
    seconds = int(value) if value.isdigit() else 5 if not value else -1
    if not 1 <= seconds <= 60:
        raise ProfileInputError(f"--variant {text}: the seconds must be a whole number from 1 to 60")
    return name, seconds


def with_prestop_sleep(workload: Workload, seconds: int) -> Workload:
    """The same workload with a ``preStop`` sleep of ``seconds`` on each regular container that has
    no preStop hook of its own (``lifecycle.preStop.sleep``: the kubelet waits, no shell or program
    in the image needed), and a grace period that outlasts it."""
    doc = copy.deepcopy(workload.doc)
    spec = manifest.pod_spec(doc) or {}
    for container in spec.get("containers") or []:
        hooks = container.setdefault("lifecycle", {})
        hooks.setdefault("preStop", {"sleep": {"seconds": seconds}})
    if doc == workload.doc:
        return workload  # every container has a preStop hook of its own: nothing to change
    if int(spec.get("terminationGracePeriodSeconds", 30)) <= seconds:
        spec["terminationGracePeriodSeconds"] = seconds + 5
    return replace(workload, doc=doc, variant=f"{PRESTOP}-{seconds}s")
