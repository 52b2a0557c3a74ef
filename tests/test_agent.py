"""podlife's agent: a privileged pod on the node for what Docker cannot reach, and the programs it runs
there, each run here against this machine's own /proc and a process of the test's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import types
from typing import Any

import pytest
import requests
from kubernetes import client

from podlife.errors import SetupError
from podlife.kube import access, agent, helpers, kind, nodes, onnode


def test_the_agent_pod_is_pinned_privileged_with_the_hosts_pids_and_tolerates_every_taint() -> None:
    pod = agent.manifest("agent-0", "worker-3", "python:3.11", "t0ken")
    spec = pod["spec"]
    assert spec["nodeName"] == "worker-3" and spec["hostPID"] is True
    assert spec["containers"][0]["securityContext"] == {"privileged": True}
    assert spec["tolerations"] == [{"operator": "Exists"}]


def test_the_programs_run_as_written_and_a_container_not_on_the_node_is_an_error() -> None:
    listed = subprocess.run(
        [sys.executable, *helpers.command(onnode, "ids")[1:]], capture_output=True, text=True
    )
    ids = json.loads(listed.stdout)
    assert isinstance(ids, list)
    gone = subprocess.run(
        [sys.executable, *helpers.command(onnode, "kill", "f" * 64)[1:]], capture_output=True, text=True
    )
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

    fake, cid = Fake(), "containerd://" + "a" * 64
    monkeypatch.setattr(kind, "own", refuse)
    monkeypatch.setattr(nodes, "ACCESS", access.Access())
    with pytest.raises(SetupError, match="no Docker here"):
        nodes.kill_container("n1", cid)  # no agent: an error, never a guess
    nodes.use_agent(fake)
    assert nodes.kill_container("n1", cid) == 42 and fake.calls == [("kill", "n1", cid)]
    assert nodes.container_ids("n1") == {"a" * 64}
    assert [k.pid for k in nodes.oom_kills("n1")] == [7]
    with pytest.raises(SetupError, match="--allow-node-disruption"):
        nodes.stop_node("n1")  # a node loss on a node not podlife's own: only when allowed


def test_a_node_loss_through_the_agent_needs_the_users_leave_and_says_how(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, ...]] = []

    class Fake:
        def stop_kubelet(self, node: str, back_within_s: int) -> dict[str, Any]:
            calls.append(("stop", node, str(back_within_s)))
            return {"kubelet": "inactive"}

        def start_kubelet(self, node: str) -> dict[str, Any]:
            calls.append(("start", node))
            return {"kubelet": "active"}

    def refuse(node: str, provider_id: Any = None) -> None:
        raise SetupError(f"{node}: no Docker here")

    monkeypatch.setattr(kind, "own", refuse)
    monkeypatch.setattr(nodes, "ACCESS", access.Access())
    nodes.use_agent(Fake())
    with pytest.raises(SetupError, match="--allow-node-disruption"):
        nodes.stop_node("n1", None, 300)
    assert calls == []  # refused before anything was done
    nodes.use_agent(Fake(), allow_node_disruption=True)
    assert nodes.stop_node("n1", None, 300) == nodes.AGENT_LOSS
    nodes.start_node("n1")
    assert calls == [("stop", "n1", "300"), ("start", "n1")]


def test_the_agent_serves_on_its_port_and_is_ready_only_once_it_listens() -> None:
    (container,) = agent.manifest("agent-0", "worker-3", "python:3.11", "t0ken")["spec"]["containers"]
    assert container["command"][:2] == ["python3", "-c"]
    assert container["command"][3:] == ["serve", str(agent.PORT), str(agent.HEARTBEAT_S)]
    assert container["env"] == [{"name": onnode.TOKEN_ENV, "value": "t0ken"}]
    spec = agent.manifest("agent-0", "worker-3", "python:3.11", "t0ken")["spec"]
    assert spec["activeDeadlineSeconds"] == agent.DEADLINE_S and spec["automountServiceAccountToken"] is False
    assert container["readinessProbe"] == {"tcpSocket": {"port": agent.PORT}, "periodSeconds": 1}


@pytest.fixture
def served(tmp_path: Any) -> Any:
    """The agent's server, run here with a stand-in ``nsenter`` on PATH that plays the node: it
    logs each command and keeps the kubelet's state in a file."""
    log, state = tmp_path / "log", tmp_path / "kubelet"
    state.write_text("active")
    fake = tmp_path / "nsenter"
    fake.write_text(
        "#!/bin/sh\n"
        'shift 4\necho "$*" >> ' + str(log) + "\n"
        'case "$*" in\n'
        '  "systemctl is-active kubelet") cat ' + str(state) + "; exit 0;;\n"
        '  "systemctl stop kubelet") echo inactive > ' + str(state) + ";;\n"
        '  "systemctl start kubelet") echo active > ' + str(state) + ";;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", onnode.TOKEN_ENV: "s3cret"}
    proc = subprocess.Popen(
        [sys.executable, *helpers.command(onnode, "serve", str(port), "300")[1:]], env=env
    )
    try:
        for _ in range(100):  # bounded: until it listens (at most 10 s)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)

        def get(path: str, secret: str = "s3cret") -> tuple[int, dict[str, Any]]:
            answer = requests.get(f"http://127.0.0.1:{port}/{secret}/{path}", timeout=10)
            return answer.status_code, answer.json()

        yield get, log
    finally:
        proc.kill()
        proc.wait()


