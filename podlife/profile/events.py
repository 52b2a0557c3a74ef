"""The events, each performed on the workload's pod and observed through the watch: start,
a SIGKILL of each container through the node, and the pod's deletion (its containers' graceful
stop) followed by its recreation (applied again for a bare pod, its controller's replacement
otherwise)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podlife.kube import Impossible, WaitImpossible, WaitTimeout, nodes, pod_ready, statuses
from podlife.kube.namespace import Namespace
from podlife.profile import observe
from podlife.profile.observe import first, history_of, seconds
from podlife.profile.workload import Workload
from podlife.profiled import ContainerStart, Kill, Start, Stop

RECOVER_S = 150  # a killed container restarted and its pod Ready again (the first back-off is 10 s)
NEW_POD_S = 180


def start(kube: Namespace, workload: Workload) -> tuple[Any, Start]:
    """Apply the workload; once every pod is ready, when each container of the first pod started and
    became ready, and the pod Ready, in seconds since it was applied."""
    applied = kube.act(f"applied {workload.key}")
    running = kube.start_all(workload.docs())
    pod = running[sorted(running)[0]]
    history = history_of(kube, pod)
    order = {c["name"]: i for i, c in enumerate(workload.containers())}
    sidecars = workload.sidecars()
    init = {c.get("name") for c in workload.spec().get("initContainers") or []}
    containers = {}
    for name in sorted(order, key=order.get):  # type: ignore[arg-type]
        role = "sidecar" if name in sidecars else "init" if name in init else "regular"
        containers[name] = ContainerStart(
            role=role,
            started_s=seconds(
                applied,
                first(history, lambda p, n=name: _state(p, n, "running") or _state(p, n, "terminated")),
            ),
            ready_s=seconds(
                applied, first(history, lambda p, n=name: bool(getattr(statuses(p).get(n), "ready", False)))
            ),
            ended_s=seconds(applied, first(history, lambda p, n=name: _state(p, n, "terminated")))
            if role == "init"
            else None,
        )
    return pod, Start(
        containers=containers, pod_ready_s=seconds(applied, first(history, pod_ready)), pods=len(running)
    )


def _state(pod: Any, container: str, state: str) -> bool:
    status = statuses(pod).get(container)
    return bool(status and status.state and getattr(status.state, state))


def kill(kube: Namespace, workload: Workload, pod: Any, container: str) -> Kill:
    """SIGKILL ``container``'s main process through its node; which containers restarted, how
    long the pod was unready, when it was Ready again."""
    name, node = pod.metadata.name, pod.spec.node_name
    before = {n: s.restart_count for n, s in statuses(pod).items()}
    status = statuses(pod)[container]
    nodes.reach(node)  # reachable below the API (Docker or the agent), before anything is done
    killed_at = kube.act(f"SIGKILL {container} of {name} through node {node}")
    nodes.kill_container(node, status.container_id)
    restarts = container in workload.sidecars() or workload.restart_policy() != "Never"
    try:
        kube.wait(
            _recovered(name, container, before[container], restarts),
            what=f"{name} Ready after {container} was killed",
            timeout=RECOVER_S,
        )
    except (WaitImpossible, WaitTimeout) as exc:
        return Kill(restarted=_restarted(kube, pod, before), unready_s=None, recovered=False, why=str(exc))
    history = history_of(kube, pod)
    unready = first(history, lambda p: not pod_ready(p), after=killed_at)
    ready_again = first(history, pod_ready, after=unready) if unready else None
    return Kill(
        restarted=_restarted(kube, pod, before),
        unready_s=seconds(unready, ready_again) if unready else 0.0,
        ready_again_s=seconds(killed_at, ready_again),
        recovered=True,
    )


def _recovered(name: str, container: str, count: int, restarts: bool) -> Any:
    def done(objects: dict[str, Any]) -> bool:
        pod = objects.get(name)
        if pod is None:
            raise Impossible(f"pod {name} is gone")
        status = statuses(pod).get(container)
        if not restarts and status and status.state.terminated:
            raise Impossible(f"{container} ended and restartPolicy Never does not restart it")
        return bool(status and status.restart_count > count and pod_ready(pod))

    return done


def _restarted(kube: Namespace, pod: Any, before: dict[str, int]) -> list[str]:
    now = kube.pod(pod.metadata.name)
    counts = {n: s.restart_count for n, s in statuses(now).items()} if now else {}
    return sorted(n for n, c in counts.items() if c > before.get(n, 0))


def delete(kube: Namespace, workload: Workload, pod: Any) -> tuple[datetime, dict[str, Stop], bool]:
    """Delete the pod with its own grace period: for each running container, its exit code and the
    seconds from the deletion to its end (killed at the grace period, or ended by itself); and
    whether anything but podlife replaced it (a controller)."""
    name, uid = pod.metadata.name, pod.metadata.uid
    deleted = kube.act(f"delete pod {name} (grace {workload.grace_s()} s)")
    kube.cluster.core.delete_namespaced_pod(name, kube.namespace)
    kube.wait(
        lambda objs: all(p.metadata.uid != uid for p in objs.values()),
        what=f"pod {name} to be gone",
        timeout=workload.grace_s() + 120,
    )
    history = history_of(kube, pod)
    stops = {c: _stop(history, c, deleted, workload.grace_s()) for c in workload.running()}
    replaced = any(p.metadata.uid != uid for p in observe.live_pods(kube).values()) or bool(
        kube.observe(
            5,
            until=lambda objs: any(p.metadata.uid != uid for p in objs.values()) or None,
            what="a replacement",
        )
    )
    return deleted, stops, replaced


def _stop(history: list[tuple[datetime, Any]], container: str, deleted: datetime, grace: int) -> Stop:
    """A container's end after the deletion: its exit code, and the seconds from the deletion to
    its ``finishedAt`` (the kubelet reports it to the second; the watch may see every end at once,
    when the kubelet reports the pod's last status, so its moment is only an upper bound)."""
    seen = first(history, lambda p: _state(p, container, "terminated"), after=deleted)
    if seen is None:
        why = "the pod was gone before its end was reported"
        return Stop(exit_code=None, seconds=None, killed_at_grace=None, why=why)
    pod = next(p for at, p in history if at == seen)
    ended = statuses(pod)[container].state.terminated
    took = float(max(0, round((ended.finished_at - deleted).total_seconds()))) if ended.finished_at else None
    return Stop(
        exit_code=ended.exit_code,
        seconds=took,
        seen_after_s=seconds(deleted, seen),
        killed_at_grace=ended.exit_code == 137 and took is not None and took >= grace - 1,
    )


def recreate(kube: Namespace, workload: Workload, old_uid: str) -> Any:
    """The pod again: a bare pod applied again as a user would, a controller's pod awaited; it is
    returned once Ready."""
    if not workload.controlled:
        kube.act(f"apply {workload.key} again")
        kube.apply([workload.docs()[-1]])

    def ready(objects: dict[str, Any]) -> Any:
        fresh = [
            p for p in objects.values() if p.metadata.uid != old_uid and not p.metadata.deletion_timestamp
        ]
        return next(
            (
                p
                for p in sorted(fresh, key=lambda p: p.metadata.name)
                if all(s.ready for s in statuses(p).values() if s.name in workload.running()) and pod_ready(p)
            ),
            None,
        )

    return kube.wait(ready, what=f"a new pod of {workload.key} Ready", timeout=NEW_POD_S)
