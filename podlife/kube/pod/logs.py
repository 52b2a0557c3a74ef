"""A container's log, followed in a thread of its own, read on when its stream ends or stalls.

A followed log is a stream the kubelet serves from the container's log file, and it can end while
the container goes on: the kubelet needs an inotify instance to wait for new lines, and where
``fs.inotify.max_user_instances`` is used up (every kind node's processes share the host's one
budget) it ends the stream with "failed to create fsnotify watcher: too many open files"; a
connection can drop, or go silent.  A follower that believed such an end lost every later line:
CI's profile of 2026-12-07 waited 60 s for requests its loop went on making.

So :class:`LogFollower` reads with the runtime's timestamps (every line of a log has one; an error
the kubelet appends has none), opens the log again while the container still runs (after
``REOPEN_S``; a stream silent for ``SILENT_S`` counts as ended), and hands on only lines it had
not read: the file is append-only, so a new read's first lines are those already counted.  Each
early end is kept with the text it ended on, for a wait's error to name.  Bounded: ``MAX_OPENS``
reads within ``limit_s``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubernetes import client

from podlife.kube.pod.pods import stamp

MAX_OPENS = 600
REOPEN_S = 0.5
CONNECT_S = 10.0
SILENT_S = 30.0  # a followed stream that brings nothing for so long is opened again (a stalled one)
STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?(.*)$", re.S)


class LogFollower:
    """``on_line(at, text)`` for each line of ``container``'s log (each once, in order), from
    :meth:`start` until the container has ended and its log is read, or :meth:`stop`."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        pod: str,
        container: str | None,
        on_line: Callable[[datetime, str], None],
        *,
        limit_s: float = 900.0,
    ) -> None:
        self.api, self.namespace, self.pod, self.container = api, namespace, pod, container
        self.on_line, self.limit_s = on_line, limit_s
        self.read = 0  # lines handed on
        self.ends: list[str] = []  # each stream that ended while the container still ran: on what
        self._stopping = threading.Event()
        self._instance: str | None = None  # the container's id when the follow began
        self._replaced = False  # the container started again: its new log is not this one
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"podlife-log-{pod}")

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self, wait_s: float = 30.0) -> None:
        """No more reads after the current one; wait (bounded) for it to end."""
        self._stopping.set()
        self._thread.join(wait_s)

    def join(self, wait_s: float) -> None:
        self._thread.join(wait_s)

    def _run(self) -> None:
        with client.ApiClient(self.api.configuration) as own:  # a long stream: not on the shared client
            core = client.CoreV1Api(own)
            deadline = time.monotonic() + self.limit_s
            self._instance = getattr(self._status(core), "container_id", None)
            for _ in range(MAX_OPENS):
                follow = not self._stopping.is_set()  # once stopped: the rest read, not followed
                try:
                    tail = self._take(self._open(core, follow=follow))
                except client.ApiException as exc:  # the pod gone, or its container not there
                    self.ends.append(f"the log could not be read: {exc.status} {exc.reason}")
                    return
                if not follow:
                    return
                if self._stopping.is_set() or not self.running(core) or time.monotonic() > deadline:
                    if tail and not self._replaced:  # ended early, the container done: what it wrote since
                        self._final(core)
                    return
                self.ends.append(tail or "the stream closed")
                self._stopping.wait(REOPEN_S)

    def _open(self, core: client.CoreV1Api, follow: bool) -> Any:
        kwargs = {"container": self.container} if self.container else {}
        return core.read_namespaced_pod_log(
            self.pod,
            self.namespace,
            follow=follow,
            timestamps=True,
            _preload_content=False,
            _request_timeout=(CONNECT_S, SILENT_S if follow else 60.0),
            **kwargs,
        )

    def _final(self, core: client.CoreV1Api) -> None:
        try:
            self._take(self._open(core, follow=False))
        except client.ApiException as exc:
            self.ends.append(f"the log's rest could not be read: {exc.status} {exc.reason}")

    def _take(self, resp: Any) -> str:
        """Hand on the lines of one read not handed on before; the text it ended on that is no
        line of the log (the kubelet's error), if any."""
        skip, buffered, other = self.read, b"", []
        try:
            for chunk in resp.stream(4096):
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    skip = self._line(line.decode(errors="replace"), skip, other)
        except Exception as exc:  # a dropped or silent connection ends this read; the next goes on
            other.append(f"{type(exc).__name__}: {exc}")
        finally:
            resp.release_conn()
        rest = buffered.decode(errors="replace")
        if rest.strip() and not STAMPED.match(rest):  # a cut line of the log is read again next time
            other.append(rest.strip())
        return " ".join(other).strip()[:300]

    def _line(self, raw: str, skip: int, other: list[str]) -> int:
        match = STAMPED.match(raw)
        if match is None:
            other.append(raw.strip())
        elif skip > 0:
            return skip - 1
        else:
            self.read += 1
            self.on_line(stamp(match.group(1)), match.group(2).rstrip("\r"))
        return skip

    def running(self, core: client.CoreV1Api) -> bool:
        """Whether the container is still running (and so its log may grow): the same instance
        (a container started again has a new log, whose lines the count of this one does not fit)."""
        status = self._status(core)
        if status is None:
            return False
        if self._instance and status.container_id and status.container_id != self._instance:
            self._replaced = True
            self.ends.append("the container was started again: its new log is not read")
            return False
        return bool(status.state and status.state.running)

    def _status(self, core: client.CoreV1Api) -> Any:
        try:
            pod = core.read_namespaced_pod(self.pod, self.namespace)
        except client.ApiException:
            return None
        statuses = [*(pod.status.container_statuses or []), *(pod.status.init_container_statuses or [])]
        return next((s for s in statuses if self.container in (None, s.name)), None)
