"""The one way podlife waits for Kubernetes objects: list, then watch from that version.

``wait_for`` keeps a name -> object map current from a watch and returns as soon as the
predicate holds for it; on timeout it says what it waited for and what it saw last.
Nothing here sleeps: every decision is taken on an event from the API server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from podlife.wait import WaitTimeout

Objects = dict[str, Any]


def wait_for(
    list_func: Callable[..., Any],
    predicate: Callable[[Objects], bool],
    *,
    what: str,
    timeout: float,
    describe: Callable[[Objects], object] = lambda objs: sorted(objs),
    **list_args: Any,
) -> Objects:
    """Return the objects once ``predicate(objects)`` holds; raise WaitTimeout otherwise."""
    deadline = time.monotonic() + timeout
    objects: Objects = {}
    while True:
        listing = list_func(**list_args)
        objects = {item.metadata.name: item for item in listing.items}
        if predicate(objects):
            return objects
        version = listing.metadata.resource_version
        stream = watch.Watch()
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                for event in stream.stream(
                    list_func, resource_version=version, timeout_seconds=max(1, int(remaining)), **list_args
                ):
                    obj = event["object"]
                    version = obj.metadata.resource_version
                    if event["type"] == "DELETED":
                        objects.pop(obj.metadata.name, None)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        objects[obj.metadata.name] = obj
                    if predicate(objects):
                        return objects
                    if time.monotonic() > deadline:
                        break
            raise WaitTimeout(what, timeout, describe(objects))
        except ApiException as exc:
            if exc.status != 410:  # 410 Gone: our version expired; list again
                raise
        finally:
            stream.stop()
