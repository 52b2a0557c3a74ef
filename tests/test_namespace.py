"""A scenario's namespace closed after an interrupted run's clean-up deleted it first
(podlife.kube.namespace)."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest
from kubernetes import client

from podlife.kube.namespace import Namespace


class GoneCore:
    def __init__(self, status: int) -> None:
        self.status = status

    def delete_namespace(self, name: str, **_: Any) -> None:
        raise client.ApiException(status=self.status, reason="Not Found" if self.status == 404 else "Boom")

    def delete_collection_namespaced_pod(self, name: str, **_: Any) -> None:
        raise AssertionError("not reached")


class EmptyWatcher:
    stopped = False

    def wait(self, predicate: Any, **_: Any) -> Any:
        return predicate({})

    def stop(self) -> None:
        self.stopped = True


def closing(status: int) -> tuple[Namespace, EmptyWatcher]:
    kube = Namespace(NS(core=GoneCore(status), api=None, probe_image="p"), "x")  # type: ignore[arg-type]
    kube.watcher = watcher = EmptyWatcher()  # type: ignore[assignment]
    return kube, watcher


def test_a_namespace_already_gone_closes_cleanly() -> None:
    kube, watcher = closing(404)
    kube.close(delete=True)
    assert watcher.stopped


def test_any_other_refusal_is_still_a_failed_teardown() -> None:
    kube, watcher = closing(500)
    with pytest.raises(client.ApiException):
        kube.close(delete=True)
    assert watcher.stopped
