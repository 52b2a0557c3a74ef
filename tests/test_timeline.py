"""podlife.kube.pod.timeline: the merged timeline and the named checks over a pod's watch history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client

from podlife.kube import timeline
from podlife.kube.api.watch import Event

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def pod(uid: str, web: tuple[str, int], db: tuple[str, int], *, ready: bool = True) -> client.V1Pod:
    def status(name: str, cid: str, restarts: int) -> client.V1ContainerStatus:
        return client.V1ContainerStatus(
            name=name,
            container_id=f"containerd://{cid}",
            restart_count=restarts,
            ready=ready,
            image="i",
            image_id="",
            state=client.V1ContainerState(running=client.V1ContainerStateRunning(started_at=T0)),
        )

    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="web2", uid=uid),
        spec=client.V1PodSpec(containers=[], node_name="worker"),
        status=client.V1PodStatus(
            phase="Running", container_statuses=[status("web", *web), status("db", *db)]
        ),
    )


def history(*pods: Any) -> timeline.History:
    return [(T0 + timedelta(seconds=i), p) for i, p in enumerate(pods)]


QUITS = history(
    pod("u1", ("w1", 0), ("d1", 0)),
    pod("u1", ("w1", 0), ("d1", 0), ready=False),
    pod("u1", ("w2", 1), ("d1", 0)),
    pod("u1", ("w3", 2), ("d1", 0)),
)


def test_restarted_counts_restarts_after_the_action() -> None:
    assert timeline.restarted(QUITS, "web", 2).ok
    assert not timeline.restarted(QUITS, "web", 1).ok
    assert timeline.restarted(QUITS, "web", 1, since=T0 + timedelta(seconds=2)).ok
    check = timeline.restarted(QUITS, "db", 1)
    assert not check.ok and "restartCount 0 -> 0" in check.detail


def test_a_restart_count_that_goes_down_is_no_restart() -> None:
    reset = history(
        pod("u1", ("w1", 3), ("d1", 0)), pod("u1", ("w2", 0), ("d1", 0)), pod("u1", ("w3", 1), ("d1", 0))
    )
    check = timeline.restarted(reset, "web", -2)
    assert not check.ok and "went down" in check.detail


def test_unchanged_and_same_pod() -> None:
    assert timeline.unchanged(QUITS, "db").ok
    assert not timeline.unchanged(QUITS, "web").ok
    assert timeline.same_pod(QUITS).ok
    replaced = [*QUITS, (T0 + timedelta(seconds=9), pod("u2", ("w9", 0), ("d9", 0)))]
    assert not timeline.same_pod(replaced).ok
    assert not timeline.unchanged(replaced, "db").ok
    assert not timeline.unchanged([], "db").ok


def test_starts_before_reads_one_clock() -> None:
    assert timeline.starts_before("web", 10.0, "db", 10.12).ok
    check = timeline.starts_before("web", 10.2, "db", 10.1)
    assert not check.ok and "-100 ms" in check.detail


def test_the_timeline_merges_watch_events_and_actions() -> None:
    events = [Event(at, "MODIFIED", p) for at, p in QUITS]
    entries = timeline.pod_entries(events)
    texts = [e.text for e in entries]
    assert "web2/web: running, restarts 1, ready" in texts
    assert texts.count("web2/db: running, restarts 0, ready") == 2  # not ready, then ready again
    acted = timeline.Entry(T0 + timedelta(seconds=1.5), "podlife", "GET /quit #1")
    rendered = timeline.render([*entries, acted])
    lines = rendered.splitlines()
    assert lines[0].startswith("timeline (0 = 2026-11-25T12:00:00.000")
    assert any("1.500s  podlife GET /quit #1" in line for line in lines)
    assert [line for line in lines if "podlife" in line] == [line for line in lines if "GET /quit" in line]


def test_instances_pair_each_end_with_the_next_start() -> None:
    def status(cid: str, started: int, last: tuple[str, int, int] | None) -> client.V1Pod:
        terminated = (
            client.V1ContainerState(
                terminated=client.V1ContainerStateTerminated(
                    container_id=f"c://{last[0]}",
                    exit_code=42,
                    started_at=T0 + timedelta(seconds=last[1]),
                    finished_at=T0 + timedelta(seconds=last[2]),
                )
            )
            if last
            else client.V1ContainerState()
        )
        s = client.V1ContainerStatus(
            name="web",
            container_id=f"c://{cid}",
            restart_count=0,
            ready=True,
            image="i",
            image_id="",
            state=client.V1ContainerState(
                running=client.V1ContainerStateRunning(started_at=T0 + timedelta(seconds=started))
            ),
            last_state=terminated,
        )
        return client.V1Pod(
            metadata=client.V1ObjectMeta(name="web2", uid="u"),
            spec=client.V1PodSpec(containers=[]),
            status=client.V1PodStatus(container_statuses=[s]),
        )

    seen = history(status("a", 0, None), status("b", 12, ("a", 0, 10)), status("c", 43, ("b", 12, 22)))
    runs = timeline.instances(seen, "web")
    assert [r["id"] for r in runs] == ["c://a", "c://b", "c://c"]
    assert [(b["started"] - a["ended"]).total_seconds() for a, b in itertools.pairwise(runs)] == [2.0, 21.0]


def ended(p: client.V1Pod, code: int, *, as_last_state: bool) -> client.V1Pod:
    """The pod with its web container's end: as its state, or as its successor's lastState."""
    web = p.status.container_statuses[0]
    end = client.V1ContainerState(
        terminated=client.V1ContainerStateTerminated(exit_code=code, container_id="containerd://w1")
    )
    if as_last_state:
        web.last_state = end
    else:
        web.state = end
    return p


def test_ended_with_reads_the_end_from_the_state_or_the_last_state() -> None:
    running = pod("u1", ("w1", 0), ("d1", 0))
    as_state = history(running, ended(pod("u1", ("w1", 0), ("d1", 0)), 137, as_last_state=False))
    restarted_without_last_state = [*as_state, (T0 + timedelta(seconds=5), pod("u1", ("w2", 1), ("d1", 0)))]
    assert timeline.ended_with(restarted_without_last_state, "web", 137).ok
    as_last = history(running, ended(pod("u1", ("w2", 1), ("d1", 0)), 137, as_last_state=True))
    assert timeline.ended_with(as_last, "web", 137).ok
    other = history(running, ended(pod("u1", ("w2", 1), ("d1", 0)), 0, as_last_state=True))
    check = timeline.ended_with(other, "web", 137)
    assert not check.ok and "{'w1': 0}" in check.detail
    assert not timeline.ended_with(history(running), "web", 137).ok  # no end seen is no proof


def test_ends_are_kept_by_container_id_with_their_reason() -> None:
    running = pod("u1", ("w1", 0), ("d1", 0))
    killed = ended(pod("u1", ("w2", 1), ("d1", 0)), 137, as_last_state=True)
    killed.status.container_statuses[0].last_state.terminated.reason = "OOMKilled"
    seen = history(running, killed, killed)
    ends = timeline.ends(seen, "web")
    assert {cid: (t.reason, t.exit_code) for cid, t in ends.items()} == {
        "containerd://w1": ("OOMKilled", 137)
    }
    assert timeline.ends(seen, "db") == {}
    assert timeline.ends(seen, "web", since=T0 + timedelta(seconds=5)) != {}  # the state as it stood then


def ready_pod(name: str, ready: bool, *, deleting: bool = False) -> client.V1Pod:
    condition = client.V1PodCondition(type="Ready", status="True" if ready else "False")
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, deletion_timestamp=T0 if deleting else None),
        status=client.V1PodStatus(conditions=[condition]),
    )


def test_fewest_ready_replays_the_watch_and_a_pod_being_deleted_no_longer_counts() -> None:
    at = [T0 + timedelta(seconds=i) for i in range(6)]
    events = [
        Event(at[0], "ADDED", ready_pod("a", True)),
        Event(at[0], "ADDED", ready_pod("b", True)),
        Event(at[2], "MODIFIED", ready_pod("a", True, deleting=True)),
        Event(at[3], "ADDED", ready_pod("c", False)),
        Event(at[4], "MODIFIED", ready_pod("c", True)),
        Event(at[5], "MODIFIED", ready_pod("b", True, deleting=True)),
    ]
    every = lambda _: True  # noqa: E731
    assert timeline.fewest_ready(events, at[1], every) == 1
    assert (
        timeline.fewest_ready([*events[:2], Event(at[2], "DELETED", ready_pod("a", True))], at[1], every) == 1
    )
    assert (
        timeline.fewest_ready([*events[:3], Event(at[3], "DELETED", ready_pod("b", True))], at[1], every) == 0
    )
    assert timeline.fewest_ready(events[:2], at[1], every) == 2  # nothing happened since: as it stood
    assert timeline.fewest_ready(events, at[1], lambda p: p.metadata.name == "z") is None


def test_readiness_a_replica_loses_on_its_own_is_told_apart_from_an_eviction() -> None:
    """Under load a probe times out: b is not Ready for a while although nothing evicted it.  What
    Kubernetes decided (a deleted, c not yet Ready) left one Ready; with b's own loss, none."""
    at = [T0 + timedelta(seconds=i) for i in range(8)]
    events = [
        Event(at[0], "ADDED", ready_pod("a", True)),
        Event(at[0], "ADDED", ready_pod("b", True)),
        Event(at[2], "MODIFIED", ready_pod("a", True, deleting=True)),  # evicted
        Event(at[3], "ADDED", ready_pod("c", False)),  # its replacement, starting
        Event(at[4], "MODIFIED", ready_pod("b", False)),  # b's probe timed out
        Event(at[5], "MODIFIED", ready_pod("c", True)),
        Event(at[6], "MODIFIED", ready_pod("b", True)),
    ]
    every = lambda _: True  # noqa: E731
    assert timeline.fewest_ready(events, at[1], every) == 0
    assert timeline.fewest_ready(events, at[1], every, own_losses_kept=True) == 1
    assert timeline.own_readiness_losses(events, at[1], every) == [("b", at[4], at[6])]
    # a replacement not yet Ready is Kubernetes' part: it is not kept
    assert timeline.fewest_ready(events[:4], at[1], every, own_losses_kept=True) == 1
    unending = [*events[:5]]
    assert timeline.own_readiness_losses(unending, at[1], every) == [("b", at[4], None)]


