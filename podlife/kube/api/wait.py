"""The one way podlife waits for something outside the Kubernetes API.

Kubernetes objects are observed through watches (:mod:`podlife.kube.api.watch`).  Everything
else (a daemon socket, a node's container runtime) is polled here, with tenacity, a
bounded backoff and a timeout whose error says what was awaited and what was seen last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """Raised when a wait expires: names what it waited for and the last observation."""

    def __init__(self, what: str, timeout: float, last: object) -> None:
        super().__init__(f"gave up after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        self.what, self.timeout, self.last = what, timeout, last


class Impossible(Exception):
    """Raised by a wait's predicate when the awaited state can no longer come (a container
    in CrashLoopBackOff while the wait is for it to be ready): the wait stops at once."""


class WaitImpossible(RuntimeError):
    """A wait that stopped early: what it waited for, why that cannot happen, the last state."""

    def __init__(self, what: str, why: str, last: object) -> None:
        super().__init__(
            f"stopped waiting for {what}: it cannot happen any more ({why}); last seen: {last!r}"
        )
        self.what, self.why, self.last = what, why, last


def poll_until(
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval_max: float = 2.0,
) -> T:
    """Call ``probe`` until it returns something other than None/False; return that.

    Exceptions raised by the probe count as "not yet" and are reported as the last
    observation when the timeout expires.
    """
    last: list[object] = [None]

    def attempt() -> T | None:
        try:
            value = probe()
        except Exception as exc:  # the probe's failure is an observation, kept for the report
            last[0] = exc
            return None
        last[0] = value
        return value

    retrying = Retrying(
        retry=retry_if_result(lambda v: v is None or v is False),
        wait=wait_exponential(multiplier=0.1, max=interval_max),
        stop=stop_after_delay(timeout),
    )
    try:
        return retrying(attempt)  # type: ignore[return-value]
    except RetryError as exc:
        raise WaitTimeout(what, timeout, last[0]) from exc
