"""A node lost for a while: its kind node container stopped (or, on any other node, its kubelet
stopped through podlife's agent) until the API calls it not ready, and started again (and Ready)
whatever happens meanwhile.  Claims and profiles use the same one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from podlife.kube.node import nodes
from podlife.kube.node.acting import Acting

NOT_READY_S = 120  # the controller manager's grace period (50 s stock) and its next look
READY_AGAIN_S = 180

MARGIN_S = 120  # the switch that brings a kubelet back on its own: this long after the hold


@contextmanager
def node_down(kube: Acting, node: str, hold_s: float = 600) -> Iterator[dict[str, Any]]:
    """The node stopped, until it is NotReady; on leaving (at most ``hold_s`` later, else the
    node comes back by itself), started again and Ready.  The facts yielded get the method and
    the seconds each took."""
    facts: dict[str, Any] = {}
    provider = kube.cluster.core.read_node(node).spec.provider_id
    stopped = time.monotonic()
    facts["stopped_at"] = kube.act(f"stop node {node}")
    facts["method"] = nodes.stop_node(node, provider, int(NOT_READY_S + hold_s + MARGIN_S))
    try:
        facts["node_not_ready_after_s"] = kube.node_ready(node, ready=False, timeout=NOT_READY_S)
        yield facts
    finally:
        kube.act(f"start node {node}")
        nodes.start_node(node)
    facts["node_ready_again_after_s"] = kube.node_ready(node, ready=True, timeout=READY_AGAIN_S)
    facts["down_s"] = round(time.monotonic() - stopped, 1)
