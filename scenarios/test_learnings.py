"""The chapter's "Learnings": killing one container, and one node for all of a pod.

"Killing one container in a pod does not restart all others. The container that died is
resurrected. This increments the Restarts of the pod though!" and "All containers in a pod
are scheduled on the same node."  Both act or look below the API, through the kind node's
container runtime, so they prove their target: exactly the intended container changed.
(The third learning, start-up order, is scenarios/test_startup_order.py.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from podlife import nodes, pods, webapp
from podlife.claims import Result, Stopwatch, expect_refuted, judged, require
from podlife.scenario import Scenario

COUNTER = Path(__file__).parent / "counter"
COPIES = 4
QUIET_S = 10.0  # after the restart, watch this long for any other container to change


def kubectl_restarts(scn: Scenario, pod: str) -> str:
    """The RESTARTS column exactly as `kubectl get pod` prints it."""
    header, row = (line.split() for line in scn.kubectl("get", "pod", pod).splitlines()[:2])
    return row[header.index("RESTARTS")]


def kill_one_container(scn: Scenario, manifest: Path) -> Result:
    clock = Stopwatch()
    docs = scn.load(manifest)
    name = pods.pod_doc(docs)["metadata"]["name"]
    pod, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"the pod never became ready ({broken})")
    ep = scn.endpoint(name, 8080)
    webapp.read_when_answering(ep)
    before, node, uid = pods.statuses(pod), pod.spec.node_name, pod.metadata.uid
    nodes.require_node_access(node)
    pid = nodes.kill_container(node, before["web"].container_id)

    def web_back(objects: dict[str, Any]) -> Any:
        p = objects.get(name)
        web = pods.statuses(p)["web"] if p else None
        return p if web and web.restart_count == before["web"].restart_count + 1 and web.ready else None

    scn.wait(web_back, what="the killed web container to be restarted", timeout=90)
    _, answered_s = webapp.read_when_answering(ep)
    others_changed = scn.quiet(name, keep=["web"], seconds=QUIET_S)
    pod = scn.pod(name)
    after = pods.statuses(pod)
    last = after["web"].last_state.terminated
    restarts_column = kubectl_restarts(scn, name)
    total = sum(s.restart_count for s in after.values())
    evidence = {
        "node": node,
        "killed_pid": pid,
        "web_container": [before["web"].container_id, after["web"].container_id],
        "web_restarts": [before["web"].restart_count, after["web"].restart_count],
        "web_exit_code": last.exit_code if last else None,
        "db_container": [before["db"].container_id, after["db"].container_id],
        "db_restarts": [before["db"].restart_count, after["db"].restart_count],
        "kubectl_restarts_column": restarts_column,
        "sum_of_container_restarts": total,
        "answered_again_s": answered_s,
        f"other_changes_within_{QUIET_S:.0f}s": others_changed,
    }
    failures = []
    if after["web"].container_id == before["web"].container_id:
        failures.append("the web container was not replaced")
    if not last or last.exit_code != 137:
        failures.append(f"web's last termination is not SIGKILL's 137: {last}")
    if (
        after["db"].container_id != before["db"].container_id
        or after["db"].restart_count != before["db"].restart_count
    ):
        failures.append("the db container was restarted too")
    if pod.metadata.uid != uid:
        failures.append("the pod was replaced")
    if int(restarts_column.split()[0]) != total:
        failures.append(f"kubectl shows RESTARTS {restarts_column}, the containers' sum is {total}")
    return judged("kill-one-container", failures, evidence, clock, manifest)


@pytest.mark.claim("kill-one-container")
def test_kill_one_container(scn: Scenario, manifest: Path) -> None:
    require(scn.record(kill_one_container(scn, manifest)))


@pytest.mark.claim("kill-one-container")
def test_kill_one_container_counter_example(scn: Scenario) -> None:
    """The db container's liveness follows the web's process: killing web takes db down too."""
    result = scn.record(kill_one_container(scn, COUNTER / "db-follows-web.yml"), counter=True)
    expect_refuted(result)


def copies_of(docs: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """n copies of the manifest's pods, so that many pods spread over the workers.

    Changed, and only so: names and grouping labels get the copy's number, hostPorts are
    dropped (two copies may share a node), and a soft spread over nodes is asked for."""
    out = []
    for i in range(n):
        for doc in docs:
            if doc.get("kind") != "Pod":
                continue
            pod = copy.deepcopy(doc)
            pod["metadata"]["name"] += f"-{i}"
            labels = pod["metadata"].setdefault("labels", {})
            labels["podlife-copy"] = "yes"
            if "part" in labels:
                labels["part"] += f"-{i}"
            spec = pod["spec"]
            for term in (
                spec.get("affinity", {})
                .get("podAntiAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution", [])
            ):
                match = term["labelSelector"]["matchLabels"]
                if "part" in match:
                    match["part"] += f"-{i}"
            for container in spec["containers"]:
                for port in container.get("ports", []):
                    port.pop("hostPort", None)
            spec["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"podlife-copy": "yes"}},
                }
            ]
            out.append(pod)
    return out


def same_node(scn: Scenario, manifest: Path, copies: int = COPIES) -> Result:
    clock = Stopwatch()
    running = scn.start_all(copies_of(scn.load(manifest), copies))
    workers = sorted({p.spec.node_name for p in running.values()})
    for node in workers:
        nodes.require_node_access(node)
    where = {cid: node for node in workers for cid in nodes.container_ids(node)}
    placement = {}
    for i in range(copies):
        group = {
            c: s
            for p in running.values()
            if p.metadata.name.endswith(f"-{i}")
            for c, s in pods.statuses(p).items()
        }
        placement[i] = {
            c: where.get(s.container_id.split("://", 1)[-1], "not found") for c, s in group.items()
        }
    split = {i: found for i, found in placement.items() if len(set(found.values())) != 1}
    evidence = {
        "copies": copies,
        "nodes_used": workers,
        "containers_by_copy": placement,
        "api_node_by_pod": {n: p.spec.node_name for n, p in sorted(running.items())},
    }
    if len(workers) < 2:
        raise AssertionError(
            f"all {copies} copies landed on {workers}: the spread this claim needs did not happen"
        )
    statement = "; ".join(f"copy {i}: {found}" for i, found in split.items())
    return judged(
        "same-node",
        [f"containers of one copy on different nodes: {statement}"] if split else [],
        evidence,
        clock,
        manifest,
    )


@pytest.mark.claim("same-node")
def test_same_node(scn: Scenario, manifest: Path) -> None:
    require(scn.record(same_node(scn, manifest)))


@pytest.mark.claim("same-node")
def test_same_node_counter_example(scn: Scenario) -> None:
    """The web and the db as two pods kept apart: their containers run on different nodes."""
    result = scn.record(same_node(scn, COUNTER / "two-pods.yml", copies=1), counter=True)
    expect_refuted(result)
