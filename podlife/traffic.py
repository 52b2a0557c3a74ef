"""A request loop that measures availability: bounded in count and in time, loopback only.

``RequestLoop`` sends one request at a time through a :class:`PodEndpoint` (or any
callable) from a background thread while a scenario acts, and records each request's
start time, duration and outcome.  ``downtime`` turns that into the failure windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podlife.wait import poll_until

MAX_REQUESTS = 20_000
MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the loop started
    took: float  # seconds
    ok: bool
    detail: str  # status code or error class


@dataclass
class RequestLoop:
    """Call ``request()`` back to back until stopped, or until the count or time bound."""

    request: Callable[[], Any]  # returns a response with .status_code, or raises
    interval: float = 0.02  # pause between requests, so the loop does not starve the cluster
    max_requests: int = MAX_REQUESTS
    max_seconds: float = MAX_SECONDS
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started: float = 0.0

    def __enter__(self) -> RequestLoop:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="podlife-requests")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.samples) < self.max_requests:
            begun = time.monotonic()
            if begun - self.started > self.max_seconds:
                break
            try:
                status = self.request().status_code
                ok, detail = status == 200, str(status)
            except Exception as exc:  # a failed request is a sample, not a crash
                ok, detail = False, type(exc).__name__
            self.samples.append(
                Sample(round(begun - self.started, 3), round(time.monotonic() - begun, 3), ok, detail)
            )
            self._stop.wait(self.interval)

    def now(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def await_answered(
        self, count: int, what: str, *, after: float | None = None, timeout: float = 60
    ) -> None:
        """Block until ``count`` requests (started after ``after`` s, if given) were answered:
        a baseline before a scenario acts, and the app seen serving again afterwards."""
        poll_until(
            f"{count} answered requests {what}",
            lambda: sum(s.ok for s in self.samples if after is None or s.at > after) >= count,
            timeout=timeout,
        )


def answered_from_first(samples: list[Sample]) -> list[Sample]:
    """The samples from the first answered request on: before it, a new Service or port-forward
    is still being set up, which is not downtime of the app."""
    first = next((i for i, s in enumerate(samples) if s.ok), len(samples))
    return samples[first:]


def downtime(samples: list[Sample]) -> dict[str, Any]:
    """Failed requests and the windows in which requests failed, in seconds."""
    windows: list[list[float]] = []
    for s in samples:
        if not s.ok:
            if windows and windows[-1][1] is not None and s.at - windows[-1][1] < 1.0:
                windows[-1][1] = s.at + s.took
            else:
                windows.append([s.at, s.at + s.took])
    return {
        "requests": len(samples),
        "failed": sum(not s.ok for s in samples),
        "windows_s": [[round(a, 3), round(b, 3)] for a, b in windows],
        "longest_window_s": round(max((b - a for a, b in windows), default=0.0), 3),
        "errors": sorted({s.detail for s in samples if not s.ok}),
    }
