"""An old pod's way out of a Service: its deletion, its endpoint going off, its containers' end and
the requests that failed in between, each replayed from recorded watches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

from podlife.kube import endpoints
from podlife.kube.api.watch import Event

ZERO = datetime(2026, 12, 7, tzinfo=UTC)


def at(s: float) -> datetime:
    return ZERO + timedelta(seconds=s)


def pod(name: str, *, deleting: bool = False, ended: tuple[str, ...] = ()) -> Any:
    statuses = [NS(name=c, state=NS(terminated=NS(exit_code=0))) for c in ended]
    return NS(
        metadata=NS(name=name, deletion_timestamp=at(0) if deleting else None, labels={}),
        status=NS(container_statuses=statuses),
    )


def eps(name: str, **ready: bool) -> Any:
    return NS(
        metadata=NS(name=name),
        endpoints=[NS(target_ref=NS(kind="Pod", name=p), conditions=NS(ready=r)) for p, r in ready.items()],
    )


def sample(s: float, ok: bool) -> Any:
    return NS(at=s, ok=ok)


def test_a_container_that_ends_before_its_endpoint_is_off_explains_the_failed_requests() -> None:
    pods = [
        Event(at(1.0), "MODIFIED", pod("old", deleting=True)),
        Event(at(1.1), "MODIFIED", pod("old", deleting=True, ended=("web",))),
        Event(at(3.0), "DELETED", pod("old", deleting=True, ended=("web",))),
    ]
    slices = [
        Event(at(0.5), "ADDED", eps("s1", old=True, new=True)),
        Event(at(2.4), "MODIFIED", eps("s1", old=False, new=True)),
    ]
    samples = [
        sample(0.9, True),
        sample(1.2, False),
        sample(2.0, False),
        sample(3.0, False),
        sample(5.0, False),
    ]
    (old,) = endpoints.leavings(pods, slices, samples, ZERO.timestamp())
    assert (old.deleted_s, old.endpoint_off_s, old.ended_s) == (1.0, 2.4, {"web": 1.1})
    assert old.failed == 3  # 1.2, 2.0, 3.0 (within the proxy's slack); 5.0 is not this pod's
    assert old.first_failed_s == 1.2
    assert "requests failed from 0.20 s after the deletion, 1.20 s before its endpoint went off" in old.line()
    assert (
        "its endpoint off 1.40 s after the deletion; web seen ended 0.10 s after the deletion" in old.line()
    )
    why = endpoints.mechanism([old], 4)
    assert why is not None and "3 of the 4 failed request(s)" in why


def test_a_pod_that_serves_until_its_endpoint_is_off_explains_nothing() -> None:
    pods = [
        Event(at(1.0), "MODIFIED", pod("old", deleting=True)),
        Event(at(6.0), "MODIFIED", pod("old", deleting=True, ended=("web",))),
    ]
    slices = [
        Event(at(0.5), "ADDED", eps("s1", old=True)),
        Event(at(1.3), "MODIFIED", eps("s1", old=False)),
    ]
    (old,) = endpoints.leavings(pods, slices, [sample(2.0, True)], ZERO.timestamp())
    assert old.failed == 0 and old.first_failed_s is None
    assert endpoints.mechanism([old], 0) is None


def test_an_endpoint_ready_in_another_slice_is_not_off() -> None:
    slices = [
        Event(at(0.1), "ADDED", eps("s1", a=True)),
        Event(at(0.2), "ADDED", eps("s2", a=True)),
        Event(at(0.3), "MODIFIED", eps("s1", a=False)),
        Event(at(0.4), "DELETED", eps("s2")),
    ]
    assert [
        (round((t - ZERO).total_seconds(), 1), p, r) for t, p, r in endpoints.endpoint_changes(slices)
    ] == [
        (0.1, "a", True),
        (0.4, "a", False),
    ]


def test_a_pod_not_selected_or_never_deleted_has_no_way_out() -> None:
    pods = [Event(at(1.0), "MODIFIED", pod("loop", deleting=True)), Event(at(1.0), "MODIFIED", pod("kept"))]
    assert endpoints.leavings(pods, [], [], ZERO.timestamp(), lambda p: p.metadata.name != "loop") == []


def test_only_pods_deleted_while_the_loop_ran_and_an_endpoint_already_off_goes_off_with_the_deletion() -> (
    None
):
    """The profile kills a container and deletes a pod before its rolling update's loop starts: that
    pod is not one of the update's; a pod whose probe had failed was already off when deleted."""
    zero = ZERO.timestamp() + 10  # the loop began 10 s after ZERO
    pods = [
        Event(at(2.0), "MODIFIED", pod("earlier", deleting=True)),
        Event(at(12.0), "MODIFIED", pod("unready", deleting=True)),
        Event(at(13.0), "MODIFIED", pod("unready", deleting=True, ended=("web",))),
    ]
    slices = [
        Event(at(1.0), "ADDED", eps("s1", earlier=True, unready=True)),
        Event(at(2.1), "MODIFIED", eps("s1", unready=True)),
        Event(at(8.0), "MODIFIED", eps("s1", unready=False)),  # its probe failed
        Event(at(12.5), "MODIFIED", eps("s1")),  # gone from the slice
    ]
    (only,) = endpoints.leavings(pods, slices, [], zero)
    assert (only.pod, only.deleted_s, only.endpoint_off_s) == ("unready", 2.0, 2.0)
