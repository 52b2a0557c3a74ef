"""A node lost for a while: its kind node container stopped (or, on any other node, its kubelet
stopped through podlife's agent) until the API calls it not ready, and started again (and Ready)
whatever happens meanwhile.  Claims and profiles use the same one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from podlife.errors import SetupError
from podlife.kube.helpers import onnode
from podlife.kube.node import nodes
from podlife.kube.node.acting import Acting

NOT_READY_S = 120  # the controller manager's grace period (50 s stock) and its next look
READY_AGAIN_S = 180

MARGIN_S = 30  # the switch that brings a kubelet back on its own: this long after the hold


def switch_s(hold_s: float) -> int:
    """When the kubelet comes back by itself whatever becomes of podlife: the node's NotReady, the
    hold and a margin (the claims hold just past the tolerations they measure); a hold longer than
    the agent arms is refused before anything is done."""
    seconds = int(NOT_READY_S + hold_s + MARGIN_S)
    if seconds > onnode.MAX_SWITCH_S:
        raise SetupError(
            f"a node loss held {hold_s:.0f} s (the pods' tolerations): longer than podlife keeps a node "
            f"down ({onnode.MAX_SWITCH_S - NOT_READY_S - MARGIN_S} s)"
        )
    return seconds


@contextmanager
def node_down(kube: Acting, node: str, hold_s: float) -> Iterator[dict[str, Any]]:
    """The node stopped, until it is NotReady; on leaving (at most ``hold_s`` later, else the
    node comes back by itself), started again and Ready.  A stop that fails or whose answer is
    lost starts the node again at once.  The facts yielded get the method and the seconds each
    took."""
    facts: dict[str, Any] = {}
    provider = kube.cluster.core.read_node(node).spec.provider_id
    nodes.may_stop(node)  # a refusal (no leave, too long a hold) before anything is done
    switch = switch_s(hold_s)
    stopped = time.monotonic()
    facts["stopped_at"] = kube.act(f"stop node {node}")
    try:
        facts["method"] = nodes.stop_node(node, provider, switch)
        facts["node_not_ready_after_s"] = kube.node_ready(node, ready=False, timeout=NOT_READY_S)
        yield facts
    finally:
        kube.act(f"start node {node}")
        nodes.start_node(node)
    facts["node_ready_again_after_s"] = kube.node_ready(node, ready=True, timeout=READY_AGAIN_S)
    facts["down_s"] = round(time.monotonic() - stopped, 1)
