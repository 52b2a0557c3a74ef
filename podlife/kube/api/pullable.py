"""Can the cluster get these images?  Asked once, up front, on a cluster podlife does not provision
(``--kubeconfig``), where nothing loads the images a run's manifests name: otherwise every scenario
whose subject's image the nodes cannot pull waits for its pod and ends in its own set-up error.

One pod per worker, in a namespace of podlife's own (labelled: an interrupted run's clean-up takes
it), with one container per image and the image's own pull policy.  Its command is a path that is
in no image, so nothing of an image runs: once the kubelet has the image, the container fails to
start (a state after the pull); a pull the node cannot do ends in ``ErrImagePull`` or one of its
kin.  The pods are watched (:func:`~podlife.kube.api.watch.watching`) until every container is one or
the other."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from podlife.kube.api import owned
from podlife.kube.api.wait import Impossible
from podlife.kube.api.watch import watching

PULL_FAILED = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
STILL_PULLING = {"ContainerCreating", "PodInitializing", None}
NOT_A_COMMAND = "/podlife-pull-check/not-a-command"
PULL_TIMEOUT_S = 600


@dataclass
class Decided:
    """Every container decided; ``refused``: image -> why a worker could not get it (empty: all
    pulled).  Always truthy, so a wait ends on it."""

    refused: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return True


def pod(node: str, images: dict[str, str]) -> dict[str, Any]:
    """The pod that makes ``node`` get every image, running none of them (restricted-compatible)."""
    safe = {
        "runAsNonRoot": True,
        "runAsUser": 65534,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    containers = [
        {
            "name": f"i{k}",
            "image": image,
            "imagePullPolicy": policy,
            "command": [NOT_A_COMMAND],
            "securityContext": safe,
        }
        for k, (image, policy) in enumerate(sorted(images.items()))
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pull-{node}"[:63]},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
            "containers": containers,
        },
    }


def tail(message: str, keep: int = 200) -> str:
    """A runtime's pull error, shortened from the front: its last words say why (``no such host``)."""
    message = message.strip()
    return message if len(message) <= keep else "…" + message[-keep:]


def decided(objects: dict[str, Any], nodes: list[str]) -> Decided | None:
    """The verdict once every worker's pod has a decided state for every container, else None."""
    refused: dict[str, str] = {}
    for node in nodes:
        p = objects.get(f"pull-{node}"[:63])
        statuses = (p.status.container_statuses if p and p.status else None) or []
        if p and p.status and p.status.phase == "Failed" and not statuses:
            raise Impossible(f"{node} refused the pod: {p.status.reason}: {p.status.message}")
        if not statuses or len(statuses) < len(p.spec.containers):
            return None
        for s in statuses:
            if s.state and (s.state.running or s.state.terminated):
                continue  # past its pull
            waiting = s.state.waiting if s.state else None
            if not waiting or waiting.reason in STILL_PULLING:
                return None
            if waiting.reason in PULL_FAILED:
                refused.setdefault(s.image, f"{waiting.reason} on {node}: {tail(waiting.message or '')}")
    return Decided(refused)


def unpullable(
    api: client.ApiClient,
    images: dict[str, str],
    nodes: list[str],
    labels: dict[str, str],
    say: Callable[[str], None],
    *,
    timeout: float = PULL_TIMEOUT_S,
) -> dict[str, str]:
    """The images (image -> pull policy) that some worker of the cluster cannot get, with why."""
    core = client.CoreV1Api(api)
    namespace = f"podlife-pull-check-{secrets.token_hex(3)}"
    say(f"can every worker get the run's {len(images)} image(s)? ({', '.join(nodes)})")
    owned.create(api, namespace, labels)
    try:
        with watching(core.list_namespaced_pod, namespace=namespace) as watcher:
            for node in nodes:
                core.create_namespaced_pod(namespace, pod(node, images))
            verdict = watcher.wait(
                lambda objects: decided(objects, nodes),
                what="every image pulled or refused on every worker",
                timeout=timeout,
            )
        return verdict.refused
    finally:
        core.delete_namespace(namespace, grace_period_seconds=0)
