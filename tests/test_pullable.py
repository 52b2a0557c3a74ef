"""podlife.kube.api.pullable: when every worker's check pod is decided, and what it says."""

from __future__ import annotations

import pytest
from kubernetes import client

from podlife.kube import pullable
from podlife.kube.api.wait import Impossible

NODES = ["w1", "w2"]


def status(image: str, waiting: str | None = None, message: str = "", terminated: bool = False):
    state = client.V1ContainerState(
        waiting=client.V1ContainerStateWaiting(reason=waiting, message=message) if waiting else None,
        terminated=client.V1ContainerStateTerminated(exit_code=128, reason="StartError")
        if terminated
        else None,
    )
    return client.V1ContainerStatus(
        name="i", image=image, image_id="", ready=False, restart_count=0, state=state
    )


def check_pod(node: str, statuses: list, phase: str = "Pending", reason: str | None = None) -> client.V1Pod:
    spec = pullable.pod(node, {"a:1": "IfNotPresent", "b:2": "Always"})
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=spec["metadata"]["name"]),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name=c["name"]) for c in spec["spec"]["containers"]]
        ),
        status=client.V1PodStatus(phase=phase, reason=reason, container_statuses=statuses or None),
    )


def test_the_check_pod_runs_nothing_of_the_images_and_keeps_their_pull_policy() -> None:
    spec = pullable.pod("w1", {"b:2": "Always", "a:1": "IfNotPresent"})["spec"]
    assert spec["nodeName"] == "w1" and spec["restartPolicy"] == "Never"
    assert [(c["image"], c["imagePullPolicy"]) for c in spec["containers"]] == [
        ("a:1", "IfNotPresent"),
        ("b:2", "Always"),
    ]
    assert all(c["command"] == [pullable.NOT_A_COMMAND] for c in spec["containers"])


def test_undecided_while_a_pod_or_a_container_is_still_pulling() -> None:
    pulled = [status("a:1", terminated=True), status("b:2", terminated=True)]
    assert pullable.decided({}, NODES) is None
    assert pullable.decided({"pull-w1": check_pod("w1", pulled)}, NODES) is None
    creating = [status("a:1", terminated=True), status("b:2", "ContainerCreating")]
    objects = {"pull-w1": check_pod("w1", pulled), "pull-w2": check_pod("w2", creating)}
    assert pullable.decided(objects, NODES) is None


def test_every_image_pulled_everywhere_is_an_empty_verdict_that_still_ends_the_wait() -> None:
    pulled = [status("a:1", terminated=True), status("b:2", "RunContainerError")]
    verdict = pullable.decided({f"pull-{n}": check_pod(n, pulled) for n in NODES}, NODES)
    assert verdict and verdict.refused == {}


def test_an_image_one_worker_cannot_pull_is_named_with_the_worker_and_why() -> None:
    pulled = [status("a:1", terminated=True), status("b:2", terminated=True)]
    refused = [status("a:1", terminated=True), status("b:2", "ErrImagePull", "dial tcp: no such host")]
    verdict = pullable.decided(
        {"pull-w1": check_pod("w1", pulled), "pull-w2": check_pod("w2", refused)}, NODES
    )
    assert verdict and verdict.refused == {"b:2": "ErrImagePull on w2: dial tcp: no such host"}


def test_a_pod_the_node_refused_ends_the_wait_at_once() -> None:
    pulled = [status("a:1", terminated=True), status("b:2", terminated=True)]
    objects = {"pull-w1": check_pod("w1", pulled), "pull-w2": check_pod("w2", [], "Failed", "OutOfpods")}
    with pytest.raises(Impossible, match="w2 refused the pod: OutOfpods"):
        pullable.decided(objects, NODES)
