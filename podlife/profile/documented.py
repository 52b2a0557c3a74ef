"""What Kubernetes documents for a workload's shape: the promise each observation is held to.

Every promise names where it is written (the Kubernetes documentation's page), so a departure reads
as "documented: ..., measured: ...".
"""

from __future__ import annotations

from dataclasses import dataclass

from podlife.profiled import Departure

VOLUMES = "https://kubernetes.io/docs/concepts/storage/volumes/"
LIFECYCLE = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/"
SIDECARS = "https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/"
EPHEMERAL = "https://kubernetes.io/docs/concepts/storage/ephemeral-storage/"
CONTROLLERS = "https://kubernetes.io/docs/concepts/workloads/controllers/"
GRACE_SLACK_S = 3.0  # the kubelet's SIGKILL and the watch's view of it take a moment


@dataclass(frozen=True)
class Promise:
    value: object
    says: str
    source: str

    def text(self) -> str:
        return f"{self.says} ({self.source})"

    def departure(self, observation: str, measured: object) -> Departure:
        """The one way a departure is written: the observation, this promise, what was measured."""
        return Departure(observation, self.text(), str(measured))


def survives(place_type: str, event: str, same_node: bool | None = None, same_pod: bool = False) -> Promise:
    """Whether data in a place of ``place_type`` is documented to survive ``event`` (after which the
    pod runs on the same node or not, and is the same pod or a new one)."""
    if place_type == "rootfs":
        return Promise(
            False,
            "a container's writable layer belongs to that container instance: a restarted or recreated "
            "container starts from its image",
            EPHEMERAL,
        )
    if place_type == "emptyDir-memory" and event == "node-loss":
        return Promise(False, "an emptyDir in memory is a tmpfs: a node that restarts clears it", VOLUMES)
    if place_type in ("emptyDir", "emptyDir-memory"):
        if event == "node-loss" and same_pod:
            return Promise(
                True, "an emptyDir lives as long as its pod on its node: the pod kept its node", VOLUMES
            )
        if event == "container-restart":
            return Promise(True, "an emptyDir lives as long as its pod: a container crash keeps it", VOLUMES)
        return Promise(
            False, "an emptyDir is deleted for good when its pod is removed from its node", VOLUMES
        )
    if place_type == "pvc":
        return Promise(
            True, "a PersistentVolumeClaim's volume outlives the containers and pods using it", VOLUMES
        )
    if place_type == "hostPath":
        if event == "container-restart" or same_node:
            return Promise(True, "a hostPath is the node's own directory: it stays on that node", VOLUMES)
        return Promise(
            False, "a hostPath is the node's own directory: a pod on another node sees another", VOLUMES
        )
    raise ValueError(place_type)


def restarted_by_kill(container: str, restart_policy: str, sidecar: bool) -> Promise:
    """Which containers a SIGKILL of ``container`` restarts: itself alone, or none."""
    if sidecar or restart_policy in ("Always", "OnFailure"):
        return Promise(
            [container],
            f"restartPolicy {'Always (a sidecar)' if sidecar else restart_policy}: the kubelet restarts "
            "the killed container alone; the others keep running",
            LIFECYCLE,
        )
    return Promise([], "restartPolicy Never: a container that ends is not restarted", LIFECYCLE)


def ends_within_grace(grace_s: int) -> Promise:
    return Promise(
        grace_s,
        f"on deletion each container gets SIGTERM, then SIGKILL (exit 137) at the end of its "
        f"terminationGracePeriodSeconds ({grace_s} s)",
        LIFECYCLE,
    )


def replaced(controlled: bool, kind: str) -> Promise:
    if controlled:
        return Promise(True, f"a {kind}'s controller replaces a pod that is deleted", CONTROLLERS)
    return Promise(
        False,
        "a bare pod is never replaced: once deleted it is gone until someone applies it again",
        LIFECYCLE,
    )


