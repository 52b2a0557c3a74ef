"""One way in per node, chosen once: :class:`NodeAccess` is what acting below the API asks of a
node, and :class:`Access` chooses, the first time a node is named, how that node is reached:
through this machine's Docker for podlife's own kind nodes (``kind.DockerNode``), else through
podlife's agent (:class:`AgentNode`, :mod:`podlife.kube.node.agent`).  As krkn puts each node
backend behind one interface, nothing else asks which one it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from podlife.errors import SetupError
from podlife.kube.node import kind
from podlife.kube.node.kind import container_id

AGENT_LOSS = (
    "its kubelet stopped by podlife's agent (systemctl stop kubelet on the node; its containers go "
    "on running, a timer on the node starts the kubelet again if podlife does not)"
)


class NodeAccess(Protocol):
    node: str

    def container_ids(self) -> set[str]: ...

    def kill_container(self, raw_id: str) -> int: ...

    def kernel_log(self) -> str: ...

    def may_stop(self) -> None: ...

    def stop(self, provider_id: str | None, back_within_s: int) -> str: ...

    def start(self) -> None: ...


@dataclass(frozen=True)
class AgentNode:
    """A node reached through podlife's agent; stopping its kubelet only with the user's leave."""

    node: str
    agent: Any
    allow_disruption: bool

    def container_ids(self) -> set[str]:
        return set(self.agent.container_ids(self.node))

    def kill_container(self, raw_id: str) -> int:
        return int(self.agent.kill_container(self.node, "containerd://" + container_id(raw_id)))

    def kernel_log(self) -> str:
        return str(self.agent.kernel_log(self.node))

    def may_stop(self) -> None:
        if not self.allow_disruption:
            raise SetupError(
                f"losing or draining {self.node} (its kubelet stopped, or its pods evicted) disrupts a node "
                "of a cluster podlife did not create (or cannot reach through Docker): pass "
                "--allow-node-disruption to allow it"
            )

    def stop(self, provider_id: str | None, back_within_s: int) -> str:
        self.may_stop()
        self.agent.stop_kubelet(self.node, back_within_s)
        return AGENT_LOSS

    def start(self) -> None:
        self.agent.start_kubelet(self.node)


@dataclass
class Access:
    """How a run reaches nodes below the API: its agent (None: Docker only), whether it may stop
    a kubelet, and each node's way in, chosen the first time the node is named."""

    agent: Any = None
    allow_disruption: bool = False
    provider_of: Callable[[str], str | None] | None = None  # the API's spec.providerID of a node
    chosen: dict[str, NodeAccess] = field(default_factory=dict)

    def of(self, node: str) -> NodeAccess:
        if node not in self.chosen:
            self.chosen[node] = self.choose(node)
        return self.chosen[node]

    def choose(self, node: str) -> NodeAccess:
        try:  # by identity: the container of that name must be the very node the API means
            kind.own(node, self.provider_of(node) if self.provider_of else None)
            return kind.DockerNode(node)
        except SetupError:
            if self.agent is None:
                raise
            return AgentNode(node, self.agent, self.allow_disruption)
