"""A drain's cordon: only with leave on a node not podlife's own, undone on leaving only while
podlife's mark is on it, left as it was when it was cordoned before, and undone by the next run
when a killed run left it."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace as NS
from typing import Any

import pytest

from podlife.errors import SetupError
from podlife.kube import drain, nodes


class Core:
    def __init__(self, **unschedulable: bool) -> None:
        self.nodes = {n: {"unschedulable": u, "annotations": {}} for n, u in unschedulable.items()}

    def read_node(self, name: str) -> Any:
        n = self.nodes[name]
        return NS(
            spec=NS(unschedulable=n["unschedulable"]), metadata=NS(name=name, annotations=n["annotations"])
        )

    def list_node(self) -> Any:
        return NS(items=[self.read_node(n) for n in self.nodes])

    def patch_node(self, name: str, body: dict[str, Any]) -> None:
        n = self.nodes[name]
        if "unschedulable" in body.get("spec", {}):
            n["unschedulable"] = body["spec"]["unschedulable"]
        for k, v in body.get("metadata", {}).get("annotations", {}).items():
            n["annotations"].pop(k, None) if v is None else n["annotations"].__setitem__(k, v)


class Scene:
    namespace = "drain-ns"

    def __init__(self, core: Core) -> None:
        self.cluster: Any = NS(core=core, run="run-1")
        self.acts: list[str] = []

    def act(self, text: str) -> datetime:
        self.acts.append(text)
        return datetime.now()


@pytest.fixture(autouse=True)
def allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nodes, "may_stop", lambda node: None)


def test_the_cordon_podlife_made_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    core = Core(w=False)
    with drain.cordon_restored(Scene(core), "w"):
        assert core.nodes["w"]["annotations"] == {drain.CORDONED_BY: "run-1"}
        core.patch_node("w", {"spec": {"unschedulable": True}})  # kubectl drain's cordon
    assert core.nodes["w"] == {"unschedulable": False, "annotations": {}}


def test_a_node_cordoned_before_is_left_cordoned() -> None:
    core = Core(w=True)
    with drain.cordon_restored(Scene(core), "w"):
        pass
    assert core.nodes["w"] == {"unschedulable": True, "annotations": {}}


def test_without_leave_a_node_not_podlifes_own_is_not_drained(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(node: str) -> None:
        raise SetupError("pass --allow-node-disruption to allow it")

    monkeypatch.setattr(nodes, "may_stop", refuse)
    core = Core(w=False)
    with pytest.raises(SetupError, match="--allow-node-disruption"), drain.cordon_restored(Scene(core), "w"):
        pytest.fail("drained without leave")
    assert core.nodes["w"] == {"unschedulable": False, "annotations": {}}


def test_the_next_run_uncordons_what_a_killed_run_left_and_only_that() -> None:
    core = Core(a=True, b=True, c=False)
    core.nodes["a"]["annotations"][drain.CORDONED_BY] = "killed-run"  # b: an admin's cordon
    said: list[str] = []
    assert drain.uncordon_left(core, said.append) == ["a"]
    assert core.nodes["a"]["unschedulable"] is False and core.nodes["b"]["unschedulable"] is True
    assert said and "uncordoned: a" in said[0]
