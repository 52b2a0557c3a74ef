"""A request loop that measures availability, run from inside the cluster.

``RequestLoop`` starts a pod (podlife's probe image, :func:`podlife.kube.helpers.inpod.loop`) in the
scenario's namespace that sends one request at a time to a URL (a pod's address, or a
Service's name) while the scenario acts, and follows its log: one line per request, with its
start time, duration and outcome.  Clients inside the cluster are what a Service or a pod
address serves; nothing leaves the cluster's own network and no port of the host is used.
The loop is bounded in count and in time.  ``downtime`` turns the samples into failure
windows; ``series`` into counts per second for the report's picture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from podlife.errors import SetupError
from podlife.kube.api.wait import Impossible, poll_until
from podlife.kube.pod.logs import LogFollower
from podlife.kube.pod.probe import command
from podlife.kube.pod.shape import pinned
from podlife.pictures import RequestSeries

MAX_REQUESTS = 20_000
MAX_SECONDS = 300.0
POD = "podlife-traffic"


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the loop was started
    took: float  # seconds
    ok: bool
    detail: str  # status code or error class


def sample(line: str, zero: float) -> Sample | None:
    """One line the loop printed, as a sample (None for anything else it printed)."""
    try:
        raw = json.loads(line)
        return Sample(round(raw["at"] - zero, 3), raw["took"], bool(raw["ok"]), str(raw["detail"]))
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class RequestLoop:
    """GET ``url`` from a pod in ``namespace`` until stopped, or until the count or time bound."""

    api: client.ApiClient
    namespace: str
    image: str
    url: str
    wait: Callable[..., Any]  # the scenario's watch-based wait over its pods
    node: str | None = None  # the scenario's worker, if it holds one
    interval: float = 0.02
    max_seconds: float = MAX_SECONDS
    body: str | None = None  # POSTed with each request (a form), instead of a GET
    samples: list[Sample] = field(default_factory=list)
    zero: float = 0.0
    _log: LogFollower | None = None

    def __enter__(self) -> RequestLoop:
        core = client.CoreV1Api(self.api)
        self.zero = time.time()
        core.create_namespaced_pod(self.namespace, self.pod())

        def running(objects: dict[str, Any]) -> bool:
            p = objects.get(POD)
            waiting = p and p.status.container_statuses and p.status.container_statuses[0].state.waiting
            if waiting and waiting.reason not in ("ContainerCreating", "PodInitializing"):
                raise Impossible(f"the request loop's pod is {waiting.reason}: {waiting.message}")
            return bool(p and p.status.phase in ("Running", "Succeeded", "Failed"))

        self.wait(running, what="the request loop's pod to run", timeout=60)
        self._log = LogFollower(
            self.api, self.namespace, POD, None, self._take, limit_s=self.max_seconds + 60
        )
        self._log.start()
        return self

    def pod(self) -> dict[str, Any]:
        """The loop's pod: podlife's probe image running the loop job, on the scenario's worker."""
        job = [
            (
                "loop",
                {
                    "url": self.url,
                    "interval": self.interval,
                    "limit": self.max_seconds,
                    "most": MAX_REQUESTS,
                    "body": self.body,
                },
            )
        ]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": POD, "labels": {"podlife": "traffic"}},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {
                        "name": "loop",
                        "image": self.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command(job),
                    }
                ],
            },
        }
        return pinned([pod], self.node)[0] if self.node else pod

    def _take(self, _at: object, line: str) -> None:
        if (s := sample(line, self.zero)) is not None:
            self.samples.append(s)

    def __exit__(self, *exc: object) -> None:
        try:
            client.CoreV1Api(self.api).delete_namespaced_pod(POD, self.namespace, grace_period_seconds=0)
        except client.ApiException as err:
            if err.status != 404:
                raise
        if self._log:
            self._log.stop()

    def now(self) -> float:
        return round(time.time() - self.zero, 3)

    def await_answered(
        self, count: int, what: str, *, after: float | None = None, timeout: float = 60
    ) -> None:
        """Block until ``count`` requests (started after ``after`` s, if given) were answered:
        a baseline before a scenario acts, and the app seen serving again afterwards."""
        try:
            poll_until(
                f"{count} answered requests {what}",
                lambda: sum(s.ok for s in self.samples if after is None or s.at > after) >= count,
                timeout=timeout,
            )
        except TimeoutError as exc:
            raise SetupError(f"{exc}; {self.seen()}") from exc

    def seen(self) -> str:
        """What the loop was seen doing: its last requests, the last one's start, its log's early ends."""
        if not self.samples:
            return "the loop logged no request"
        ends = self._log.ends if self._log else []
        return (
            f"the loop saw {summary(self.samples[-20:])}, the last begun at {self.samples[-1].at} s"
            f" (now {self.now()} s)"
            + (f"; its log's stream ended early {len(ends)} time(s), last on: {ends[-1]!r}" if ends else "")
        )


def summary(samples: list[Sample]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in samples:
        out[s.detail] = out.get(s.detail, 0) + 1
    return out


def first_answered(samples: list[Sample]) -> int:
    """The index of the first answered request (``len(samples)`` when none was)."""
    return next((i for i, s in enumerate(samples) if s.ok), len(samples))


def answered_from_first(samples: list[Sample]) -> list[Sample]:
    """The samples from the first answered request on: before it, the loop's own start (a new
    Service or pod address being set up for the loop's pod), which is not downtime of the app."""
    return samples[first_answered(samples) :]


def measured(samples: list[Sample]) -> dict[str, Any]:
    """What an update's evidence counts: the downtime from the first answered request on, and the
    baseline before it, stated (how many, how many failed, why, until when)."""
    first = first_answered(samples)
    before = samples[:first]
    baseline = {
        "requests": len(before),
        "failed": sum(not s.ok for s in before),
        "errors": summary(before),
        "until_s": round(samples[first].at, 3) if first < len(samples) else None,
    }
    return {**downtime(samples[first:]), "baseline": baseline}


def downtime(samples: list[Sample]) -> dict[str, Any]:
    """Failed requests and the windows in which requests failed, in seconds."""
    windows: list[list[float]] = []
    for s in samples:
        if not s.ok:
            if windows and s.at - windows[-1][1] < 1.0:
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


def series(samples: list[Sample], marks: dict[str, float], bin_s: float = 1.0) -> RequestSeries:
    """The samples as counts per ``bin_s``, the same samples the evidence counts (:func:`measured`):
    those before the first answered request in the baseline bins, the rest in the counted ones."""
    bins = int(max((s.at for s in samples), default=0.0) // bin_s) + 1
    ok, failed, base_ok, base_failed = ([0] * bins for _ in range(4))
    first = first_answered(samples)
    for i, s in enumerate(samples):
        at = int(max(s.at, 0.0) // bin_s)
        if i < first:
            (base_ok if s.ok else base_failed)[at] += 1
        else:
            (ok if s.ok else failed)[at] += 1
    counted_from = samples[first].at if first < len(samples) else 0.0
    return RequestSeries(bin_s, ok, failed, dict(marks), base_ok, base_failed, round(counted_from, 3))


def failed_outside(samples: list[Sample], since: float, losses: list[tuple[str, float, float | None]]) -> int:
    """How many requests from ``since`` on failed outside the windows in which a pod had lost its
    readiness on its own (``losses``: pod, from, until or None, in the loop's seconds; each window
    with a second more: kube-proxy follows the endpoint), the workload's part reported beside."""
    return sum(
        1
        for s in samples
        if s.at >= since
        and not s.ok
        and not any(a <= s.at <= (s.at if b is None else b) + 1 for _, a, b in losses)
    )
