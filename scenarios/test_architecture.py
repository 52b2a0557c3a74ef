"""The chapter's "Architectural thoughts": what a pod of web + database costs.

A crashed database loses the data; two copies of the pod are two databases; an update of
the app takes the app down; the pod schedules only where both containers fit; a bare pod
does not survive its node.  Each is measured on the cluster with a counter-example.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from kubernetes import client

from podlife.claims import ARCHITECTURE, Claim, Counter, Needs, Nodes
from podlife.errors import SetupError
from podlife.kube import node_down, nodes, pods, rollout, shape, timeline, traffic, webapp
from podlife.measure import Measurement

COUNTER = Path(__file__).parent / "counter"
WINDOW_S = 30.0  # past the pod's tolerationSeconds (its eviction): long enough for a controller to react
SHARE = 0.6  # of the freest worker's CPU, per container: together 120 %

CRASH = Claim(
    "db-crash-loses-data",
    ARCHITECTURE,
    "When one container dies, it is restarted, although if the postgres container dies, it loses data.",
    counters=(
        Counter(COUNTER / "db-on-emptydir.yml", "The database's files on an emptyDir survive its restart."),
    ),
)


@CRASH.measure
def db_crash_loses_data(m: Measurement) -> None:
    """SIGKILL to PostgreSQL's process through the node's runtime (not through the API): the
    kubelet restarts the db container, and the lines are gone."""
    name, db = m.subject.pod, m.subject.db
    pod = m.kube.start(m.docs)
    ep = m.kube.endpoint(f"pod/{name}", m.subject.port)
    lines = webapp.write_transcript(ep)
    base = pods.statuses(pod)[db].restart_count
    begun = m.kube.act("SIGKILL to the db container's main process, from its node")
    pid = nodes.kill_container(pod.spec.node_name, pods.statuses(pod)[db].container_id)
    m.kube.wait(pods.restarted(name, db, base + 1), what="the killed db container restarted", timeout=90)
    after, waited = webapp.read_when_answering(ep, timeout=120)
    history = m.kube.history(name)
    m.evidence(
        killed_pid=pid,
        lines_before=len(lines),
        lines_after=len(after),
        web_answered_again_s=waited,
        web=str(timeline.unchanged(history, m.subject.web, since=begun, events=m.kube.events())),
    )
    m.expect(timeline.restarted(history, db, 1, since=begun))
    m.check(after == [], f"the restarted database still held {len(after)} line(s)")


SCALE = Claim(
    "no-horizontal-scale",
    ARCHITECTURE,
    "Its impossible to horizontally scale this pod as the databases would be replicated as well.",
    needs=Needs(host_ports=False),  # two copies on one worker
    counters=(
        Counter(COUNTER / "shared-db.yml", "Two web replicas sharing one database: every read agrees."),
    ),
)


@SCALE.measure
def no_horizontal_scale(m: Measurement, reads: int = 20) -> None:
    """Two copies of the pod behind a Service: a line written through one copy is missing from
    the other, and reads through the Service disagree."""
    docs = m.docs
    if not any(d["kind"] == "Deployment" for d in docs):
        docs = shape.as_deployment(pods.pod_doc(docs), 2, m.subject.port)
    service, port = m.subject.service(docs)
    running = m.kube.start_all(docs)
    replicas = sorted(n for n, p in running.items() if m.subject.web in pods.statuses(p))
    first, second = (m.kube.endpoint(f"pod/{n}", m.subject.port) for n in replicas[:2])
    for ep in (first, second):
        webapp.read_when_answering(ep)
    webapp.write(first, "written-through-replica-1")
    via = [len(webapp.read(ep)) for ep in (first, second)]
    url = f"http://{service}:{port}/read"
    seen = m.kube.probe(replicas[0], m.subject.web, [("lines_read", {"url": url, "count": reads})])[
        "lines_read"
    ]["lines"]
    m.evidence(
        replicas=replicas,
        nodes=[running[n].spec.node_name for n in replicas],
        lines_via_replicas=via,
        service_reads={"requests": reads, "saw_the_line": seen.count(1), "saw_nothing": seen.count(0)},
    )
    m.check(via == [1, 0], f"the replicas returned {via} line(s): the line is in both (or in neither)")
    m.check({0, 1} <= set(seen), "every read through the Service agreed: one database behind both")


UPDATE = Claim(
    "update-needs-downtime",
    ARCHITECTURE,
    "Updating the application container is going to be complicated and will definitely take a down time.",
    counters=(Counter(COUNTER / "rolling-web.yml", "Web replicas rolled one at a time behind a Service."),),
)


@UPDATE.measure
def update_needs_downtime(m: Measurement) -> None:
    """Change the web container's image to the next version of its own image; from inside
    the cluster, GET /ping one request after another meanwhile; count the failures."""
    docs, web = m.docs, m.subject.web
    workload = next((d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"), None)
    running = m.kube.start_all(docs)
    url = (
        f"http://{pods.holder(running, web).status.pod_ip}:{m.subject.port}/ping"
        if workload is None
        else "http://{}:{}/ping".format(*m.subject.service(docs))
    )
    before = {n: pods.statuses(p)[web].restart_count for n, p in running.items() if web in pods.statuses(p)}
    image = m.next_image(next(c["image"] for d in docs for c in shape.containers(d) if c["name"] == web))
    with m.kube.request_loop(url, max_seconds=240) as loop:
        loop.await_answered(20, "before the update")
        update_at = loop.now()
        m.kube.act(f"web image -> {image}")
        kind, name = ("Deployment", workload) if workload else ("Pod", m.subject.pod)
        rollout.set_image(m.kube.cluster.api, m.kube.namespace, kind, name, web, image)
        after = m.kube.wait(
            rollout.rolled_out(web, image, len(before), before),
            what=f"every web container to run {image}",
            timeout=180,
        )
        loop.await_answered(20, "after the update", after=update_at)
    measured = traffic.measured(loop.samples)
    m.draw(traffic.series(loop.samples, {"update": update_at}))
    m.evidence(
        how="rolling update of a Deployment" if workload else "image of the running pod changed",
        pods_before=sorted(before),
        pods_after=sorted(after),
        update_at_s=update_at,
        old_pods=[asdict(x) for x in m.kube.leavings(loop)],  # each one's way out of the Service
        **measured,
    )
    m.check(measured["failed"] > 0, f"no request failed during the update ({measured['requests']} requests)")


UNSCHEDULABLE = Claim(
    "unschedulable-together",
    ARCHITECTURE,
    "The lack of resources in one node will cause the pod to be un-schedule-able.",
    needs=Needs(nodes=Nodes.ALL, cpu=True, host_ports=False),
    counters=(
        Counter(COUNTER / "small-requests.yml", "Requests that fit one node together: the pod schedules."),
    ),
)


@UNSCHEDULABLE.measure
def unschedulable_together(m: Measurement) -> None:
    """Each container asks for 60 % of the freest worker's free CPU (unless the manifest sets its
    own requests): together they fit no node, and as two pods each finds one."""
    free = free_cpu_m(m.kube.cluster.core)
    pod = pods.pod_doc(m.docs)
    if not any((c.get("resources") or {}).get("requests") for c in shape.containers(pod)):
        pod = shape.with_cpu_request([pod], int(max(free.values()) * SHARE))[0]
    name = pod["metadata"]["name"]
    m.kube.apply([pod])
    outcome, why = m.kube.wait(placed(name), what=f"pod {name} scheduled or found unschedulable", timeout=60)
    m.kube.delete_pod(name)
    apart = shape.split(pod)
    m.kube.apply(apart)
    names = [p["metadata"]["name"] for p in apart]
    where = m.kube.wait(
        lambda objs: (
            all(n in objs and objs[n].spec.node_name for n in names)
            and {n: objs[n].spec.node_name for n in names}
        ),
        what="the containers as separate pods to be scheduled",
        timeout=60,
    )
    m.evidence(
        free_cpu_m_per_worker=free,
        requests={c["name"]: c["resources"] for c in shape.containers(pod)},
        together=outcome,
        scheduler_says=why,
        apart_on_nodes=where,
    )
    m.check(outcome == "pending", f"the pod of both containers was {outcome}")
    m.check("Insufficient cpu" in why, "the scheduler did not say: Insufficient cpu")
    m.check(len(set(where.values())) == len(apart), f"apart, the containers shared a node: {where}")


def placed(name: str) -> Any:
    """The pod's PodScheduled condition once the scheduler decided: (outcome, its message)."""

    def seen(objects: dict[str, Any]) -> tuple[str, str] | None:
        pod = objects.get(name)
        for cond in (pod.status.conditions or []) if pod else []:
            if cond.type == "PodScheduled" and (cond.status == "True" or cond.reason == "Unschedulable"):
                return ("scheduled" if cond.status == "True" else "pending"), cond.message or ""
        return None

    return seen


