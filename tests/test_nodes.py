"""Acting below the API: only on kind nodes podlife marked as its own, and the very node the API
means; one way in per node, chosen once; container ids checked before anything is done."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from podlife.errors import SetupError
from podlife.kube import access, kind


def test_podlife_acts_below_the_api_only_on_nodes_it_marked_and_the_api_means(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def tarred(text: str) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("owner")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
        return buf.getvalue()

    marks = {"ours": tarred(json.dumps({"cluster": "podlife"})), "broken": tarred("{")}

    monkeypatch.setattr(kind, "copy_out", lambda node, path: marks.get(node))
    assert kind.owner("ours") == "podlife" and kind.owner("broken") is None and kind.owner("theirs") is None
    monkeypatch.setattr(kind, "owner", {"ours": "podlife", "theirs": None}.get)
    monkeypatch.setattr(kind, "kind_cluster_of", lambda node: "podlife")
    kind.own("ours")
    kind.own("ours", "kind://docker/podlife/ours")
    with pytest.raises(kind.SetupError, match="carries no podlife mark for podlife"):
        kind.own("theirs")
    with pytest.raises(kind.SetupError, match="providerID is 'aws:///eu-west-1a/i-0abc'"):
        kind.own("ours", "aws:///eu-west-1a/i-0abc")


@pytest.mark.parametrize(
    "raw", ["", "0", "a", "containerd://", "containerd://abc", "x" * 64, "A" * 64, "a" * 65]
)
def test_a_container_id_that_is_not_a_full_id_is_refused(raw: str) -> None:
    """A substring of the cgroup path would select other processes (``""`` selects PID 1's)."""
    with pytest.raises(SetupError, match="not a container id"):
        kind.container_id(raw)
    assert kind.container_id("containerd://" + "a" * 64) == "a" * 64


def test_marking_a_node_builds_no_shell_string(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[str, ...], object]] = []
    monkeypatch.setattr(kind, "docker", lambda *args, **kw: calls.append((args, kw.get("stdin"))) or "")
    kind.mark("podlife-worker", "x'; touch /tmp/owned; '", "2026-12-06T00:00:00Z")
    assert [args for args, _ in calls] == [
        ("exec", "podlife-worker", "mkdir", "-p", "/etc/podlife"),
        ("exec", "-i", "podlife-worker", "tee", "/etc/podlife/owner"),
    ]
    assert json.loads(str(calls[1][1]))["cluster"] == "x'; touch /tmp/owned; '"


def test_each_node_is_reached_one_way_chosen_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def own(node: str, provider_id: object = None) -> str:
        asked.append(node)
        if node != "podlife-worker":
            raise SetupError(f"{node}: not podlife's")
        return "podlife"

    monkeypatch.setattr(kind, "own", own)
    with pytest.raises(SetupError, match="not podlife's"):
        access.Access().of("gke-node")  # no agent: an error, never a guess
    chooser = access.Access(agent=object())
    assert isinstance(chooser.of("podlife-worker"), kind.DockerNode)
    assert isinstance(chooser.of("gke-node"), access.AgentNode)
    chooser.of("podlife-worker"), chooser.of("gke-node")
    assert asked == ["gke-node", "podlife-worker", "gke-node"]  # each chosen once per run


def test_a_node_is_reached_through_docker_only_when_the_api_means_that_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A foreign cluster's node that shares its name with a local kind node container goes through
    the agent: the API's providerID is not that container's."""
    monkeypatch.setattr(kind, "kind_cluster_of", lambda node: "podlife")
    monkeypatch.setattr(kind, "owner", lambda node: "podlife")
    providers = {"podlife-worker": "kind://docker/podlife/podlife-worker", "podlife-worker2": "aws:///i-0abc"}
    chooser = access.Access(agent=object(), provider_of=providers.get)
    assert isinstance(chooser.of("podlife-worker"), kind.DockerNode)
    assert isinstance(chooser.of("podlife-worker2"), access.AgentNode)
