"""The chapter's "Learnings": killing one container, and one node for all of a pod.

"Killing one container in a pod does not restart all others. The container that died is
resurrected. This increments the Restarts of the pod though!" and "All containers in a pod
are scheduled on the same node."  Both act or look below the API, through the kind node's
container runtime.  (The third learning, start-up order, is scenarios/test_startup_order.py.)
"""

from __future__ import annotations

from pathlib import Path

from podlife.claims import LEARNINGS, Claim, Counter, Needs, Nodes
from podlife.errors import SetupError
from podlife.kube import nodes, pods, shape, timeline, webapp
from podlife.measure import Measurement

COUNTER = Path(__file__).parent / "counter"
COPIES = 4
QUIET_S = 10.0  # after the restart, watch this long for any other container to change
SIGKILL_EXIT = 137  # what the runtime reports for a process ended by SIGKILL

KILL = Claim(
    "kill-one-container",
    LEARNINGS,
    "Killing one container in a pod does not restart all others. The container that died is resurrected. "
    "This increments the Restarts of the pod though!",
    counters=(
        Counter(
            COUNTER / "db-follows-web.yml",
            "The db container's liveness follows the web's process: killing web takes db down too.",
        ),
    ),
)


@KILL.measure
def kill_one_container(m: Measurement) -> None:
    """SIGKILL to the web container's process through its node's runtime; then watch a while."""
    name, web, db = m.subject.pod, m.subject.web, m.subject.db
    pod = m.kube.start(m.docs)
    webapp.read_when_answering(m.kube.endpoint(f"pod/{name}", m.subject.port))
    base = pods.statuses(pod)[web].restart_count
    begun = m.kube.act("SIGKILL to the web container's main process, from its node")
    pid = nodes.kill_container(pod.spec.node_name, pods.statuses(pod)[web].container_id)
    m.kube.wait(pods.restarted(name, web, base + 1), what="the killed web container restarted", timeout=90)
    m.kube.observe(QUIET_S, what="any other change")
    after = pods.statuses(m.kube.pod(name))
    column = kubectl_restarts(m, name)
    total = sum(s.restart_count for s in after.values())
    history = m.kube.history(name)
    m.evidence(
        node=pod.spec.node_name,
        killed_pid=pid,
        kubectl_restarts_column=column,
        sum_of_container_restarts=total,
    )
    m.expect(timeline.ended_with(history, web, SIGKILL_EXIT, since=begun))  # the kill, not another end
    m.expect(timeline.restarted(history, web, 1, since=begun))
    m.expect(timeline.unchanged(history, db, since=begun, events=m.kube.events()))
    m.expect(timeline.same_pod(history))
    m.check(
        int(column.split()[0]) == total, f"kubectl shows RESTARTS {column}, the containers' sum is {total}"
    )


def kubectl_restarts(m: Measurement, pod: str) -> str:
    """The RESTARTS column exactly as `kubectl get pod` prints it."""
    header, row = (line.split() for line in m.kube.kubectl("get", "pod", pod).splitlines()[:2])
    return row[header.index("RESTARTS")]


SAME_NODE = Claim(
    "same-node",
    LEARNINGS,
    "All containers in a pod are scheduled on the same node.",
    needs=Needs(nodes=Nodes.ALL, host_ports=False),  # copies spread over the workers
    counters=(
        Counter(
            COUNTER / "two-pods.yml",
            "The web and the db as two pods kept apart: their containers run on different nodes.",
        ),
    ),
)


@SAME_NODE.measure
def same_node(m: Measurement) -> None:
    """Copies of the manifest's pods spread over the workers; each node's runtime says which
    containers it runs, so every copy's containers are found where they really are."""
    copies = COPIES
    running = m.kube.start_all(shape.copies(m.docs, copies))
    workers = sorted({p.spec.node_name for p in running.values()})
    where = {cid: node for node in workers for cid in nodes.container_ids(node)}
    placement = {
        i: {
            c: where.get(s.container_id.split("://", 1)[-1], "not found")
            for p in running.values()
            if p.metadata.name.endswith(f"-{i}")
            for c, s in pods.statuses(p).items()
        }
        for i in range(copies)
    }
    split = {i: found for i, found in placement.items() if len(set(found.values())) != 1}
    m.evidence(copies=copies, nodes_used=workers, containers_by_copy=placement)
    if len(workers) < 2:
        raise SetupError(
            f"all {copies} copies landed on {workers}: the spread this claim needs did not happen"
        )
    m.check(not split, f"containers of one copy on different nodes: {split}")
