"""podlife.traffic: the request loop's bounds, its waits, and how failures become windows."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from podlife.traffic import RequestLoop, Sample, answered_from_first, downtime
from podlife.wait import WaitTimeout


def answers(*codes: int) -> Callable[[], SimpleNamespace]:
    """A request callable: the given status codes, then 200s."""
    queue = list(codes)
    return lambda: SimpleNamespace(status_code=queue.pop(0) if queue else 200)


def test_loop_is_bounded_in_count() -> None:
    with RequestLoop(answers(), interval=0, max_requests=7) as loop:
        loop.await_answered(7, "in all")
    assert len(loop.samples) == 7


def test_await_answered_counts_only_answers_after_the_mark() -> None:
    with RequestLoop(answers(), interval=0.01, max_requests=50) as loop:
        loop.await_answered(5, "before")
        mark = loop.now()
        loop.await_answered(5, "after the mark", after=mark)
    assert sum(s.ok for s in loop.samples if s.at > mark) >= 5


def test_await_answered_times_out_naming_what_it_waited_for() -> None:
    def refused() -> None:
        raise ConnectionError

    with RequestLoop(refused, interval=0.01, max_requests=100) as loop, pytest.raises(WaitTimeout) as err:
        loop.await_answered(1, "before the update", timeout=1)
    assert "1 answered requests before the update" in str(err.value)
    assert loop.samples and not any(s.ok for s in loop.samples)


def test_failures_become_windows_counted_from_the_first_answer() -> None:
    samples = [
        Sample(0.0, 0.1, False, "ConnectionError"),  # set-up of a new port: not downtime
        Sample(0.2, 0.1, True, "200"),
        Sample(1.0, 0.2, False, "503"),
        Sample(1.5, 0.2, False, "ConnectionError"),
        Sample(2.0, 0.1, True, "200"),
    ]
    measured = downtime(answered_from_first(samples))
    assert measured["requests"] == 4 and measured["failed"] == 2
    assert measured["windows_s"] == [[1.0, 1.7]] and measured["longest_window_s"] == 0.7
    assert measured["errors"] == ["503", "ConnectionError"]
    assert answered_from_first([Sample(0.0, 0.1, False, "x")]) == []
