"""The chapter's "Architectural thoughts": what a pod of web + database costs.

A crashed database loses the data; two copies of the pod are two databases; an update
of the app takes the app down; the pod schedules only where both containers fit; a bare
pod does not survive its node.  Each is measured on the cluster with a counter-example.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from podlife import nodes, pods, webapp
from podlife.claims import Result, Stopwatch, expect_refuted, judged, require
from podlife.cluster import SERVICE_HOST_PORT, SERVICE_NODE_PORT
from podlife.execs import run_in
from podlife.html_report import request_series
from podlife.images import WEB_IMAGE_NEXT
from podlife.scenario import Scenario
from podlife.traffic import RequestLoop, answered_from_first, downtime
from podlife.wait import WaitTimeout

COUNTER = Path(__file__).parent / "counter"
QUIET_S = 10.0


# ---------------------------------------------------------------- db-crash-loses-data
def db_crash_loses_data(scn: Scenario, manifest: Path) -> Result:
    """Kill the PostgreSQL process (SIGKILL through the node's runtime, not the pod)."""
    clock = Stopwatch()
    docs = scn.load(manifest)
    name = pods.pod_doc(docs)["metadata"]["name"]
    pod, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"the pod never became ready ({broken})")
    ep = scn.endpoint(name, 8080)
    lines = webapp.write_transcript(ep)
    before = pods.statuses(pod)
    nodes.require_node_access(pod.spec.node_name)
    pid = nodes.kill_container(pod.spec.node_name, before["db"].container_id)

    def db_back(objects: dict[str, Any]) -> Any:
        p = objects.get(name)
        db = pods.statuses(p)["db"] if p else None
        return p if db and db.restart_count == before["db"].restart_count + 1 and db.ready else None

    scn.wait(db_back, what="the killed db container to be restarted", timeout=90)
    after_lines, answered_s = webapp.read_when_answering(ep)
    others = scn.quiet(name, keep=["db"], seconds=QUIET_S)
    after = pods.statuses(scn.pod(name))
    evidence = {
        "killed_pid": pid,
        "db_container": [before["db"].container_id, after["db"].container_id],
        "db_restarts": [before["db"].restart_count, after["db"].restart_count],
        "web_restarts": [before["web"].restart_count, after["web"].restart_count],
        f"other_changes_within_{QUIET_S:.0f}s": others,
        "lines_before": len(lines),
        "lines_after": len(after_lines),
        "web_answered_again_s": answered_s,
    }
    failures = []
    if others:
        failures.append(f"more than the db container changed: {others}")
    if after_lines:
        failures.append(f"the restarted database still held {len(after_lines)} line(s)")
    return judged("db-crash-loses-data", failures, evidence, clock, manifest)


@pytest.mark.claim("db-crash-loses-data")
def test_db_crash_loses_data(scn: Scenario, manifest: Path) -> None:
    require(scn.record(db_crash_loses_data(scn, manifest)))


@pytest.mark.claim("db-crash-loses-data")
def test_db_crash_loses_data_counter_example(scn: Scenario) -> None:
    """The database's files on an emptyDir survive the db container's restart."""
    expect_refuted(scn.record(db_crash_loses_data(scn, COUNTER / "db-on-emptydir.yml"), counter=True))


# ---------------------------------------------------------------- no-horizontal-scale
def as_deployment(docs: list[dict[str, Any]], replicas: int) -> list[dict[str, Any]]:
    """The chapter's pod as a Deployment of ``replicas`` copies plus a Service in front.
    The hostPort is dropped so that two copies may share a node."""
    pod = copy.deepcopy(pods.pod_doc(docs))
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            port.pop("hostPort", None)
    labels = pod["metadata"].get("labels") or {"app": pod["metadata"]["name"]}
    name = pod["metadata"]["name"]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod["spec"]},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]},
        },
    ]


SERVICE_READS = (
    "import json, urllib.request\n"
    "counts = []\n"
    "for _ in range({n}):\n"
    "    with urllib.request.urlopen('http://{service}:8080/read', timeout=5) as r:\n"
    "        counts.append(len(json.load(r)['Lines']))\n"
    "print(json.dumps(counts))\n"
)