def free_cpu_m(core: client.CoreV1Api) -> dict[str, int]:
    """Allocatable minus requested CPU (millicores) of every schedulable worker."""

    def milli(q: str) -> int:
        return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)

    free = {}
    for node in core.list_node().items:
        if any(t.effect == "NoSchedule" for t in node.spec.taints or []):
            continue
        on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node.metadata.name}").items
        requested = sum(
            milli(c.resources.requests["cpu"])
            for p in on_node
            if p.status.phase not in ("Succeeded", "Failed")
            for c in p.spec.containers
            if c.resources and c.resources.requests and "cpu" in c.resources.requests
        )
        free[node.metadata.name] = milli(node.status.allocatable["cpu"]) - requested
    return free


BARE = Claim(
    "bare-pod-not-rescheduled",
    ARCHITECTURE,
    "There is a kinda-high-availability going on.",
    needs=Needs(stops_node=True),
    counters=(
        Counter(
            COUNTER / "bare-pod-tolerates-nothing.yml",
            "A Deployment's pod that tolerates no lost node is recreated on another worker.",
            needs=Needs(
                nodes=Nodes.ALL, stops_node=True, host_ports=False
            ),  # its pod moves to another worker
        ),
    ),
)


@BARE.measure
def bare_pod_not_rescheduled(m: Measurement) -> None:
    """Stop the node that runs the pod (its kind node container, or its kubelet); watch whether a
    pod comes up on another node; then start the node again and look at the pod."""
    (first,) = m.kube.start_all(m.docs).values()
    name, node = first.metadata.name, first.spec.node_name
    target = m.placement.pin or m.placement.prefer
    if node != (target or node):
        raise SetupError(f"the pod landed on {node}, not on {target}, the worker this scenario may stop")
    lines = webapp.write_transcript(m.kube.endpoint(f"pod/{name}", m.subject.port))
    window = (nodes.tolerated_s(first) or 0) + WINDOW_S
    with node_down(m.kube, node, hold_s=window) as down:
        moved = m.kube.observe(
            window,
            until=lambda objs: next(
                (p.spec.node_name for p in objs.values() if p.spec.node_name not in (None, node)), None
            ),
            what=f"a pod on another node than {node}",
        )
        down["pods_seen"] = {n: (p.spec.node_name, p.status.phase) for n, p in m.kube.watcher.objects.items()}
    if moved is None:
        down.update(after_node_back(m, name, first.metadata.uid))
    m.evidence(
        node=node,
        lines_before=len(lines),
        watched_for_s=window,
        tolerated_s=nodes.tolerated_s(first),
        recreated_on=moved,
        **down,
    )
    m.check(moved is None, f"the pod was recreated on {moved} while {node} was down")


def after_node_back(m: Measurement, name: str, uid: str) -> dict[str, Any]:
    """The bare pod once its node is back: running again (the same pod, its containers restarted),
    or gone (evicted after its tolerationSeconds while the node was away, deleted on its return)."""
    evicted = any(p.metadata.deletion_timestamp for _, p in m.kube.history(name, uid))
    back = m.kube.wait(
        lambda objs: "gone" if name not in objs else objs[name] if pods.serving(objs[name]) else None,
        what=f"pod {name} running again on its node, or gone",
        timeout=180,
    )
    if back == "gone":
        return {"evicted_while_down": evicted, "after_node_back": "gone: the pod and its data with it"}
    after, _ = webapp.read_when_answering(m.kube.endpoint(f"pod/{name}", m.subject.port))
    return {
        "evicted_while_down": evicted,
        "after_node_back": "running again",
        "same_uid": back.metadata.uid == uid,
        "lines_after_node_back": len(after),
        "restarts": {c: s.restart_count for c, s in pods.statuses(back).items()},
    }