def test_the_agent_arms_its_switch_before_it_stops_the_kubelet_and_disarms_it_on_start(served: Any) -> None:
    get, log = served
    assert get("kubelet") == (200, {"kubelet": "active", "stopped": False, "switch": None})
    code, stopped = get("stop/420")
    assert code == 200 and stopped["kubelet"] == "inactive" and stopped["back_within_s"] == 420
    switch = stopped["switch"]
    assert get("stop/420")[0] == 500  # stopped already: no second switch
    assert get("restore")[1] == {"kubelet": "active"}
    assert get("restore")[1] == {"kubelet": "active", "restored": False}  # nothing to restore
    commands = log.read_text().splitlines()
    armed = next(i for i, c in enumerate(commands) if c.startswith("systemd-run"))
    assert f"--unit {switch} --on-active 420s" in commands[armed]
    assert commands[armed].endswith("systemctl start kubelet")
    assert commands.index("systemctl stop kubelet") > armed
    assert commands.index(f"systemctl stop {switch}.timer") > commands.index("systemctl start kubelet")


def test_an_agent_without_an_active_kubelet_stops_nothing(served: Any) -> None:
    get, log = served
    log.with_name("kubelet").write_text("inactive")
    code, said = get("stop/60")
    assert code == 500 and "no active kubelet.service" in said["error"]
    assert not any(c.startswith(("systemd-run", "systemctl stop")) for c in log.read_text().splitlines())


def test_the_agent_unreachable_or_failing_is_a_setup_error_naming_the_node() -> None:
    class Core:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def connect_get_namespaced_pod_proxy_with_path(self, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self.answer, Exception):
                raise self.answer
            return types.SimpleNamespace(data=self.answer)

    forbidden = client.ApiException(status=403, reason="Forbidden")
    with pytest.raises(SetupError, match="agent on w1 not reached through the API server's pod proxy"):
        agent.ask(Core(forbidden), "ns", "agent-0", "kubelet", "w1")  # type: ignore[arg-type]
    with pytest.raises(SetupError, match="agent on w1: systemctl stop kubelet: denied"):
        agent.ask(Core(b'{"error": "systemctl stop kubelet: denied"}'), "ns", "agent-0", "stop/9", "w1")  # type: ignore[arg-type]
    with pytest.raises(SetupError, match="answered"):
        agent.ask(Core(b"<html>"), "ns", "agent-0", "kubelet", "w1")  # type: ignore[arg-type]
    assert agent.ask(Core(b'{"kubelet": "active"}'), "ns", "a", "kubelet") == {"kubelet": "active"}  # type: ignore[arg-type]