def no_horizontal_scale(scn: Scenario, manifest: Path, reads: int = 20) -> Result:
    clock = Stopwatch()
    docs = scn.load(manifest)
    if not any(d.get("kind") == "Deployment" for d in docs):
        docs = as_deployment(docs, replicas=2)
    service = next(
        d["metadata"]["name"]
        for d in docs
        if d.get("kind") == "Service" and d["spec"]["ports"][0]["port"] == 8080
    )
    running = scn.start_all(docs)
    replicas = sorted(
        (p for p in running.values() if "web" in pods.statuses(p)), key=lambda p: p.metadata.name
    )
    first, second = (scn.endpoint(p.metadata.name, 8080) for p in replicas[:2])
    for ep in (first, second):
        webapp.read_when_answering(ep)
    webapp.write(first, "written-through-replica-1")
    via_first, via_second = webapp.read(first), webapp.read(second)
    code = SERVICE_READS.format(n=reads, service=service)
    ran = run_in(scn.cluster.api, scn.namespace, replicas[0].metadata.name, "web", ["python3", "-c", code])
    if ran.code != 0:
        raise AssertionError(f"reads through the Service failed: {ran.err}")
    counts = [int(c) for c in ran.out.strip().strip("[]").split(",")]
    evidence = {
        "replicas": [p.metadata.name for p in replicas],
        "nodes": [p.spec.node_name for p in replicas],
        "lines_via_replica_1": len(via_first),
        "lines_via_replica_2": len(via_second),
        "service_reads": {"requests": reads, "saw_the_line": counts.count(1), "saw_nothing": counts.count(0)},
    }
    replicated = len(via_first) == 1 and len(via_second) == 0 and {0, 1} <= set(counts)
    statement = "" if replicated else "both replicas serve the same data: the database was not replicated"
    return judged("no-horizontal-scale", [] if replicated else [statement], evidence, clock, manifest)


@pytest.mark.claim("no-horizontal-scale")
def test_no_horizontal_scale(scn: Scenario, manifest: Path) -> None:
    require(scn.record(no_horizontal_scale(scn, manifest)))


@pytest.mark.claim("no-horizontal-scale")
def test_no_horizontal_scale_counter_example(scn: Scenario) -> None:
    """Two web replicas sharing one database: every read agrees."""
    expect_refuted(scn.record(no_horizontal_scale(scn, COUNTER / "shared-db.yml"), counter=True))


# ---------------------------------------------------------------- update-needs-downtime
def update_needs_downtime(scn: Scenario, manifest: Path) -> Result:
    """Change the web image; count the requests that fail meanwhile.

    The chapter's bare pod is updated in place (its web container restarts) and reached
    through a port-forward; a manifest with a Deployment is rolled and reached through its
    NodePort Service, published on 127.0.0.1 by the cluster."""
    clock = Stopwatch()
    docs = scn.load(manifest)
    deployment = next((d["metadata"]["name"] for d in docs if d.get("kind") == "Deployment"), None)
    if deployment:
        scn.node_port_free(SERVICE_NODE_PORT)
        running = scn.start_all(docs)
        url = f"http://127.0.0.1:{SERVICE_HOST_PORT}/ping"
        request = lambda: requests.get(url, timeout=2, headers={"Connection": "close"})  # noqa: E731
        before = {n: 0 for n, p in running.items() if "web" in pods.statuses(p)}
    else:
        name = pods.pod_doc(docs)["metadata"]["name"]
        pod, broken = scn.start(docs)
        if broken:
            raise AssertionError(f"the pod never became ready ({broken})")
        ep = scn.endpoint(name, 8080)
        webapp.read_when_answering(ep)
        request = lambda: ep.request("GET", "/ping", timeout=2)  # noqa: E731
        before = {name: pods.statuses(pod)["web"].restart_count}
    with RequestLoop(request, max_seconds=180) as loop:
        loop.await_answered(20, "before the update")
        updated_at = loop.now()
        if deployment:
            patch = {
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": WEB_IMAGE_NEXT}]}}}
            }
            client.AppsV1Api(scn.cluster.api).patch_namespaced_deployment(deployment, scn.namespace, patch)
        else:
            patch = {"spec": {"containers": [{"name": "web", "image": WEB_IMAGE_NEXT}]}}
            scn.cluster.core.patch_namespaced_pod(name, scn.namespace, patch)

        def updated(objects: dict[str, Any]) -> dict[str, Any] | None:
            """Every web runs the new spec (a restarted container, or a replacement pod) and every
            old pod is gone: an old pod's shutdown is part of the update too."""
            if any(p.metadata.deletion_timestamp for p in objects.values()):
                return None
            webs = {
                n: p
                for n, p in objects.items()
                if not p.metadata.deletion_timestamp and "web" in pods.statuses(p)
            }
            new = {
                n: pods.statuses(p)["web"].restart_count
                for n, p in webs.items()
                if pods.statuses(p)["web"].ready
                and any(c.name == "web" and c.image == WEB_IMAGE_NEXT for c in p.spec.containers)
                and (n not in before or pods.statuses(p)["web"].restart_count > before[n])
            }
            return new if len(new) == len(webs) == len(before) else None

        after = scn.wait(updated, what="every web container to run the new image", timeout=180)
        loop.await_answered(20, "after the update", after=updated_at)
    measured = downtime(answered_from_first(loop.samples))
    evidence = {
        "series": request_series(loop.samples, marks={"update": updated_at}),
        "how": "rolling update of a Deployment" if deployment else "image of the running pod changed",
        "pods_before": sorted(before),
        "pods_after": sorted(after),
        "update_at_s": updated_at,
        **measured,
    }
    down = measured["failed"] > 0
    statement = "" if down else f"no request failed during the update ({measured['requests']} requests)"
    return judged("update-needs-downtime", [] if down else [statement], evidence, clock, manifest)