def test_requests_failed_while_a_pod_lost_readiness_on_its_own_are_told_apart() -> None:
    from types import SimpleNamespace as NS

    from podlife.kube import traffic

    samples = [
        NS(at=t, ok=ok) for t, ok in [(1.0, False), (5.0, False), (5.8, False), (7.5, False), (9.0, True)]
    ]
    own = [("b", 4.0, 5.5)]  # b's probe timed out from 4.0 s to 5.5 s: 5.0 and 5.8 (the second after) are its
    assert traffic.failed_outside(samples, 2.0, own) == 1  # 7.5; 1.0 is before the window counted
    assert traffic.failed_outside(samples, 0.0, [("b", 4.0, None)]) == 1  # never back: all after 4.0 are its
    zero = T0.timestamp()
    events = [
        Event(T0, "ADDED", ready_pod("b", True)),
        Event(T0 + timedelta(seconds=4), "MODIFIED", ready_pod("b", False)),
    ]
    assert timeline.own_losses_s(events, T0, lambda _: True, zero) == [("b", 4.0, None)]


def test_a_timeout_names_the_ephemeral_containers_too() -> None:
    from podlife.kube.pod.pods import describe

    p = pod("u1", ("a", 0), ("b", 0))
    assert "ephemeral" not in describe({"web2": p})["web2"]
    p.spec.ephemeral_containers = [
        client.V1EphemeralContainer(name="probe-1"),
        client.V1EphemeralContainer(name="probe-2"),
    ]
    p.status.ephemeral_container_statuses = [
        client.V1ContainerStatus(
            name="probe-1",
            image="i",
            image_id="",
            ready=False,
            restart_count=0,
            state=client.V1ContainerState(
                waiting=client.V1ContainerStateWaiting(reason="CreateContainerError")
            ),
        )
    ]
    assert describe({"web2": p})["web2"]["ephemeral"] == {
        "probe-1": "waiting:CreateContainerError",
        "probe-2": "no status",
    }


