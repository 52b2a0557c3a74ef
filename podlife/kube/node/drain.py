"""``kubectl drain`` as a person runs it, limited to a scenario's own pods, and the node's
schedulability restored afterwards.

podlife labels every pod of the scenario with ``LABEL=<its namespace>`` and drains with
``--pod-selector`` on it: the drain cordons the node (which the scenario holds alone) and evicts
nothing of anyone else's.  Its output is read line by line as it comes, each line stamped with
the seconds since the drain began: when kubectl evicted a pod, when a PodDisruptionBudget
refused an eviction (kubectl retries every 5 s), when it gave up or was done.
"""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from podlife.kube.node import nodes
from podlife.kube.node.acting import Acting
from podlife.kube.pod.manifest import pod_spec

LABEL = "podlife-drain"
TIMEOUT_S = 150
BUDGET_REFUSED = "violate the pod's disruption budget"
NO_CONTROLLER = "declare no controller"


@dataclass
class Drained:
    """One ``kubectl drain``: its exit code and its output lines, (seconds after it began, line)."""

    argv: list[str]
    code: int
    lines: list[tuple[float, str]] = field(default_factory=list)

    def saying(self, text: str) -> list[tuple[float, str]]:
        return [(at, line) for at, line in self.lines if text in line]

    def summary(self) -> dict[str, Any]:
        return {
            "command": " ".join(self.argv),
            "exit_code": self.code,
            "took_s": self.lines[-1][0] if self.lines else None,
            "evictions_refused_by_budget": len(self.saying(BUDGET_REFUSED)),
            "output": [f"{at:6.1f}s {line}" for at, line in self.lines],
        }


def labelled(docs: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """The documents with every pod (and pod template) labelled ``LABEL=<namespace>``."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        if pod_spec(doc) is not None:
            meta = doc if doc["kind"] == "Pod" else doc["spec"]["template"]
            meta.setdefault("metadata", {}).setdefault("labels", {})[LABEL] = namespace
    return docs


def drain(kube: Acting, node: str, *, force: bool) -> Drained:
    """``kubectl drain`` of ``node``, only the namespace's labelled pods, emptyDir data allowed to
    go; ``force``: pods that no controller manages are deleted too."""
    argv = [
        "kubectl",
        "drain",
        node,
        f"--pod-selector={LABEL}={kube.namespace}",
        "--delete-emptydir-data",
        f"--timeout={TIMEOUT_S}s",
        *(["--force"] if force else []),
    ]
    kube.act(" ".join(argv))
    run = [str(kube.cluster.kubectl), "--kubeconfig", str(kube.cluster.kubeconfig), *argv[1:]]
    began = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # kubectl ends by its own --timeout
            lines.append((round(time.monotonic() - began, 1), line.rstrip()))
        code = proc.wait(timeout=30)
    return Drained(argv, code, lines)


@contextmanager
def cordon_restored(kube: Acting, node: str) -> Iterator[None]:
    """A drain of ``node`` allowed (podlife's own node, or --allow-node-disruption), and on leaving
    the cordon the drain made undone: a node podlife found schedulable is marked
    (:data:`CORDONED_BY` = the run) before the drain cordons it, and uncordoned afterwards only
    while the mark is still podlife's; a node found cordoned is left as it is.  A run killed
    meanwhile leaves the mark, and the next run on the cluster undoes it
    (:func:`uncordon_left`)."""
    nodes.may_stop(node)
    core, mark = kube.cluster.core, kube.cluster.run or kube.namespace
    was = bool(core.read_node(node).spec.unschedulable)
    if not was:
        core.patch_node(node, {"metadata": {"annotations": {CORDONED_BY: mark}}})
    try:
        yield
    finally:
        if was:
            kube.act(f"node {node} left cordoned, as it was before the drain")
        elif ((core.read_node(node).metadata.annotations or {}).get(CORDONED_BY)) == mark:
            kube.act(f"node {node} uncordoned again, as it was")
            core.patch_node(node, UNCORDON)


CORDONED_BY = "podlife.io/cordoned-by"  # the run whose drain cordoned the node
UNCORDON = {"spec": {"unschedulable": False}, "metadata": {"annotations": {CORDONED_BY: None}}}


def uncordon_left(core: Any, say: Callable[[str], None]) -> list[str]:
    """Every node a killed run's drain left cordoned (its mark still on it) uncordoned; their names."""
    left = [n.metadata.name for n in core.list_node().items if CORDONED_BY in (n.metadata.annotations or {})]
    for name in left:
        core.patch_node(name, UNCORDON)
    if left:
        say(f"an earlier run's drain left {len(left)} node(s) cordoned, uncordoned: {', '.join(left)}")
    return left
