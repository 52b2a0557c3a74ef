"""Pods as the scenarios see them: manifests in, container facts out.

Manifests are applied as a user would apply them (see :mod:`podlife.kube.pod.manifest` for how they
are read).  The helpers that read a pod's status return plain values so that evidence stays
numbers and ids.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubernetes import client, utils
from kubernetes.utils import parse_quantity

from podlife.kube.api.wait import Impossible


def pod_doc(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pods = [d for d in docs if d.get("kind") == "Pod"]
    if len(pods) != 1:
        raise ValueError(f"expected exactly one Pod in the manifest, found {len(pods)}")
    return pods[0]


def apply(api: client.ApiClient, namespace: str, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        utils.create_from_dict(api, copy.deepcopy(doc), namespace=namespace)


def statuses(pod: Any) -> dict[str, Any]:
    """Container name -> status (init containers included)."""
    pod_status = pod.status
    found = (pod_status.init_container_statuses or []) + (pod_status.container_statuses or [])
    return {s.name: s for s in found}


def ready_count(pod: Any) -> tuple[int, int]:
    """READY as kubectl prints it: ready containers / containers, native sidecars included."""
    sidecars = {c.name for c in pod.spec.init_containers or [] if c.restart_policy == "Always"}
    counted = [s for s in statuses(pod).values() if s.name in sidecars] + list(
        pod.status.container_statuses or []
    )
    return sum(1 for s in counted if s.ready), len(pod.spec.containers) + len(sidecars)


def all_ready(pod: Any | None) -> bool:
    if pod is None or pod.status.phase != "Running":
        return False
    ready, total = ready_count(pod)
    return ready == total


def pod_ready(pod: Any | None) -> bool:
    """The pod's own Ready condition: what a Service goes by, and what the node controller turns
    off when the node is lost (its containers' ready flags stay as last reported)."""
    return pod is not None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


def serving(pod: Any | None) -> bool:
    """Running with every container ready, Ready itself, and not being deleted."""
    return all_ready(pod) and pod_ready(pod) and not pod.metadata.deletion_timestamp


def started_at(status: Any) -> datetime | None:
    running = status.state.running if status and status.state else None
    return running.started_at if running else None


def terminated_badly(pod: Any) -> str | None:
    """Why the pod cannot become ready without a restart, if it cannot."""
    for name, status in statuses(pod).items():
        state = status.state
        if state.terminated and state.terminated.exit_code != 0:
            return f"{name} terminated with exit code {state.terminated.exit_code}"
        if state.waiting and state.waiting.reason in ("CrashLoopBackOff", "CreateContainerConfigError"):
            return f"{name} is waiting: {state.waiting.reason}"
        if status.restart_count:
            return f"{name} restarted {status.restart_count} time(s) while starting"
    return None


def ended_for_good(pod: Any) -> str | None:
    """Why the pod can never have every container ready, if it never can: a container whose
    configuration the kubelet refuses, or one that ended and that the pod's restartPolicy does
    not restart.  (Under ``Always`` a container that exits while starting is restarted and may
    well become ready: a web app that gives up on a database that is still starting, say.)"""
    done_init = {c.name for c in pod.spec.init_containers or [] if c.restart_policy != "Always"}
    for name, status in statuses(pod).items():
        state = status.state
        if state.waiting and state.waiting.reason == "CreateContainerConfigError":
            return f"{name} is waiting: {state.waiting.reason} ({state.waiting.message})"
        if name in done_init and state.terminated and state.terminated.exit_code == 0:
            continue  # an init container that has done its work
        if why := not_restarted(pod, name):
            return why
    return None


def not_restarted(pod: Any, container: str) -> str | None:
    """Why ``container`` has ended for good, if it has: it ended, and its restartPolicy does not
    restart it (``Never``; ``OnFailure`` after exit code 0): the container's own (Kubernetes 1.35,
    a container's restartPolicy over its pod's) or else its pod's.  Restart rules on exit codes
    (``restartPolicyRules``) are not read here: with them, nothing is taken as ended for good."""
    status = statuses(pod).get(container)
    ended = status.state.terminated if status else None
    spec = next((c for c in getattr(pod.spec, "containers", None) or [] if c.name == container), None)
    if getattr(spec, "restart_policy_rules", None):
        return None
    policy = getattr(spec, "restart_policy", None) or pod.spec.restart_policy or "Always"
    if ended and (policy == "Never" or (policy == "OnFailure" and ended.exit_code == 0)):
        return f"{container} ended with exit code {ended.exit_code} and restartPolicy is {policy}"
    return None


def describe(pods: dict[str, Any]) -> dict[str, Any]:
    """A compact summary for timeouts: phase and per-container state (ephemeral ones too, where the
    pod has any: "no status" for one the kubelet has not reported)."""
    out = {}
    for name, pod in pods.items():
        out[name] = {
            "phase": pod.status.phase,
            "containers": {
                c: (state_of(s), f"restarts={s.restart_count}", f"ready={s.ready}")
                for c, s in statuses(pod).items()
            },
        }
        asked = [c.name for c in (pod.spec and pod.spec.ephemeral_containers) or []]
        if asked:
            seen = {s.name: state_of(s) for s in pod.status.ephemeral_container_statuses or []}
            out[name]["ephemeral"] = {c: seen.get(c, "no status") for c in asked}
    return out


def state_of(status: Any) -> str:
    state = status.state
    if state is None:
        return "?"
    if state.running:
        return "running"
    if state.waiting:
        return f"waiting:{state.waiting.reason}"
    return f"terminated:{state.terminated.exit_code}" if state.terminated else "?"


IMAGE_TROUBLE = ("ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull", "InvalidImageName")


def image_trouble(pod: Any) -> str | None:
    """An image the cluster cannot get: a problem of the set-up, not a verdict on a claim."""
    for name, status in statuses(pod).items():
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason in IMAGE_TROUBLE:
            return f"container {name}: {waiting.reason}: {waiting.message}"
    return None


def expected_pods(docs: list[dict[str, Any]]) -> int:
    """How many pods a manifest makes: bare pods plus the replicas of its workloads."""
    count = 0
    for doc in docs:
        kind = doc.get("kind")
        if kind == "Pod":
            count += 1
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            count += int(doc.get("spec", {}).get("replicas", 1))
        elif kind == "DaemonSet" and pinned_to_one(doc):
            count += 1
    return count


def pinned_to_one(doc: dict[str, Any]) -> bool:
    """Whether the workload's pods are required on one named node (as podlife pins them)."""
    template = doc.get("spec", {}).get("template", {}).get("spec", {})
    required = template.get("affinity", {}).get("nodeAffinity", {})
    terms = required.get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
    exprs = [e for t in terms for e in t.get("matchExpressions", [])]
    return len(exprs) == 1 and exprs[0].get("operator") == "In" and len(exprs[0].get("values", [])) == 1


def holder(objects: dict[str, Any], container: str) -> Any:
    """The (first) pod that runs a container of this name."""
    for pod in sorted(objects.values(), key=lambda p: p.metadata.name):
        if container in statuses(pod):
            return pod
    raise AssertionError(f"no pod runs a container named {container!r}")


def restarted(
    name: str, container: str, count: int, *, give_up: bool = False
) -> Callable[[dict[str, Any]], Any]:
    """A wait predicate: the pod ``name`` once ``container`` has restarted ``count`` times in
    all and is ready again.  ``give_up``: stop waiting at once when the container has ended
    for good (its pod's restartPolicy does not restart it)."""

    def seen(objects: dict[str, Any]) -> Any:
        pod = objects.get(name)
        status = statuses(pod).get(container) if pod else None
        if give_up and status and (why := not_restarted(pod, container)):
            raise Impossible(why)
        return pod if status and status.restart_count >= count and status.ready else None

    return seen


FRACTION = re.compile(r"\.(\d+)")


def stamp(text: str) -> datetime:
    """An RFC 3339 time with up to nanoseconds (the kubelet's log timestamps), as UTC."""
    match = FRACTION.search(text)
    if match:  # Python takes at most microseconds
        text = text[: match.start()] + "." + match.group(1)[:6].ljust(6, "0") + text[match.end() :]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def log_lines(log: str) -> list[tuple[datetime, str]]:
    """A container log read with timestamps: (when the runtime read the line, the line)."""
    out = []
    for line in log.splitlines():
        at, _, text = line.partition(" ")
        if at:
            out.append((stamp(at), text))
    return out


def resources_applied(pod: Any, container: str, wanted: dict[str, dict[str, str]]) -> bool:
    """Whether the container's status reports ``wanted`` (requests and limits): what the kubelet
    actuated after a resize, not what was asked."""
    status = statuses(pod).get(container) if pod else None
    got = (status.resources.to_dict() if status and status.resources else {}) or {}
    return all(
        (got.get(kind) or {}).get(r) is not None and parse_quantity(got[kind][r]) == parse_quantity(v)
        for kind, asked in wanted.items()
        for r, v in asked.items()
    )
