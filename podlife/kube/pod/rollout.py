"""Rolling a container to another image, one way for every claim and profile: the image set by a
strategic merge patch of the workload's pod template (or of a bare pod, which restarts that
container in place), and the predicate "rolled out" for :meth:`podlife.kube.Namespace.wait`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client

from podlife.kube.api.wait import Impossible
from podlife.kube.pod.pods import IMAGE_TROUBLE, statuses

PATCH = {
    "Deployment": "patch_namespaced_deployment",
    "StatefulSet": "patch_namespaced_stateful_set",
    "DaemonSet": "patch_namespaced_daemon_set",
}
CANNOT_START = (*IMAGE_TROUBLE, "CrashLoopBackOff", "RunContainerError", "CreateContainerError")


def set_image(
    api: client.ApiClient, namespace: str, kind: str, name: str, container: str, image: str
) -> None:
    """``container`` of the workload ``kind/name`` (or of the bare Pod ``name``) set to ``image``."""
    containers = {"spec": {"containers": [{"name": container, "image": image}]}}
    if kind == "Pod":
        client.CoreV1Api(api).patch_namespaced_pod(name, namespace, containers)
    else:
        getattr(client.AppsV1Api(api), PATCH[kind])(name, namespace, {"spec": {"template": containers}})


def rolled_out(
    container: str, image: str, count: int, before: dict[str, int] | None = None
) -> Callable[[dict[str, Any]], dict[str, int] | None]:
    """Done when ``count`` pods have ``container`` and every one runs ``image`` and is ready, none
    is being deleted and (given ``before``, pod -> restart count) a pod kept from before has
    restarted that container; its value is then each pod's restart count of the container.  A
    new container that cannot start (its image, a crash loop) ends the wait at once."""

    def done(objects: dict[str, Any]) -> dict[str, int] | None:
        having = {n: p for n, p in objects.items() if container in statuses(p)}
        for n, p in having.items():
            waiting = statuses(p)[container].state.waiting
            if waiting and waiting.reason in CANNOT_START and image_of(p, container) == image:
                raise Impossible(f"{n}: {image} cannot start ({waiting.reason}: {waiting.message})")
        if any(p.metadata.deletion_timestamp for p in having.values()):
            return None
        new = {
            n: statuses(p)[container].restart_count
            for n, p in having.items()
            if statuses(p)[container].ready
            and image_of(p, container) == image
            and (before is None or n not in before or statuses(p)[container].restart_count > before[n])
        }
        return new if len(new) == len(having) == count else None

    return done


def image_of(pod: Any, container: str) -> str:
    """The image the pod's spec gives ``container``."""
    return next((c.image for c in pod.spec.containers if c.name == container), "")
