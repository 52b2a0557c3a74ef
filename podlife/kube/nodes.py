"""Acting on a node below the API: kill a container, list its containers, read its kernel log,
lose the node for a while.

On podlife's own kind cluster (its node containers on this machine's Docker, carrying podlife's
mark) through Docker; on any other node through podlife's agent (:mod:`podlife.kube.agent`), a
privileged pod on that node.  Losing a node is the one action that can hurt a cluster someone
cares about: on a node not podlife's own it needs ``--allow-node-disruption``.  Without a way in
these scenarios end with a SetupError that says so (never a verdict, never a skip).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass
from typing import Any

from podlife.errors import SetupError

# How long a pod stays bound to a node that is unreachable or not ready before it is evicted: the
# tolerations the API server adds to every pod that sets none (``--default-unreachable-toleration-
# seconds``); and how long a node may miss its heartbeats before it is marked so (the controller
# manager's ``--node-monitor-grace-period``).  podlife's own cluster shortens both
# (podlife.provision.cluster.lost_node_patch); reports give the stock values beside them.
STOCK_TOLERATION_S = 300
OWN_TOLERATION_S = 20
STOCK_GRACE_S = 50
OWN_GRACE_S = 25
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def docker(*args: str, timeout: float = 60) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SetupError(f"docker {' '.join(args[:3])} failed: {proc.stderr.strip()}")
    return proc.stdout


# podlife marks the node containers of every cluster it creates (podlife.provision.cluster.create),
# and acts below the API only on nodes that carry its mark for their own kind cluster.
OWNER_FILE = "/etc/podlife/owner"
KIND_LABEL = "io.x-k8s.kind.cluster"
_OWNED: set[str] = set()  # nodes found podlife's in this process


def kind_cluster_of(node: str) -> str:
    """The kind cluster the node container belongs to, by kind's own label ('' for none)."""
    return docker("inspect", "-f", f'{{{{index .Config.Labels "{KIND_LABEL}"}}}}', node).strip()


def owner(node: str) -> str | None:
    """The cluster podlife's mark on the node container names (running or stopped), or None."""
    proc = subprocess.run(["docker", "cp", f"{node}:{OWNER_FILE}", "-"], capture_output=True, timeout=60)
    if proc.returncode != 0:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            member = tar.next()
            data = tar.extractfile(member) if member else None
            return str(json.loads(data.read())["cluster"]) if data else None
    except (tarfile.TarError, ValueError, KeyError, TypeError):
        return None


def mark(node: str, cluster: str, since: str) -> None:
    """Mark a node container as one of the cluster podlife created."""
    note = json.dumps({"cluster": cluster, "created_by": "podlife", "since": since})
    docker(
        "exec",
        node,
        "sh",
        "-c",
        f"mkdir -p {OWNER_FILE.rsplit('/', 1)[0]} && printf '%s' '{note}' > {OWNER_FILE}",
    )


def require_node_access(node: str, provider_id: str | None = None) -> None:
    """The node is a container on this machine's Docker, of a kind cluster podlife created, and
    (given the API's ``spec.providerID``) the very node the API means: else a SetupError."""
    try:
        cluster = kind_cluster_of(node)
    except (SetupError, OSError) as exc:
        raise SetupError(
            f"this scenario acts on the node {node} through Docker (kind clusters only): {exc}"
        ) from exc
    if node not in _OWNED:
        marked = owner(node)
        if not cluster or marked != cluster:
            raise SetupError(
                f"node {node} is not a node of a kind cluster podlife created (its container carries no "
                f"podlife mark for {cluster or 'any kind cluster'}): podlife acts below the API only on "
                "its own"
            )
        _OWNED.add(node)
    if provider_id is not None and provider_id != f"kind://docker/{cluster}/{node}":
        raise SetupError(
            f"node {node}: the API's providerID is {provider_id!r}, not kind://docker/{cluster}/{node}: "
            "the node the API means is not this machine's container of that name"
        )


def tolerated_s(pod: Any, taint: str = UNREACHABLE) -> int | None:
    """How long the pod stays bound to a node with ``taint`` (NoExecute) before it is evicted:
    its toleration's seconds; None when it tolerates the taint for ever; 0 when not at all."""
    seconds: list[int | None] = [
        t.toleration_seconds
        for t in pod.spec.tolerations or []
        if t.effect in (None, "NoExecute")
        and (
            (t.key == taint and t.operator in (None, "Equal"))
            or (t.operator == "Exists" and t.key in (None, taint))
        )
    ]
    if not seconds:
        return 0
    return None if None in seconds else max(s for s in seconds if s is not None)


_AGENT: list[Any] = []  # the agent (podlife.kube.agent.Agent) for nodes Docker cannot reach
_DISRUPT: list[bool] = [False]  # --allow-node-disruption: a node loss on nodes not podlife's own