def kubelet_event(reason: str, container: str, at: datetime, uid: str = "u1") -> client.CoreV1Event:
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="e"),
        involved_object=client.V1ObjectReference(
            kind="Pod", name="web2", uid=uid, field_path=f"spec.containers{{{container}}}"
        ),
        reason=reason,
        message=f"Container {container} {reason.lower()}",
        last_timestamp=at,
    )


def test_a_restart_the_kubelet_posted_before_the_status_showed_it_is_a_change() -> None:
    """2026-12-07, 1.37.2 under a full run: db's liveness probe killed it (events Killing, Created,
    Started) but the pod's status still showed the first db when the watch ended."""
    since = T0 + timedelta(seconds=14.763)
    before = [kubelet_event("Started", "db", T0 + timedelta(seconds=3))]  # its first start
    assert timeline.unchanged(QUITS, "db", since=since, events=before).ok
    killed = [*before, kubelet_event("Killing", "db", T0 + timedelta(seconds=18))]
    check = timeline.unchanged(QUITS, "db", since=since, events=killed)
    assert not check.ok and "the kubelet: ['Killing: Container db killing']" in check.detail
    others = [kubelet_event("Killing", "web", T0 + timedelta(seconds=18))]  # another container's
    assert timeline.unchanged(QUITS, "db", since=since, events=others).ok
    probe = [kubelet_event("Unhealthy", "db", T0 + timedelta(seconds=18))]  # a failed probe changes nothing
    assert timeline.unchanged(QUITS, "db", since=since, events=probe).ok
    namesake = [kubelet_event("Killing", "db", T0 + timedelta(seconds=18), uid="another-pod")]
    assert timeline.unchanged(QUITS, "db", since=since, events=namesake).ok
