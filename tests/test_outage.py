"""A node lost for a while, on every path: a stop whose answer is lost starts the node again at
once; a refusal does nothing; the switch on the node never outlasts what podlife may hold."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace as NS
from typing import Any

import pytest

from podlife.errors import SetupError
from podlife.kube import nodes, onnode, outage


class Scene:
    namespace = "ns"

    def __init__(self) -> None:
        self.acts: list[str] = []
        node = NS(spec=NS(provider_id="kind://docker/podlife/podlife-worker"))
        self.cluster: Any = NS(core=NS(read_node=lambda name: node))

    def act(self, text: str) -> datetime:
        self.acts.append(text)
        return datetime.now()

    def node_ready(self, node: str, *, ready: bool, timeout: float) -> float:
        return 1.0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    monkeypatch.setattr(nodes, "may_stop", lambda node: seen.append(("may_stop", node)))
    monkeypatch.setattr(nodes, "start_node", lambda node: seen.append(("start", node)))
    return seen


def test_a_stop_whose_answer_is_lost_starts_the_node_again_at_once(
    calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(node: str, provider: Any, switch_s: int) -> str:
        calls.append(("stop", switch_s))
        raise SetupError("podlife's agent on podlife-worker not reached (GET stop/200: 504 Gateway Timeout)")

    monkeypatch.setattr(nodes, "stop_node", lost)
    with pytest.raises(SetupError, match="504"), outage.node_down(Scene(), "podlife-worker", hold_s=50):
        pytest.fail("the node was never down")
    assert calls == [("may_stop", "podlife-worker"), ("stop", 200), ("start", "podlife-worker")]


def test_no_leave_to_stop_the_node_does_nothing(
    calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(node: str) -> None:
        raise SetupError("pass --allow-node-disruption to allow it")

    monkeypatch.setattr(nodes, "may_stop", refuse)
    monkeypatch.setattr(nodes, "stop_node", lambda *a: pytest.fail("stopped without leave"))
    scene = Scene()
    with pytest.raises(SetupError, match="--allow-node-disruption"), outage.node_down(scene, "n", hold_s=50):
        pass
    assert calls == [] and scene.acts == []


def test_the_switch_never_outlasts_what_podlife_may_hold(calls: list[tuple[str, Any]]) -> None:
    assert outage.switch_s(20 + 30) == 200  # podlife's own cluster: tolerations of 20 s
    assert outage.switch_s(300 + 30) <= onnode.MAX_SWITCH_S  # a stock cluster's 300 s
    with pytest.raises(SetupError, match="longer than podlife keeps a node down"):
        outage.switch_s(3600)


@pytest.mark.parametrize("seconds", [0, onnode.MAX_SWITCH_S + 1, 99999999])
def test_the_agent_arms_no_switch_outside_its_bound(seconds: int, monkeypatch: pytest.MonkeyPatch) -> None:
    kubelet = onnode.Kubelet()
    monkeypatch.setattr(kubelet, "node", lambda *argv: pytest.fail(f"ran {argv}"))
    assert "podlife arms 1 to" in kubelet.answer(f"/stop/{seconds}")["error"]
