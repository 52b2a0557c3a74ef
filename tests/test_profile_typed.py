"""The typed profile (:mod:`podlife.profiled`): one departure, written one way; JSON in one place,
round-tripped exactly across the worker's ``user_properties``; the node loss joined into each
profile as a typed operation that leaves the profile it was given as it was.

:func:`reference_profiles` builds the reference set's profiles as a run would hand them to the
reports (each workload's own places and promises, its node loss joined in through the JSON its
tests send): the pages' tests (``test_profile_pages.py``) read them too."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from podlife.profile import documented, nodeloss, update
from podlife.profile.places import places
from podlife.profile.profiler import NO_NODE_LOSS, rolling_finding
from podlife.profile.workload import Workload, load
from podlife.profiled import (
    CONTAINER_RESTART,
    NODE_LOSS,
    POD_RECREATE,
    Baseline,
    ContainerStart,
    Departure,
    Kept,
    Kill,
    Leaving,
    NodeLoss,
    NodeLossFinding,
    NodeLossPhase,
    Profile,
    Recreate,
    RollingUpdate,
    Start,
    Stop,
    typed,
)
from podlife.report import Meta, profile_files
from tests.test_profile import REFERENCE

# the rolling update's failures
FAILED = {
    "Deployment/web-surge": 0,
    "Deployment/web-no-surge": 23,
    "Deployment/web-exits": 2,
    "Deployment/web-exits-prestop": 0,
}
# the old pods' way out of the Service: web-exits' servers stopped answering before kube-proxy followed
LEAVING = {
    "Deployment/web-exits": [
        Leaving("web-exits-a", 12.1, 12.4, {"web": 13.2}, 2, 12.2),
        Leaving("web-exits-b", 16.0, 16.2, {"web": 17.1}, 0, None),
    ]
}


def kept(workload: Workload, same_node: bool) -> dict[str, Kept]:
    """Each place after a container restart and the pod's recreation: as documented."""
    out = {}
    for place in places(workload)[0]:
        k = Kept(place.type, place.container)
        for event in (CONTAINER_RESTART, POD_RECREATE):
            promised = bool(documented.survives(place.type, event, same_node).value)
            k = k.after(event, promised, promised)
        out[place.key] = k
    return out


def rolled(workload: Workload) -> RollingUpdate | None:
    if update.not_applicable(workload):
        return None
    failed = FAILED[workload.key]
    return RollingUpdate(
        failed_requests=failed,
        requests=412,
        longest_gap_s=2.31 if failed else 0.0,
        errors=["connection refused"] if failed else [],
        windows_s=[[11.2, 13.51]] if failed else [],
        rollout_s=14.8,
        through="Service podlife-web:8000 (added by podlife)",
        baseline=Baseline(requests=3, failed=3, errors={"no route to host": 3}, until_s=0.9),
        documented_keeps_serving=bool(update.promise(workload).value),
        fewest_ready=update.replicas(workload),
        documented_min_ready=documented.min_ready(
            workload.kind, workload.doc["spec"], update.replicas(workload)
        ),
        old_pods=LEAVING.get(workload.key, []),
    )


def profiled(workload: Workload) -> Profile:
    """The profile a worker sends for ``workload``, before the node loss is joined in."""
    running = workload.running()
    sidecars = workload.sidecars()
    start = Start(
        containers={
            c: ContainerStart("sidecar" if c in sidecars else "regular", 1.2 + i, 1.9 + i)
            for i, c in enumerate(running)
        },
        pod_ready_s=2.1 + len(running),
        pods=1,
    )
    stubborn = {"ignores-term"}  # PID 1 without a SIGTERM handler: killed at its grace period
    grace = workload.grace_s()
    stops = {
        c: Stop(137, float(grace), True, grace + 0.6) if c in stubborn else Stop(0, 0.0, False, 0.4)
        for c in running
    }
    unmeasured = {"node_loss": NO_NODE_LOSS}
    if why := update.not_applicable(workload):
        unmeasured["rolling_update"] = f"not applicable: {why}"
    departures = []
    if workload.key == "StatefulSet/store":  # one departure, to be seen on the pages
        stops = {**stops, "store": Stop(137, grace + 6.0, True, grace + 6.4)}
        grace_promise = documented.ends_within_grace(grace)
        departures.append(
            grace_promise.departure("graceful stop of store", f"ended {grace + 6.0} s after the deletion")
        )
    return Profile(
        workload=workload.key,
        manifest=str(workload.path.relative_to(REFERENCE.parents[2])),
        grace_s=grace,
        start=start,
        data=kept(workload, same_node=True),
        not_applicable={},
        container_kill={c: Kill([c], 1.4, 11.7, True) for c in running},
        graceful_stop=stops,
        pod_recreate=Recreate(
            workload.controlled,
            "controller" if workload.controlled else "podlife (applied again)",
            3.2,
            "worker",
            "worker",
        ),
        node_loss=None,
        rolling_update=rolled(workload),
        unmeasured=unmeasured,
        departures=departures,
        node="podlife-worker",
        findings=[rolling_finding(s)]
        if (s := rolled(workload)) and s.failed_requests and s.documented_keeps_serving
        else [],
    )


