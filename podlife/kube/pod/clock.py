"""A SIGTERM clock: a container podlife adds to a pod (its probe image, plain Python) that says, in
its log, when SIGTERM reached it and when it had finished draining (``DRAIN_S`` later).  Its log,
followed with the runtime's timestamps while the pod stops, is when each stage happened: what no
API field says (a container's ``finishedAt`` is to the second, and says nothing about SIGTERM)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from kubernetes import client

from podlife.kube import helpers
from podlife.kube.helpers import sigterm_clock
from podlife.kube.pod.logs import LogFollower
from podlife.kube.pod.manifest import pod_spec

NAME = "sigterm-clock"
DRAIN_S = sigterm_clock.DRAIN_S
COMMAND = helpers.command(sigterm_clock, str(DRAIN_S))  # :mod:`podlife.kube.helpers.sigterm_clock`


def clocked(docs: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """The pods with the clock beside their containers, unless a manifest declares its own."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None and all(c["name"] != NAME for c in spec["containers"]):
            spec["containers"].append(
                {
                    "name": NAME,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": COMMAND,
                }
            )
    return docs


class Follower:
    """A container's log, followed (with timestamps) in a thread of its own until the container ends
    (:class:`podlife.kube.pod.logs.LogFollower`: a stream that ends early is opened again)."""

    def __init__(self, api: client.ApiClient, namespace: str, pod: str, container: str) -> None:
        self.lines: list[tuple[datetime, str]] = []
        self.log = LogFollower(
            api, namespace, pod, container, lambda at, text: self.lines.append((at, text.strip()))
        )

    def __enter__(self) -> Follower:
        self.log.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.join(10)

    def when(self, text: str) -> datetime | None:
        return next((at for at, line in self.lines if line == text), None)
