"""podlife's agent: a privileged pod on the node for what Docker cannot reach, and the programs it runs
there, each run here against this machine's own /proc and a process of the test's."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from podlife.errors import SetupError
from podlife.kube import agent, nodes


def test_the_agent_pod_is_pinned_privileged_with_the_hosts_pids_and_tolerates_every_taint() -> None:
    pod = agent.manifest("agent-0", "worker-3", "python:3.11")
    spec = pod["spec"]
    assert spec["nodeName"] == "worker-3" and spec["hostPID"] is True
    assert spec["containers"][0]["securityContext"] == {"privileged": True}
    assert spec["tolerations"] == [{"operator": "Exists"}]


def test_the_programs_run_as_written_and_a_container_not_on_the_node_is_an_error() -> None:
    ids = json.loads(subprocess.run([sys.executable, "-c", agent.IDS], capture_output=True, text=True).stdout)
    assert isinstance(ids, list)
    gone = subprocess.run([sys.executable, "-c", agent.KILL, "f" * 64], capture_output=True, text=True)
    assert gone.returncode != 0 and "no process of container" in gone.stderr


def test_a_node_docker_cannot_reach_is_acted_on_through_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        def __init__(self) -> None:
            self.calls: list[tuple[str, ...]] = []

        def kill_container(self, node: str, cid: str) -> int:
            self.calls.append(("kill", node, cid))
            return 42

        def container_ids(self, node: str) -> set[str]:
            return {"a" * 64}

        def kernel_log(self, node: str) -> str:
            return (
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/p/x,task_memcg=/p/x,task=python3,pid=7,uid=0"
            )

    def refuse(node: str, provider_id: Any = None) -> None:
        raise SetupError(f"{node}: no Docker here")

    fake = Fake()
    monkeypatch.setattr(nodes, "require_node_access", refuse)
    monkeypatch.setattr(nodes, "_AGENT", [])
    with pytest.raises(SetupError, match="no Docker here"):
        nodes.kill_container("n1", "containerd://abc")  # no agent: an error, never a guess
    nodes.use_agent(fake)
    assert nodes.kill_container("n1", "containerd://abc") == 42 and fake.calls == [
        ("kill", "n1", "containerd://abc")
    ]
    assert nodes.container_ids("n1") == {"a" * 64}
    assert [k.pid for k in nodes.oom_kills("n1")] == [7]
    with pytest.raises(SetupError):
        nodes.stop_node("n1")  # a node loss stays kind-only