def found_after_loss(workload: Workload) -> NodeLossFinding:
    """The run's node-loss test's finding for ``workload``: as documented."""
    promise = documented.replaced_on_node_loss(workload.kind, 20)
    replaced = bool(promise.value)
    data = {}
    for place in places(workload)[0]:
        promised = bool(documented.survives(place.type, NODE_LOSS, False, False).value)
        data[place.key] = Kept(place.type, place.container).after(NODE_LOSS, promised, promised)
    by = {
        "Pod": "podlife (applied again: the bare pod was gone)",
        "StatefulSet": "its controller, once the node was back",
    }.get(workload.kind, "its controller, on another node while the node was away")
    loss = NodeLoss(
        node_before="podlife-worker2",
        replaced=replaced,
        documented_replaced=replaced,
        tolerated_s=20,
        toleration="the API server's default for pods that set none",
        stock_toleration_s=300,
        by=by,
        node_after="podlife-worker" if replaced else "podlife-worker2",
        ready_again_s={"Pod": 84.4, "StatefulSet": 83.4}.get(workload.kind, 45.0),
        evicted_after_s=30.6,
        no_replacement=f"{workload.name} was evicted and nothing replaces a bare pod"
        if workload.kind == "Pod"
        else None,
        method="kubelet stopped by podlife's agent",
        node_not_ready_after_s=12.6,
        node_ready_again_after_s=21.3,
        cluster="podlife's own cluster: an unreachable node's pods are evicted after 20 s (stock: 300 s)",
    )
    return NodeLossFinding(loss, data, [], {})


def sent(workloads: list[Workload]) -> list[dict]:
    """What the run's tests send the process that started it: JSON, through ``user_properties``."""
    phase = NodeLossPhase({w.key: found_after_loss(w) for w in workloads})
    wire = [json.dumps(profiled(w).to_json()) for w in workloads]
    wire.append(json.dumps(phase.to_json()))
    return [json.loads(w) for w in wire[:-1]] + [{nodeloss.PHASE: json.loads(wire[-1])}]


def reference_profiles() -> list[Profile]:
    """The reference set's profiles as the reports get them."""
    workloads = load([str(REFERENCE)])
    return nodeloss.merge(*nodeloss.received(sent(workloads)), asked=True)


# ---------------------------------------------------------------- the tests
def test_a_profile_round_trips_through_json_exactly() -> None:
    for profile in reference_profiles():
        again = Profile.from_json(json.loads(json.dumps(profile.to_json())))
        assert again == profile
        assert isinstance(again.start.containers[next(iter(again.start.containers))], ContainerStart)
        assert again.rolling_update is None or isinstance(again.rolling_update.baseline, Baseline)


def test_a_saved_profile_json_reads_back_typed(tmp_path: Path) -> None:
    profiles = reference_profiles()
    profile_files.write(
        profiles, tmp_path, Meta(cluster="kind", started="2026-12-06T07:52:00", duration_s=185.1)
    )
    assert profile_files.read(tmp_path / "profile.json") == sorted(profiles, key=lambda p: p.workload)


def test_a_key_that_does_not_fit_is_refused() -> None:
    saved = reference_profiles()[0].to_json()
    with pytest.raises(TypeError, match="Profile has no verdict"):
        Profile.from_json({**saved, "verdict": "fine"})
    with pytest.raises(TypeError, match="Kill has no restarts"):
        typed(Kill, {"restarts": 1, "unready_s": None, "restarted": None})


def test_the_json_keeps_the_shape_check_py_and_tools_read() -> None:
    saved = reference_profiles()[0].to_json()
    assert {
        "workload",
        "manifest",
        "node",
        "grace_s",
        "start",
        "data",
        "not_applicable",
        "container_kill",
        "graceful_stop",
        "pod_recreate",
        "node_loss",
        "rolling_update",
        "unmeasured",
        "departures",
        "findings",
    } == set(saved)
    place = next(iter(saved["data"].values()))
    assert set(place) == {"type", "container", "survives", "documented"}
    assert set(place["survives"]) == {CONTAINER_RESTART, POD_RECREATE, NODE_LOSS}
    assert set(
        saved["departures"][0] if saved["departures"] else {"observation", "documented", "measured"}
    ) == {
        "observation",
        "documented",
        "measured",
    }