@pytest.mark.claim("update-needs-downtime")
def test_update_needs_downtime(scn: Scenario, manifest: Path) -> None:
    require(scn.record(update_needs_downtime(scn, manifest)))


@pytest.mark.claim("update-needs-downtime")
def test_update_needs_downtime_counter_example(scn: Scenario) -> None:
    """Stateless web replicas rolled one at a time behind a Service: no request fails."""
    expect_refuted(scn.record(update_needs_downtime(scn, COUNTER / "rolling-web.yml"), counter=True))


# ---------------------------------------------------------------- unschedulable-together
def free_cpu_m(core: client.CoreV1Api) -> dict[str, int]:
    """Allocatable minus requested CPU (millicores) of every schedulable worker."""

    def milli(q: str) -> int:
        return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)

    free = {}
    for node in core.list_node().items:
        if any(t.effect == "NoSchedule" for t in node.spec.taints or []):
            continue
        requested = sum(
            milli(c.resources.requests["cpu"])
            for p in core.list_pod_for_all_namespaces(
                field_selector=f"spec.nodeName={node.metadata.name}"
            ).items
            if p.status.phase not in ("Succeeded", "Failed")
            for c in p.spec.containers
            if c.resources and c.resources.requests and "cpu" in c.resources.requests
        )
        free[node.metadata.name] = milli(node.status.allocatable["cpu"]) - requested
    return free


def unschedulable_together(scn: Scenario, manifest: Path, share: float = 0.6) -> Result:
    """Each container asks ``share`` of the freest worker's CPU: together they fit no node."""
    clock = Stopwatch()
    free = free_cpu_m(scn.cluster.core)
    each = int(max(free.values()) * share)
    pod = copy.deepcopy(pods.pod_doc(scn.load(manifest)))
    for container in pod["spec"]["containers"]:
        container["resources"] = {"requests": {"cpu": f"{each}m"}}
        for port in container.get("ports", []):
            port.pop("hostPort", None)
    name = pod["metadata"]["name"]
    scn.apply([pod])

    def placed(objects: dict[str, Any]) -> Any:
        p = objects.get(name)
        for cond in (p.status.conditions or []) if p else []:
            if cond.type == "PodScheduled":
                return (
                    ("scheduled", p)
                    if cond.status == "True"
                    else ("pending", cond)
                    if cond.reason == "Unschedulable"
                    else None
                )
        return None

    outcome, _ = scn.wait(placed, what=f"pod {name} to be scheduled or found unschedulable", timeout=60)
    events = [
        e.message
        for e in scn.cluster.core.list_namespaced_event(
            scn.namespace, field_selector=f"involvedObject.name={name},reason=FailedScheduling"
        ).items
    ]
    scn.delete_pod(name)
    scn.gone(name)
    apart = []
    for container in pod["spec"]["containers"]:
        alone = copy.deepcopy(pod)
        alone["metadata"]["name"] = f"{name}-{container['name']}-alone"
        alone["spec"]["containers"] = [container]
        apart.append(alone)
    scn.apply(apart)
    alone_names = [p["metadata"]["name"] for p in apart]
    placed_apart = scn.wait(
        lambda objs: (
            {n: objs[n].spec.node_name for n in alone_names}
            if all(n in objs and objs[n].spec.node_name for n in alone_names)
            else None
        ),
        what="the containers as separate pods to be scheduled",
        timeout=60,
    )
    evidence = {
        "free_cpu_m_per_worker": free,
        "request_per_container_m": each,
        "together": outcome,
        "failed_scheduling": events[:1],
        "apart_on_nodes": placed_apart,
    }
    holds = (
        outcome == "pending"
        and any("Insufficient cpu" in m for m in events)
        and len(set(placed_apart.values())) == len(apart)
    )
    statement = "" if holds else f"the pod of both containers was {outcome}"
    return judged("unschedulable-together", [] if holds else [statement], evidence, clock, manifest)