DOCKER_LOSS = "docker stop of its kind node container: its kubelet, runtime and containers with it"
AGENT_LOSS = (
    "its kubelet stopped by podlife's agent (systemctl stop kubelet on the node; its containers go "
    "on running, a timer on the node starts the kubelet again if podlife does not)"
)


def use_agent(agent: Any, *, allow_node_disruption: bool = False) -> None:
    """Act through ``agent`` on a node that is not podlife's own kind node on this machine; stop
    such a node's kubelet only when ``allow_node_disruption``."""
    _AGENT[:] = [agent]
    _DISRUPT[0] = allow_node_disruption


def agent_for(node: str) -> Any:
    """None for podlife's own kind node on this machine's Docker (acted on through it); else the
    agent; a SetupError when there is none."""
    try:
        require_node_access(node)
        return None
    except SetupError:
        if _AGENT:
            return _AGENT[0]
        raise


def container_ids(node: str) -> set[str]:
    """Every container the node's runtime runs, as full ids."""
    if agent := agent_for(node):
        return set(agent.container_ids(node))
    listing = json.loads(docker("exec", node, "crictl", "ps", "-o", "json"))
    return {c["id"] for c in listing.get("containers", [])}


def kill_container(node: str, container_id: str) -> int:
    """SIGKILL the container's main process through the node; return the pid killed."""
    if agent := agent_for(node):
        return int(agent.kill_container(node, container_id))
    cid = container_id.split("://", 1)[-1]
    info = json.loads(docker("exec", node, "crictl", "inspect", cid))
    pid = int(info["info"]["pid"])
    docker("exec", node, "kill", "-KILL", str(pid))
    return pid


def stop_node(node: str, provider_id: str | None = None, back_within_s: int = 900) -> str:
    """The node lost to the API until :func:`start_node`; how (for the report).  Through the
    agent the node's kubelet comes back by itself after ``back_within_s`` at the latest."""
    if agent := agent_for(node):
        if not _DISRUPT[0]:
            raise SetupError(
                f"a node loss stops the kubelet of {node}, a node of a cluster podlife did not create "
                "(or cannot reach through Docker): pass --allow-node-disruption to allow it"
            )
        agent.stop_kubelet(node, back_within_s)
        return AGENT_LOSS
    require_node_access(node, provider_id)
    docker("stop", "--time", "10", node, timeout=120)
    return DOCKER_LOSS


def start_node(node: str) -> None:
    if agent := agent_for(node):
        agent.start_kubelet(node)
        return
    require_node_access(node)
    docker("start", node, timeout=120)


@dataclass(frozen=True)
class KernelOomKill:
    """One ``oom-kill:`` record of the node's kernel log: which memory cgroup ran out
    (``oom_memcg``) and which cgroup's task the kernel killed for it (``task_memcg``)."""

    constraint: str
    oom_memcg: str
    task_memcg: str
    task: str
    pid: int

    @property
    def at_own_limit(self) -> bool:
        """The killed task's own cgroup was the one at its limit (a container's own limit)."""
        return self.oom_memcg == self.task_memcg

    def of(self, container_id: str) -> bool:
        """The killed task ran in the container ``container_id`` (``containerd://…`` or bare)."""
        cid = container_id.split("://", 1)[-1]
        return bool(cid) and cid in self.task_memcg.rsplit("/", 1)[-1]

    def to_wire(self) -> dict[str, Any]:
        return {
            "constraint": self.constraint,
            "at_own_limit": self.at_own_limit,
            "task": self.task,
            "pid": self.pid,
            "cgroup": self.task_memcg.rsplit("/", 1)[-1],
        }


_OOM_KILL = re.compile(r"oom-kill:(\S+)")


def parse_oom_kills(log: str) -> list[KernelOomKill]:
    """The kernel's ``oom-kill:constraint=…,oom_memcg=…,task_memcg=…,task=…,pid=…`` records."""
    kills = []
    for line in log.splitlines():
        if not (match := _OOM_KILL.search(line)):
            continue
        fields = dict(f.split("=", 1) for f in match.group(1).split(",") if "=" in f)
        try:
            names = ("constraint", "oom_memcg", "task_memcg", "task")
            kills.append(KernelOomKill(*(fields[n] for n in names), pid=int(fields["pid"])))
        except (KeyError, ValueError):
            continue
    return kills


def oom_kills(node: str) -> list[KernelOomKill]:
    """The OOM kills in the kernel log, read on the node (a kind node shares the host's kernel, so
    the log holds every node's kills; a container id tells whose)."""
    agent = agent_for(node)
    return parse_oom_kills(agent.kernel_log(node) if agent else docker("exec", node, "dmesg"))
