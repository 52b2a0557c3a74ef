"""An earlier run's namespaces are collected, and only those (podlife.kube.api.leftovers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

import pytest
from kubernetes import client

from podlife.kube import leftovers


class FakeCore:
    def __init__(self, names: list[str], refuse: int | None = None, gone: str = "") -> None:
        self.names, self.refuse, self.gone = names, refuse, gone
        self.labels: dict[str, dict[str, str]] = {}
        self.calls: list[tuple[str, str]] = []

    def list_namespace(self, label_selector: str) -> Any:
        self.calls.append(("list", label_selector))
        if self.refuse:
            raise client.ApiException(status=self.refuse, reason="Forbidden")
        old = datetime.now(UTC) - timedelta(hours=2)
        return NS(
            items=[
                NS(metadata=NS(name=n, labels=self.labels.get(n, {}), creation_timestamp=old))
                for n in self.names
            ]
        )

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


def test_on_a_cluster_podlife_does_not_own_only_a_gone_runs_namespaces_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run elsewhere renews its Lease: its namespace is named; a killed run's (its Lease not renewed,
    or none) and an hour-old one of no run are deleted; a run whose Lease podlife may not read is
    taken for alive."""
    core, said = FakeCore(["podlife-live-1", "podlife-dead-2", "podlife-old-3", "podlife-hidden-4"]), []
    core.labels = {
        "podlife-live-1": {"podlife-run": "live"},
        "podlife-dead-2": {"podlife-run": "dead"},
        "podlife-hidden-4": {"podlife-run": "hidden"},
    }
    monkeypatch.setattr(leftovers, "api_client", lambda path: path)
    monkeypatch.setattr(leftovers.client, "CoreV1Api", lambda api: core)
    monkeypatch.setattr(leftovers, "wait_for", lambda *a, **kw: None)
    monkeypatch.setattr(leftovers.lease, "alive", lambda api, run: {"live": True, "dead": False}.get(run))
    assert leftovers.collect("kubeconfig", said.append, delete=False) == ["podlife-dead-2", "podlife-old-3"]
    assert [c for c in core.calls if c[0] == "namespace"] == [
        ("namespace", "podlife-dead-2"),
        ("namespace", "podlife-old-3"),
    ]
    assert "podlife-hidden-4, podlife-live-1" in said[0] and "not deleted" in said[0]
    assert ("pods", "podlife-dead-2 grace 0") in core.calls  # its run is over: at once, a lost node too


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


def test_a_runs_lease_is_alive_while_renewed(monkeypatch: pytest.MonkeyPatch) -> None:
    from podlife.kube import lease

    renewed: dict[str, Any] = {}

    class Coordination:
        def __init__(self, api: Any) -> None: ...

        def read_namespaced_lease(self, name: str, namespace: str) -> Any:
            if namespace not in renewed:
                raise client.ApiException(status=renewed.get("status", 404))
            return NS(spec=NS(renew_time=renewed[namespace]))

    monkeypatch.setattr(lease.client, "CoordinationV1Api", Coordination)
    assert lease.alive(None, "r1") is False  # no Lease: its run is gone (or never made one)
    renewed["podlife-run-r1"] = datetime.now(UTC) - timedelta(seconds=15)
    assert lease.alive(None, "r1") is True
    renewed["podlife-run-r1"] = datetime.now(UTC) - timedelta(seconds=lease.DEAD_AFTER_S + 1)
    assert lease.alive(None, "r1") is False
    renewed["status"] = 403
    assert lease.alive(None, "r2") is None  # not readable: cannot tell


def test_a_run_holds_its_lease_in_a_namespace_of_its_own_and_deletes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podlife.kube import lease

    calls: list[str] = []
    monkeypatch.setattr(lease.owned, "create", lambda api, name, labels: calls.append(f"namespace {name}"))

    class Coordination:
        def __init__(self, api: Any) -> None: ...

        def create_namespaced_lease(self, namespace: str, body: Any) -> None:
            calls.append(f"lease {namespace} {body.spec.holder_identity} {body.spec.lease_duration_seconds}")

    class Core:
        def __init__(self, api: Any) -> None: ...

        def delete_namespace(self, name: str) -> None:
            calls.append(f"delete {name}")

    monkeypatch.setattr(lease.client, "CoordinationV1Api", Coordination)
    monkeypatch.setattr(lease.client, "CoreV1Api", Core)
    with lease.RunLease(None, "r1", {"podlife": "scenario"}) as held:
        assert held.thread.is_alive()
    held.thread.join(1)
    assert not held.thread.is_alive()
    assert calls == ["namespace podlife-run-r1", "lease podlife-run-r1 r1 60", "delete podlife-run-r1"]


def test_a_node_of_podlifes_own_cluster_a_killed_run_left_stopped_is_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reached through a kubeconfig with Docker answering: podlife's own stopped node container is
    started again (by the API's providerID); a stranger's, a running one, and none where Docker does
    not answer."""
    import podlife.provision as provision
    from podlife.errors import SetupError

    started: list[str] = []
    nodes = [
        NS(metadata=NS(name=n), spec=NS(provider_id=p))
        for n, p in [
            ("own-w", "kind://docker/own/own-w"),
            ("up-w", "kind://docker/own/up-w"),
            ("stranger", "kind://docker/kind/stranger"),
            ("cloud", "aws:///i-1"),
        ]
    ]
    core = NS(list_node=lambda: NS(items=nodes))

    def own(name: str, provider: str) -> str:
        if name == "stranger":
            raise SetupError("no podlife mark")
        return "own"

    def attempt(*args: str, **kw: Any) -> Any:
        if args[0] == "start":
            started.append(args[1])
        return NS(returncode=0, stdout="false" if args[-1] == "own-w" else "true")

    monkeypatch.setattr(provision.kind, "own", own)
    monkeypatch.setattr(provision, "attempt", attempt)
    provision.start_own_nodes(core)  # type: ignore[arg-type]
    assert started == ["own-w"]
    monkeypatch.setattr(provision, "docker_answers", lambda: False)
    started.clear()
    provision.start_own_nodes(core)  # type: ignore[arg-type]
    assert started == []


def test_a_run_that_cannot_hold_its_lease_does_not_start_and_leaves_no_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podlife.kube import lease

    deleted: list[str] = []
    monkeypatch.setattr(lease.owned, "create", lambda api, name, labels: None)

    class Coordination:
        def __init__(self, api: Any) -> None: ...

        def create_namespaced_lease(self, namespace: str, body: Any) -> None:
            raise client.ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(lease.client, "CoordinationV1Api", Coordination)
    monkeypatch.setattr(lease.client, "CoreV1Api", lambda api: NS(delete_namespace=deleted.append))
    with pytest.raises(client.ApiException), lease.RunLease(None, "r1", {}):
        pass
    assert deleted == ["podlife-run-r1"]
