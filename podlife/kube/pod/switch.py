"""A probe switch: a small HTTP server podlife adds to a pod (its own probe image, plain Python) that
a container's probes ask, and that podlife turns to failing and back through HTTP.  A probe claim so
fails a probe of any web image, without an endpoint of the app and without a shell in its image.

``/live`` and ``/ready`` answer 200 while they hold, 503 once failed; ``/fail/NAME`` and
``/heal/NAME`` turn them.
"""

from __future__ import annotations

import copy
from typing import Any

from podlife.kube import helpers
from podlife.kube.api.reach import PodEndpoint
from podlife.kube.helpers import probe_switch
from podlife.kube.pod.manifest import pod_spec

PORT = 9100
NAME = "probe-switch"


def code(port: int = PORT) -> list[str]:
    """The switch's command (:mod:`podlife.kube.helpers.probe_switch`), serving on ``port``."""
    return helpers.command(probe_switch, str(port))


def probe(path: str, failures: int) -> dict[str, Any]:
    """An httpGet probe of the switch, asked every second; a liveness probe's kill gets 2 s of
    grace (a web image that ignores SIGTERM is not given its pod's 30 s)."""
    out: dict[str, Any] = {
        "httpGet": {"path": path, "port": PORT},
        "periodSeconds": 1,
        "timeoutSeconds": 1,
        "failureThreshold": failures,
    }
    if path == "/live":
        out["terminationGracePeriodSeconds"] = 2
    return out


def switched(docs: list[dict[str, Any]], container: str, image: str) -> list[dict[str, Any]]:
    """The pods with the switch beside their containers, and ``container`` probed through it (a
    liveness and a readiness probe), where the manifest declares no probe of its own."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for c in spec["containers"]:
            if c["name"] == container and not (c.get("livenessProbe") or c.get("readinessProbe")):
                c["livenessProbe"], c["readinessProbe"] = probe("/live", 2), probe("/ready", 1)
        spec["containers"].append(
            {
                "name": NAME,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": code(),
            }
        )
    return docs


def turn(ep: PodEndpoint, action: str, probe_name: str) -> None:
    """``fail`` or ``heal`` the switch's ``live`` or ``ready``."""
    ep.request("GET", f"/{action}/{probe_name}", timeout=5).raise_for_status()
