"""Looking into a pod without touching its images: ephemeral probe containers.

``Probes.start(pod, target, jobs)`` adds an ephemeral container to the pod, on podlife's
probe image (a plain Python base image the cluster holds), targeting one of its containers
as ``kubectl debug --target`` does.  The probe runs :mod:`podlife.kube.helpers.inpod` with the jobs
asked for and prints their results; podlife reads them from the container's log once it
has terminated.  This works on any cluster whose runtime supports targeted ephemeral
containers, whatever the target image holds: no shell, no Python, no tool is needed in it.

The probe gets ``SYS_PTRACE`` (to read the target's ``/proc/1/ns/*`` when it runs as another
user) and ``SYS_ADMIN`` (to join the target's network or IPC namespace for a bind, connect
or semaphore test), and nothing else beyond the runtime's defaults.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from podlife.errors import SetupError
from podlife.kube.api.wait import Impossible
from podlife.kube.helpers import inpod

SOURCE = Path(inpod.__file__).read_text()
CAPABILITIES = ["SYS_PTRACE", "SYS_ADMIN"]
# where an ephemeral probe stays: it is never restarted, so a runtime's refusal to run it is final too
# (RunContainerError, seen once from runc 1.3.7 on cgroup v1 under load: "unable to freeze")
STUCK = (
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerError",
    "RunContainerError",
)
Jobs = list[tuple[str, dict[str, Any]]]


def command(jobs: Jobs) -> list[str]:
    return ["python3", "-c", SOURCE, json.dumps([[name, args] for name, args in jobs])]


def container(
    name: str, image: str, jobs: Jobs, target: str | None, mounts: dict[str, str] | None = None
) -> dict[str, Any]:
    """The probe's ephemeral container; ``mounts``: the pod's volumes it mounts, name -> path."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command(jobs),
        "securityContext": {"runAsUser": 0, "capabilities": {"add": CAPABILITIES}},
    }
    if target:
        spec["targetContainerName"] = target
    if mounts:
        spec["volumeMounts"] = [{"name": v, "mountPath": path} for v, path in mounts.items()]
    return spec


def parse(log: str, where: str) -> dict[str, dict[str, Any]]:
    """The job results a probe printed, by job name; a job that failed is a set-up error."""
    lines = [line for line in log.splitlines() if line.startswith("{")]
    if not lines:
        raise SetupError(f"the probe {where} printed no result: {log[-300:]!r}")
    results = {r["job"]: r for r in json.loads(lines[-1])["results"]}
    failed = {name: r["failed"] for name, r in results.items() if "failed" in r}
    if failed:
        raise SetupError(f"the probe {where} could not measure: {failed}")
    return results


@dataclass
class ProbeRun:
    """A probe that was added to a pod; ``result()`` waits for it and returns what it saw."""

    probes: Probes
    pod: str
    name: str

    def result(self, timeout: float = 120) -> dict[str, dict[str, Any]]:
        def finished(objects: dict[str, Any]) -> Any:
            pod = objects.get(self.pod)
            if pod is None:
                raise Impossible(f"pod {self.pod} is gone")
            status = next(
                (s for s in pod.status.ephemeral_container_statuses or [] if s.name == self.name), None
            )
            if status and status.state.waiting and status.state.waiting.reason in STUCK:
                raise Impossible(f"{status.state.waiting.reason}: {status.state.waiting.message}")
            return status if status and status.state.terminated else None

        self.probes.wait(finished, what=f"probe {self.name} in pod {self.pod} to finish", timeout=timeout)
        log = self.probes.core.read_namespaced_pod_log(self.pod, self.probes.namespace, container=self.name)
        return parse(log, f"{self.name} in pod {self.pod}")


@dataclass
class Probes:
    """Ephemeral probes for the pods of one namespace."""

    api: client.ApiClient
    namespace: str
    image: str
    wait: Callable[..., Any]  # the scenario's watch-based wait over its pods

    def __post_init__(self) -> None:
        self._numbers = itertools.count(1)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def start(
        self, pod: str, target: str | None, jobs: Jobs, mounts: dict[str, str] | None = None
    ) -> ProbeRun:
        """Add the probe now; it starts once its target runs (or at once, untargeted)."""
        number = next(self._numbers)
        name = f"podlife-probe-{target or 'pod'}-{number}"
        name = name if len(name) <= 63 else f"podlife-probe-{number}"  # a container name is a DNS label
        body = {"spec": {"ephemeralContainers": [container(name, self.image, jobs, target, mounts)]}}
        try:
            self.core.patch_namespaced_pod_ephemeralcontainers(pod, self.namespace, body)
        except client.ApiException as exc:
            raise SetupError(
                f"cannot add an ephemeral probe to pod {pod}: {exc.status} {exc.reason}"
            ) from exc
        return ProbeRun(self, pod, name)

    def run(
        self,
        pod: str,
        target: str | None,
        jobs: Jobs,
        timeout: float = 120,
        mounts: dict[str, str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        return self.start(pod, target, jobs, mounts).result(timeout)
