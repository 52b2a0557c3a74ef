"""Acting on a node below the API: kill a container, list its containers, read its kernel log,
lose the node for a while.

Each node is reached one way, chosen once (:mod:`podlife.kube.node.access`): on podlife's own kind
cluster (its node containers on this machine's Docker, carrying podlife's mark) through Docker
(:mod:`podlife.kube.node.kind`); on any other node through podlife's agent
(:mod:`podlife.kube.node.agent`), a privileged pod on that node.  Losing a node is the one action
that can hurt a cluster someone cares about: on a node not podlife's own it needs
``--allow-node-disruption``.  Without a way in these scenarios end with a SetupError that says so
(never a verdict, never a skip).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podlife.kube.node import access, kind
from podlife.kube.node.access import Access, NodeAccess

# How long a pod stays bound to a node that is unreachable or not ready before it is evicted: the
# tolerations the API server adds to every pod that sets none (``--default-unreachable-toleration-
# seconds``); and how long a node may miss its heartbeats before it is marked so (the controller
# manager's ``--node-monitor-grace-period``).  podlife's own cluster shortens both
# (podlife.provision.kindconfig.lost_node_patch); reports give the stock values beside them.
STOCK_TOLERATION_S = 300
OWN_TOLERATION_S = 20
STOCK_GRACE_S = 50
OWN_GRACE_S = 25
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


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


# The node access of this process's run: one per process (each pytest-xdist worker is one), set
# once by the run (the session's cluster fixture, or the profile) before any scenario, so that a
# claim names only the node (``nodes.kill_container(node, id)``) and never how it is reached.
ACCESS = Access()
DOCKER_LOSS, AGENT_LOSS = kind.LOSS, access.AGENT_LOSS


def use_agent(
    agent: Any, *, allow_node_disruption: bool = False, provider_of: Callable[[str], str | None] | None = None
) -> None:
    """Act through ``agent`` on a node that is not podlife's own kind node on this machine (told by
    the API's ``spec.providerID``, from ``provider_of``); stop such a node's kubelet only when
    ``allow_node_disruption``."""
    ACCESS.agent, ACCESS.allow_disruption, ACCESS.provider_of = agent, allow_node_disruption, provider_of
    ACCESS.chosen.clear()


def reach(node: str) -> NodeAccess:
    """The node's way in (Docker or the agent); a SetupError when there is none."""
    return ACCESS.of(node)


def container_ids(node: str) -> set[str]:
    """Every container the node's runtime runs, as full ids."""
    return reach(node).container_ids()


def kill_container(node: str, container_id: str) -> int:
    """SIGKILL the container's main process through the node; return the pid killed."""
    return reach(node).kill_container(container_id)


def stop_node(node: str, provider_id: str | None = None, back_within_s: int = 900) -> str:
    """The node lost to the API until :func:`start_node`; how (for the report).  Through the
    agent the node's kubelet comes back by itself after ``back_within_s`` at the latest."""
    return reach(node).stop(provider_id, back_within_s)


def may_stop(node: str) -> None:
    """A SetupError when podlife has no leave to lose ``node`` (before anything is done)."""
    reach(node).may_stop()


def start_node(node: str) -> None:
    reach(node).start()


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
    return parse_oom_kills(reach(node).kernel_log())
