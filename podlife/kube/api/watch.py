"""The one way podlife waits for Kubernetes objects: a recorded watch.

A :class:`Watcher` lists a kind of object, then watches it from that resource version in
a background thread, keeping the current objects and every event with the time it was
received.  ``wait`` returns as soon as a predicate holds for the current objects, woken by
events, never by a sleep; on timeout it says what it waited for and what it saw last.
Scenarios start a watcher before they act, so the history is their timeline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from podlife.kube.api.wait import Impossible, WaitImpossible, WaitTimeout

Objects = dict[str, Any]
CHUNK_S = 60  # each watch request is renewed after this long (stop() does not wait for it)
STOP_S = 2  # how long stop() waits for the watch thread to end


@dataclass(frozen=True)
class Event:
    at: datetime  # when podlife received it (UTC)
    type: str  # ADDED / MODIFIED / DELETED
    obj: Any


class Watcher:
    """Keep ``objects`` current from a list+watch and record every event."""

    def __init__(self, list_func: Callable[..., Any], **list_args: Any) -> None:
        self.list_func, self.list_args = list_func, list_args
        self.objects: Objects = {}
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="podlife-watch")
        self._stream: watch.Watch | None = None

    def start(self) -> Watcher:
        self._thread.start()
        self._ready.wait(30)
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        """Stop watching.  The request in flight is shut (the read side of its socket), so the
        thread ends now rather than when the API server ends the chunk."""
        self._stop.set()
        deadline = time.monotonic() + STOP_S
        while self._thread.is_alive() and time.monotonic() < deadline:
            shut(self._stream)
            self._thread.join(0.1)

    def _record(self, kind: str, obj: Any) -> None:
        with self._changed:
            if kind == "DELETED":
                self.objects.pop(obj.metadata.name, None)
            else:
                self.objects[obj.metadata.name] = obj
            self.events.append(Event(datetime.now(UTC), kind, obj))
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                listing = self.list_func(**self.list_args)
                with self._changed:
                    self.objects = {item.metadata.name: item for item in listing.items}
                    self._changed.notify_all()
                self._ready.set()
                version = listing.metadata.resource_version
                try:
                    while not self._stop.is_set():
                        self._stream = stream = watch.Watch()
                        for event in stream.stream(
                            self.list_func,
                            resource_version=version,
                            timeout_seconds=CHUNK_S,
                            _request_timeout=CHUNK_S + 30,
                            **self.list_args,
                        ):
                            version = event["object"].metadata.resource_version
                            self._record(event["type"], event["object"])
                            if self._stop.is_set():
                                break
                except ApiException as exc:
                    if exc.status != 410:  # 410 Gone: our version expired; list again
                        raise
        except BaseException as exc:  # surfaced by wait()
            if self._stop.is_set():
                return  # the end of a request stop() shut
            self.error = exc
            self._ready.set()
            with self._changed:
                self._changed.notify_all()

    def wait(
        self,
        predicate: Callable[[Objects], Any],
        *,
        what: str,
        timeout: float,
        describe: Callable[[Objects], object] = lambda objs: sorted(objs),
    ) -> Any:
        """Block until ``predicate(objects)`` is truthy; return its value.  A predicate that
        raises :class:`~podlife.kube.api.wait.Impossible` ends the wait at once (WaitImpossible)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.error:
                    raise RuntimeError(f"the watch behind '{what}' failed: {self.error}") from self.error
                try:
                    value = predicate(self.objects)
                except Impossible as exc:
                    raise WaitImpossible(what, str(exc), describe(self.objects)) from None
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(what, timeout, describe(self.objects))
                self._changed.wait(remaining)


def shut(stream: watch.Watch | None) -> None:
    """Shut the response a watch stream is reading, if it has one (urllib3's
    ``HTTPResponse.shutdown``): the read in progress ends at once."""
    resp = getattr(stream, "_resp", None)
    raw = getattr(resp, "response", resp)  # the client's RESTResponse, or urllib3's own
    with suppress(Exception):  # already ended or released: nothing left to shut
        raw.shutdown()  # type: ignore[union-attr]


@contextmanager
def watching(list_func: Callable[..., Any], **list_args: Any) -> Iterator[Watcher]:
    watcher = Watcher(list_func, **list_args).start()
    try:
        yield watcher
    finally:
        watcher.stop()


def wait_for(
    list_func: Callable[..., Any],
    predicate: Callable[[Objects], Any],
    *,
    what: str,
    timeout: float,
    describe: Callable[[Objects], object] = lambda objs: sorted(objs),
    **list_args: Any,
) -> Any:
    """One-off wait: watch, wait for the predicate, stop watching."""
    with watching(list_func, **list_args) as watcher:
        return watcher.wait(predicate, what=what, timeout=timeout, describe=describe)