@pytest.mark.claim("unschedulable-together")
def test_unschedulable_together(scn: Scenario, manifest: Path) -> None:
    require(scn.record(unschedulable_together(scn, manifest)))


@pytest.mark.claim("unschedulable-together")
def test_unschedulable_together_counter_example(scn: Scenario, manifest: Path) -> None:
    """Requests that fit one node together (a fifth of its free CPU each): the pod schedules."""
    expect_refuted(scn.record(unschedulable_together(scn, manifest, share=0.2), counter=True))


# ---------------------------------------------------------------- bare-pod-not-rescheduled
WINDOW_S = 45.0  # after the node is NotReady: long enough for a controller to react


def bare_pod_not_rescheduled(scn: Scenario, manifest: Path) -> Result:
    clock = Stopwatch()
    docs = scn.load(manifest)
    running = scn.start_all(docs)
    (first,) = running.values()
    name, node = first.metadata.name, first.spec.node_name
    lines = webapp.write_transcript(scn.endpoint(name, 8080))
    nodes.require_node_access(node)
    stopped = time.monotonic()
    nodes.stop_node(node)
    try:
        not_ready_s = node_condition(scn, node, ready=False, timeout=120)
        try:
            moved = scn.wait(
                lambda objs: next(
                    (
                        p.spec.node_name
                        for p in objs.values()
                        if p.spec.node_name and p.spec.node_name != node
                    ),
                    None,
                ),
                what=f"a pod on another node than {node}",
                timeout=WINDOW_S,
            )
        except WaitTimeout:
            moved = None
        seen = {
            n: (p.spec.node_name, p.status.phase, pods.ready_count(p)) for n, p in scn.watcher.objects.items()
        }
    finally:
        nodes.start_node(node)
    back_s = node_condition(scn, node, ready=True, timeout=180)
    evidence = {
        "node": node,
        "lines_before": len(lines),
        "node_not_ready_after_s": not_ready_s,
        "watched_for_s": WINDOW_S,
        "recreated_on": moved,
        "pods_seen": seen,
        "node_ready_again_after_s": back_s,
        "down_s": round(time.monotonic() - stopped, 1),
    }
    if moved is None:
        try:
            back = scn.wait(
                lambda objs: objs.get(name) if pods.all_ready(objs.get(name)) else None,
                what=f"pod {name} to run again on {node}",
                timeout=120,
            )
            after, _ = webapp.read_when_answering(scn.endpoint(name, 8080))
            evidence.update(
                same_uid=back.metadata.uid == first.metadata.uid,
                lines_after_node_back=len(after),
                restarts={c: s.restart_count for c, s in pods.statuses(back).items()},
            )
        except WaitTimeout as exc:
            evidence.update(after_node_back=str(exc))
    holds = moved is None
    statement = "" if holds else f"the pod was recreated on {moved} while {node} was down"
    return judged("bare-pod-not-rescheduled", [] if holds else [statement], evidence, clock, manifest)


def node_condition(scn: Scenario, node: str, *, ready: bool, timeout: float) -> float:
    """Seconds until the node's Ready condition is ``ready``, seen through a node watch."""
    from podlife.watch import wait_for

    began = time.monotonic()
    want = "True" if ready else {"False", "Unknown"}

    def reached(objects: dict[str, Any]) -> bool:
        conds = {c.type: c.status for c in objects[node].status.conditions or []} if node in objects else {}
        return conds.get("Ready") == want if ready else conds.get("Ready") in want

    wait_for(scn.cluster.core.list_node, reached, what=f"node {node} Ready={ready}", timeout=timeout)
    return round(time.monotonic() - began, 1)


@pytest.mark.claim("bare-pod-not-rescheduled")
def test_bare_pod_not_rescheduled(scn: Scenario, manifest: Path) -> None:
    require(scn.record(bare_pod_not_rescheduled(scn, manifest)))


@pytest.mark.claim("bare-pod-not-rescheduled")
def test_bare_pod_not_rescheduled_counter_example(scn: Scenario) -> None:
    """A Deployment's pod that tolerates no lost node is recreated on the other worker."""
    expect_refuted(
        scn.record(bare_pod_not_rescheduled(scn, COUNTER / "bare-pod-tolerates-nothing.yml"), counter=True)
    )