def test_the_agent_answers_its_run_alone(served: Any) -> None:
    """A request without the run's secret (a plain pod that reaches the agent's IP) changes nothing."""
    get, log = served
    for stranger in ("", "guess", "s3cre", "s3cret0"):
        assert get("stop/5", secret=stranger) == (403, {"error": "forbidden"})
        assert get("start", secret=stranger) == (403, {"error": "forbidden"})
    ran = log.read_text().splitlines() if log.exists() else []
    assert not any(c.startswith(("systemd-run", "systemctl stop")) for c in ran)
    assert get("alive") == (200, {"alive": True})


def test_an_agent_whose_run_is_gone_restores_its_node_and_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    kubelet = onnode.Kubelet()
    kubelet.state["stopped"] = True
    monkeypatch.setattr(kubelet, "start", lambda: calls.append(("start",)) or {})
    monkeypatch.setattr(onnode.os, "_exit", lambda code: calls.append(("exit", str(code))))
    run = onnode.Run("s3cret", heartbeat_s=0.2)
    assert run.authorised("/s3cret/alive") == "alive" and run.authorised("/nope/alive") is None
    onnode.outlive_no_run(kubelet, run, every_s=0.05)  # returns once gone (os._exit stubbed)
    assert calls == [("start",), ("exit", "0")]


def test_the_agents_namespace_goes_whenever_it_was_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its first pod never Ready (a slow pull): the namespace, made, is still deleted."""
    deleted: list[str] = []

    class Core:
        def create_namespace(self, body: Any) -> None:
            pass

        def create_namespaced_pod(self, namespace: str, body: Any) -> None:
            pass

        def delete_namespace(self, name: str, **kw: Any) -> None:
            deleted.append(name)

        def list_namespaced_pod(self, *args: Any, **kw: Any) -> Any:
            return None

    def never_ready(*args: Any, **kwargs: Any) -> None:
        raise SetupError("podlife's agent on w1 to be ready: not within 120 s")

    monkeypatch.setattr(agent.Agent, "core", property(lambda self: Core()))
    monkeypatch.setattr(agent, "wait_for", never_ready)
    made: list[str] = []
    monkeypatch.setattr(agent.owned, "create", lambda api, name, labels: made.append(name))
    one = agent.Agent(object(), "python:3.11", "run-1")  # type: ignore[arg-type]
    with pytest.raises(SetupError, match="not within"):
        one.pod("w1")
    one.close()
    assert made == deleted == [one.namespace] and one.closed.is_set()


def test_the_run_goes_on_pinging_whatever_one_ping_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dropped connection is not a SetupError: the pinger must outlive it, or the agents would end
    (and restore their nodes) in the middle of the run."""
    pinged: list[float] = []

    def flaky(*args: Any, timeout: float = 90, **kw: Any) -> dict[str, Any]:
        pinged.append(timeout)
        if len(pinged) == 1:
            raise ConnectionResetError("connection dropped")
        return {"alive": True}

    monkeypatch.setattr(agent, "ask", flaky)
    monkeypatch.setattr(agent, "PING_S", 0.01)
    one = agent.Agent(object(), "python:3.11", "run-1")  # type: ignore[arg-type]
    one.pods["w1"] = "agent-0"
    pinger = threading.Thread(target=one.ping, daemon=True)
    pinger.start()
    for _ in range(500):  # bounded: until a second ping came after the failed first
        if len(pinged) >= 2:
            break
        time.sleep(0.01)
    one.closed.set()
    pinger.join(5)
    assert len(pinged) >= 2 and not pinger.is_alive() and all(t == 0.01 for t in pinged)