def test_a_departure_is_written_one_way_from_its_promise() -> None:
    promise = documented.replaced(False, "Pod")
    gone = promise.departure("pod deleted: replaced", True)
    assert gone == Departure("pod deleted: replaced", promise.text(), "True")
    assert gone.line() == f"pod deleted: replaced: documented {promise.text()}; measured True"
    assert promise.text().endswith(f"({documented.LIFECYCLE})")


def test_the_node_loss_joins_a_profile_without_changing_the_one_given() -> None:
    (workload,) = load([str(REFERENCE / "bare-pod.yml")])
    before = profiled(workload)
    frozen = json.dumps(before.to_json())
    wrong = Departure("scratch (emptyDir) after node-loss", "lost", "True")
    found = replace(found_after_loss(workload), departures=[wrong], unmeasured={"x node-loss": "unreadable"})
    after = before.with_node_loss(found)
    assert json.dumps(before.to_json()) == frozen  # the profile given is as it was
    assert after.node_loss == found.node_loss and after.departures == [wrong]
    assert after.data["scratch"].survives == {CONTAINER_RESTART: True, POD_RECREATE: False, NODE_LOSS: False}
    assert after.data["scratch"].documented[NODE_LOSS] is False
    assert "node_loss" not in after.unmeasured and after.unmeasured["x node-loss"] == "unreadable"


def test_a_profile_without_node_loss_findings_says_why() -> None:
    (workload,) = load([str(REFERENCE / "bare-pod.yml")])
    alone = [profiled(workload).to_json()]
    (missing,) = nodeloss.merge(*nodeloss.received(alone), asked=True)
    assert missing.node_loss is None and missing.unmeasured["node_loss"] == nodeloss.NOT_FINISHED
    (declined,) = nodeloss.merge(*nodeloss.received(alone), asked=False)
    assert declined.node_loss is None and declined.unmeasured["node_loss"] == NO_NODE_LOSS
    not_performed = NodeLossFinding(None, {}, [], {"node_loss": "no pod of it ran on worker2"})
    (skipped,) = nodeloss.merge(nodeloss.received(alone)[0], {workload.key: not_performed}, asked=True)
    assert skipped.node_loss is None and skipped.unmeasured["node_loss"] == "no pod of it ran on worker2"
    assert NODE_LOSS not in skipped.data["scratch"].survives  # not performed: not a value


def test_the_node_loss_phase_crosses_as_json_and_names_its_departures() -> None:
    (workload,) = load([str(REFERENCE / "statefulset-pvc.yml")])
    wrong = documented.replaced_on_node_loss("StatefulSet", 20).departure(
        "node lost: replaced on another node", True
    )
    phase = NodeLossPhase({workload.key: replace(found_after_loss(workload), departures=[wrong])})
    again = NodeLossPhase.from_json(json.loads(json.dumps(phase.to_json())))
    assert again == phase
    assert again.lines() == [f"StatefulSet/store: {wrong.line()}"]


def test_the_reference_check_reads_the_typed_profiles_json(tmp_path: Path) -> None:
    """``tests/subjects/profile/check.py``, as CI runs it on ``reports/profile.json``."""
    from tests.test_profile import reference_report

    check, _ = reference_report()
    profiles = reference_profiles()
    profile_files.write(profiles, tmp_path, Meta(cluster="kind", started="2026-12-06", duration_s=1.0))
    assert check.main([str(tmp_path / "profile.json")]) == 1  # the store's departure, named
    saved = [p.to_json() for p in profiles]
    assert check.mismatches(saved) == [
        "StatefulSet/store killed_at_grace store: expected False, measured True"
    ]
    calm = [
        replace(p, graceful_stop={"store": Stop(0, 0.0, False, 0.4)}, departures=[])
        if p.workload == "StatefulSet/store"
        else p
        for p in profiles
    ]
    profile_files.write(calm, tmp_path / "calm", Meta(cluster="kind", started="2026-12-06", duration_s=1.0))
    assert check.main([str(tmp_path / "calm" / "profile.json")]) == 0
    # several at once (tox -e matrix: one per version): any mismatch fails them all
    assert check.main([str(tmp_path / "calm" / "profile.json"), str(tmp_path / "profile.json")]) == 1
    # a version whose profile never ran: one line for it, the others still checked
    assert check.main([str(tmp_path / "calm" / "profile.json"), str(tmp_path / "none.json")]) == 1
