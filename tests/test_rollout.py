"""One rollout for every claim and profile: the image set by one patch, and "rolled out" decided
the same way for a Deployment's replacement pods and a bare pod restarted in place."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest

from podlife.kube import Impossible, rollout


def pod(
    image: str, *, ready: bool = True, restarts: int = 0, deleting: bool = False, waiting: str = ""
) -> Any:
    state = NS(waiting=NS(reason=waiting, message="m") if waiting else None)
    status = NS(name="web", ready=ready, restart_count=restarts, state=state)
    return NS(
        metadata=NS(deletion_timestamp="now" if deleting else None),
        spec=NS(containers=[NS(name="web", image=image)]),
        status=NS(
            container_statuses=[status], init_container_statuses=None, ephemeral_container_statuses=None
        ),
    )


def test_replacement_pods_are_rolled_out_once_every_one_runs_the_image_and_none_is_going() -> None:
    done = rollout.rolled_out("web", "web:v2", 2)
    assert done({"a": pod("web:v1"), "b": pod("web:v2")}) is None
    assert done({"a": pod("web:v1", deleting=True), "b": pod("web:v2"), "c": pod("web:v2")}) is None
    assert done({"b": pod("web:v2"), "c": pod("web:v2", ready=False)}) is None
    assert done({"b": pod("web:v2"), "c": pod("web:v2", restarts=1)}) == {"b": 0, "c": 1}


def test_a_bare_pod_is_rolled_out_once_its_container_restarted_on_the_image() -> None:
    done = rollout.rolled_out("web", "web:v2", 1, before={"p": 0})
    assert done({"p": pod("web:v2", restarts=0)}) is None  # the spec changed, the container not yet
    assert done({"p": pod("web:v2", restarts=1)}) == {"p": 1}


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"])
def test_a_new_container_that_cannot_start_ends_the_wait_at_once(reason: str) -> None:
    with pytest.raises(Impossible, match=reason):
        rollout.rolled_out("web", "web:v2", 1)({"p": pod("web:v2", ready=False, waiting=reason)})
    assert rollout.rolled_out("web", "web:v2", 1)({"p": pod("web:v1", ready=False, waiting=reason)}) is None


def test_the_image_is_set_by_one_patch_of_the_template_or_of_the_bare_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    class Api:
        def __init__(self, api: object) -> None:
            pass

        def __getattr__(self, name: str) -> Any:
            return lambda *args: calls.append((name, args))

    monkeypatch.setattr(rollout.client, "AppsV1Api", Api)
    monkeypatch.setattr(rollout.client, "CoreV1Api", Api)
    rollout.set_image(object(), "ns", "StatefulSet", "db", "web", "web:v2")
    rollout.set_image(object(), "ns", "Pod", "web2", "web", "web:v2")
    containers = {"spec": {"containers": [{"name": "web", "image": "web:v2"}]}}
    assert calls == [
        ("patch_namespaced_stateful_set", ("db", "ns", {"spec": {"template": containers}})),
        ("patch_namespaced_pod", ("web2", "ns", containers)),
    ]