EVICTION = (
    "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions"
)
STATEFUL_LOST = "https://kubernetes.io/docs/tasks/run-application/force-delete-stateful-set-pod/"


def replaced_on_node_loss(kind: str, tolerated_s: int | None) -> Promise:
    """Whether a pod on a lost node is documented to be replaced on another node while it is away."""
    if tolerated_s is None:
        return Promise(
            False, "the pod tolerates an unreachable node for ever: it is never evicted from it", EVICTION
        )
    after = f"evicted {tolerated_s} s after its node is unreachable (its tolerationSeconds)"
    if kind in ("Deployment", "ReplicaSet"):
        return Promise(True, f"{after}, the pod is replaced by its ReplicaSet on another node", EVICTION)
    if kind == "StatefulSet":
        return Promise(
            False,
            f"{after}, a StatefulSet's pod is not replaced while its node is away: its controller waits "
            "until the pod is gone for good (the node returns, or someone force-deletes it)",
            STATEFUL_LOST,
        )
    return Promise(False, f"{after}, a bare pod is gone: nothing replaces it", EVICTION)


def sidecars_stop_last() -> Promise:
    return Promise(True, "native sidecars stop after the regular containers have ended", SIDECARS)


def start_order() -> Promise:
    return Promise(
        True,
        "init containers run to completion one after another, native sidecars start in order, and only "
        "then do the regular containers start",
        SIDECARS,
    )


DEPLOYMENT = "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment"
STATEFULSET = "https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates"
DAEMONSET = "https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/"


def _count(value: object, replicas: int, up: bool) -> int:
    """A maxSurge/maxUnavailable as a count (a percentage rounds up for surge, down for unavailable)."""
    if isinstance(value, str) and value.endswith("%"):
        share = replicas * int(value[:-1]) / 100
        return int(-(-share // 1)) if up else int(share // 1)
    return int(value)  # type: ignore[call-overload]


def keeps_serving(kind: str, spec: dict, replicas: int) -> Promise:
    """Whether the rolling update is documented to keep a Ready pod serving throughout."""
    if kind == "Deployment":
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            return Promise(
                False, "strategy Recreate: every old pod is stopped before a new one starts", DEPLOYMENT
            )
        unavailable = _count(rolling.get("maxUnavailable", "25%"), replicas, up=False)
        surge = _count(rolling.get("maxSurge", "25%"), replicas, up=True)
        if replicas - unavailable >= 1:
            return Promise(
                True,
                f"RollingUpdate keeps at least {replicas - unavailable} of {replicas} pod(s) Ready "
                f"(maxUnavailable {unavailable}, maxSurge {surge})",
                DEPLOYMENT,
            )
        return Promise(False, f"maxUnavailable {unavailable} of {replicas}: no Ready pod is kept", DEPLOYMENT)
    if kind == "StatefulSet":
        return Promise(
            replicas > 1,
            "a StatefulSet's rolling update deletes each pod before its replacement starts, one at a time",
            STATEFULSET,
        )
    surge = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxSurge", 0)
    if surge not in (0, "0", "0%"):
        return Promise(
            True,
            f"a DaemonSet with maxSurge {surge} starts a node's new pod before the old one stops",
            DAEMONSET,
        )
    return Promise(
        False,
        "a DaemonSet's rolling update (maxSurge 0) stops a node's pod before its replacement",
        DAEMONSET,
    )


def min_ready(kind: str, spec: dict, replicas: int) -> int:
    """The fewest of the workload's pods its rolling update is documented to keep Ready."""
    if kind == "Deployment":
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            return 0
        rolling = strategy.get("rollingUpdate") or {}
        return max(replicas - _count(rolling.get("maxUnavailable", "25%"), replicas, up=False), 0)
    if kind == "StatefulSet":
        return replicas - 1  # one pod at a time
    surge = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxSurge", 0)
    return replicas if surge not in (0, "0", "0%") else replicas - 1
