"""The chapter's "Life Cycle": READY 2/2, /quit restarts only the web container, deleting
the pod loses the data.  Each claim is a function that measures and returns a verdict;
the test requires it, and a counter-manifest shows that the same function can refute it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from podlife import pods, webapp
from podlife.claims import Result, Stopwatch, expect_refuted, judged, require
from podlife.scenario import Scenario

COUNTER = Path(__file__).parent / "counter"
QUITS = 2  # "do it more than once"
RESTART_TIMEOUT_S = 90  # the kubelet's crash back-off is 10 s, then 20 s


def since(start: Any, end: Any) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


# ---------------------------------------------------------------- ready-2-of-2
def ready_2_of_2(scn: Scenario, manifest: Path) -> Result:
    """'web2 2/2 Running': apply the pod; every container becomes ready."""
    clock = Stopwatch()
    docs = scn.load(manifest)
    pod, broken = scn.start(docs)
    ready, total = pods.ready_count(pod)
    created = pod.metadata.creation_timestamp
    conditions = {c.type: c.last_transition_time for c in pod.status.conditions or []}
    evidence = {
        "pod_uid": pod.metadata.uid,
        "ready": f"{ready}/{total}",
        "phase": pod.status.phase,
        "started_after_s": {n: since(created, pods.started_at(s)) for n, s in pods.statuses(pod).items()},
        "ready_after_s": since(created, conditions.get("Ready")) if not broken else None,
    }
    holds = not broken and ready == total == 2 and pod.status.phase == "Running"
    statement = "" if holds else f"the pod did not reach 2/2 Running: {broken or evidence['ready']}"
    return judged("ready-2-of-2", [] if holds else [statement], evidence, clock, manifest)


@pytest.mark.claim("ready-2-of-2")
def test_ready_2_of_2(scn: Scenario, manifest: Path) -> None:
    require(scn.record(ready_2_of_2(scn, manifest)))


@pytest.mark.claim("ready-2-of-2")
def test_ready_2_of_2_counter_example(scn: Scenario) -> None:
    """The database refuses to initialise without a password: READY never reaches 2/2."""
    result = scn.record(ready_2_of_2(scn, COUNTER / "db-without-password.yml"), counter=True)
    expect_refuted(result)


# ---------------------------------------------------------------- quit-restarts-web-only
def quit_restarts_web_only(scn: Scenario, manifest: Path) -> Result:
    """'even though the container restarted, the data still persisted as the database
    container didn't die': /quit, more than once; only web restarts; the lines stay."""
    clock = Stopwatch()
    docs = scn.load(manifest)
    name = pods.pod_doc(docs)["metadata"]["name"]
    pod, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"the pod never became ready ({broken}); nothing to quit")
    ep = scn.endpoint(name, 8080)
    lines = webapp.write_transcript(ep)
    before, uid = pods.statuses(pod), pod.metadata.uid
    rounds, failures = [], []
    for n in range(1, QUITS + 1):
        body = webapp.quit_app(ep)
        quit_at = time.monotonic()

        def restarted(objects: dict[str, Any], n: int = n) -> Any:
            p = objects.get(name)
            if p is None:
                return None
            web = pods.statuses(p)["web"]
            return p if web.restart_count >= before["web"].restart_count + n and web.ready else None

        try:
            pod = scn.wait(restarted, what=f"web restart #{n} after /quit", timeout=RESTART_TIMEOUT_S)
        except TimeoutError as exc:
            failures.append(f"web was not restarted after /quit #{n}: {exc}")
            break
        after_lines, answered_s = webapp.read_when_answering(ep)
        web, db = pods.statuses(pod)["web"], pods.statuses(pod)["db"]
        last = web.last_state.terminated
        rounds.append(
            {
                "quit_body": body,
                "web_restart_count": web.restart_count,
                "web_last_exit_code": last.exit_code if last else None,
                "web_last_reason": last.reason if last else None,
                "web_container_id": web.container_id,
                "db_container_id": db.container_id,
                "db_restart_count": db.restart_count,
                "answered_again_s": round(time.monotonic() - quit_at, 3),
                "read_wait_s": answered_s,
                "lines": len(after_lines),
            }
        )
        if web.restart_count != before["web"].restart_count + n:
            failures.append(f"web restartCount {web.restart_count} after {n} quit(s)")
        if not last or last.exit_code == 0:
            failures.append(f"web's last termination is not an error exit: {last}")
        if (
            db.container_id != before["db"].container_id
            or db.restart_count != 0
            or pods.started_at(db) != pods.started_at(before["db"])
        ):
            failures.append("the db container changed")
        if pod.metadata.uid != uid:
            failures.append("the pod was replaced")
        if after_lines != lines:
            failures.append(f"/read after quit #{n} returned {after_lines}, not the three lines")
    failures += restart_counts_decreasing(scn, name)
    evidence = {
        "pod_uid": pod.metadata.uid,
        "lines_before": len(lines),
        "web_restarts_before": before["web"].restart_count,
        "db_container_id": before["db"].container_id,
        "db_started_at": pods.started_at(before["db"]),
        "rounds": rounds,
    }
    return judged("quit-restarts-web-only", failures, evidence, clock, manifest)


def restart_counts_decreasing(scn: Scenario, name: str) -> list[str]:
    """Along the recorded timeline a container's restartCount must never go down."""
    seen: dict[tuple[str, str], int] = {}
    problems = []
    for at, _, pod in scn.history(name):
        for cname, status in pods.statuses(pod).items():
            key = (pod.metadata.uid, cname)
            if status.restart_count < seen.get(key, 0):
                problems.append(f"{cname} restartCount went down to {status.restart_count} at {at}")
            seen[key] = status.restart_count
    return problems


