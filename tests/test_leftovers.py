"""An earlier run's namespaces are collected, and only those (podlife.kube.api.leftovers)."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest
from kubernetes import client

from podlife.kube import leftovers


class FakeCore:
    def __init__(self, names: list[str], refuse: int | None = None, gone: str = "") -> None:
        self.names, self.refuse, self.gone = names, refuse, gone
        self.calls: list[tuple[str, str]] = []

    def list_namespace(self, label_selector: str) -> Any:
        self.calls.append(("list", label_selector))
        if self.refuse:
            raise client.ApiException(status=self.refuse, reason="Forbidden")
        return NS(items=[NS(metadata=NS(name=n)) for n in self.names])

    def delete_collection_namespaced_pod(self, name: str, grace_period_seconds: int) -> None:
        if name == self.gone:
            raise client.ApiException(status=404, reason="Not Found")
        self.calls.append(("pods", f"{name} grace {grace_period_seconds}"))

    def delete_namespace(self, name: str) -> None:
        self.calls.append(("namespace", name))


def collect(
    monkeypatch: pytest.MonkeyPatch, names: list[str], delete: bool = True, **fake: Any
) -> tuple[FakeCore, list[str], list[dict]]:
    core, said, waits = FakeCore(names, **fake), [], []
    monkeypatch.setattr(leftovers, "api_client", lambda path: path)
    monkeypatch.setattr(leftovers.client, "CoreV1Api", lambda api: core)
    monkeypatch.setattr(leftovers, "wait_for", lambda *a, **kw: waits.append(kw))
    assert leftovers.collect("kubeconfig", said.append, delete=delete) == (
        [] if core.refuse else sorted(names)
    )
    return core, said, waits


def test_the_labelled_namespaces_are_deleted_and_awaited_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    core, said, waits = collect(monkeypatch, ["podlife-b-1", "podlife-a-2"])
    assert ("list", "podlife=scenario") in core.calls
    assert [c for c in core.calls if c[0] == "namespace"] == [
        ("namespace", "podlife-a-2"),
        ("namespace", "podlife-b-1"),
    ]
    assert ("pods", "podlife-a-2 grace 1") in core.calls
    assert waits and waits[0]["label_selector"] == "podlife=scenario" and waits[0]["timeout"] > 0
    assert "podlife-a-2, podlife-b-1" in said[0]


def test_nothing_left_means_nothing_deleted_or_said(monkeypatch: pytest.MonkeyPatch) -> None:
    core, said, waits = collect(monkeypatch, [])
    assert [c[0] for c in core.calls] == ["list"] and not said and not waits


def test_on_a_cluster_podlife_does_not_own_they_are_only_named(monkeypatch: pytest.MonkeyPatch) -> None:
    core, said, waits = collect(monkeypatch, ["podlife-a-1"], delete=False)
    assert [c[0] for c in core.calls] == ["list"] and not waits
    assert "podlife-a-1" in said[0] and "not deleted" in said[0]


def test_a_namespace_gone_meanwhile_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    core, _, waits = collect(monkeypatch, ["podlife-a-1", "podlife-b-2"], gone="podlife-a-1")
    assert ("pods", "podlife-b-2 grace 1") in core.calls and waits


def test_a_cluster_that_forbids_listing_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    _, said, waits = collect(monkeypatch, ["podlife-a-1"], delete=False, refuse=403)
    assert "not looked for" in said[0] and not waits
    with pytest.raises(client.ApiException):  # on podlife's own cluster it is an error
        collect(monkeypatch, ["podlife-a-1"], refuse=403)


def test_an_interrupted_run_deletes_only_its_own_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    core, waits = FakeCore(["podlife-a-1"]), []
    monkeypatch.setattr(leftovers, "api_client", lambda path: path)
    monkeypatch.setattr(leftovers.client, "CoreV1Api", lambda api: core)
    monkeypatch.setattr(leftovers, "wait_for", lambda *a, **kw: waits.append(kw))
    assert leftovers.abandon("kubeconfig", "20261205-abc", timeout=20) == ["podlife-a-1"]
    assert core.calls[0] == ("list", "podlife=scenario,podlife-run=20261205-abc")
    assert ("namespace", "podlife-a-1") in core.calls
    assert ("pods", "podlife-a-1 grace 0") in core.calls  # at once, even on a stopped node
    assert (
        waits[0]["label_selector"] == "podlife=scenario,podlife-run=20261205-abc"
        and waits[0]["timeout"] == 20
    )
    assert leftovers.labels("r1") == {"podlife": "scenario", "podlife-run": "r1"}
    assert leftovers.labels("") == leftovers.LABEL