@pytest.mark.claim("quit-restarts-web-only")
def test_quit_restarts_web_only(scn: Scenario, manifest: Path) -> None:
    require(scn.record(quit_restarts_web_only(scn, manifest)))


@pytest.mark.claim("quit-restarts-web-only")
def test_quit_restarts_web_only_counter_example(scn: Scenario) -> None:
    """The db container's liveness follows the web's process: /quit takes PostgreSQL down too."""
    result = scn.record(quit_restarts_web_only(scn, COUNTER / "db-follows-web.yml"), counter=True)
    expect_refuted(result)


# ---------------------------------------------------------------- delete-loses-data
def delete_loses_data(scn: Scenario, manifest: Path, *, adjust: Any = None) -> Result:
    """'Lets delete the pod and recreate it. ... So we lost all the data!!!!'"""
    clock = Stopwatch()
    docs = scn.load(manifest)
    if adjust:
        adjust(docs)
    name = pods.pod_doc(docs)["metadata"]["name"]
    first, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"the pod never became ready ({broken})")
    before = webapp.write_transcript(scn.endpoint(name, 8080))
    deleting = time.monotonic()
    scn.delete_pod(name)
    scn.gone(name)
    deletion_s = round(time.monotonic() - deleting, 3)
    second, broken = scn.start(docs)
    if broken:
        raise AssertionError(f"the recreated pod never became ready ({broken})")
    after, _ = webapp.read_when_answering(scn.endpoint(name, 8080))
    evidence = {
        "first_uid": first.metadata.uid,
        "second_uid": second.metadata.uid,
        "first_node": first.spec.node_name,
        "second_node": second.spec.node_name,
        "lines_before_delete": len(before),
        "deletion_s": deletion_s,
        "lines_after_recreate": len(after),
    }
    lost = after == [] and first.metadata.uid != second.metadata.uid
    statement = "" if lost else f"the recreated pod still returned {len(after)} line(s)"
    return judged("delete-loses-data", [] if lost else [statement], evidence, clock, manifest)


@pytest.mark.claim("delete-loses-data")
def test_delete_loses_data(scn: Scenario, manifest: Path) -> None:
    require(scn.record(delete_loses_data(scn, manifest)))


@pytest.mark.claim("delete-loses-data")
def test_delete_loses_data_counter_example(scn: Scenario) -> None:
    """The database's files on a hostPath of one node: the recreated pod finds them."""
    node = next(
        n.metadata.name
        for n in scn.cluster.core.list_node().items
        if "node-role.kubernetes.io/control-plane" not in (n.metadata.labels or {})
    )

    def pin_and_isolate(docs: list[dict[str, Any]]) -> None:
        spec = pods.pod_doc(docs)["spec"]
        spec["nodeName"] = node  # no scheduler: a hostPort still held on the node would fail the pod
        for container in spec["containers"]:
            for port in container.get("ports", []):
                port.pop("hostPort", None)
        spec["volumes"][0]["hostPath"]["path"] = f"/var/lib/podlife-counter/{scn.namespace}"

    result = scn.record(
        delete_loses_data(scn, COUNTER / "db-on-hostpath.yml", adjust=pin_and_isolate), counter=True
    )
    expect_refuted(result)
