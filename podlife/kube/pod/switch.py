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
STARTUP_S = 120  # how long the switch has to listen first (one probe a second)
TIMEOUT_S = 5  # a probe of the switch that has no answer by then fails


def code(port: int = PORT) -> list[str]:
    """The switch's command (:mod:`podlife.kube.helpers.probe_switch`), serving on ``port``."""
    return helpers.command(probe_switch, str(port))


def probe(path: str, failures: int) -> dict[str, Any]:
    """An httpGet probe of the switch, asked every second; a liveness probe's kill gets 2 s of
    grace (a web image that ignores SIGTERM is not given its pod's 30 s).  The switch fails a probe
    by its answer (503, at once); the timeout only keeps a node too busy to run the switch within a
    second (measured: twice in a row on a loaded 2-core node) from failing it instead."""
    out: dict[str, Any] = {
        "httpGet": {"path": path, "port": PORT},
        "periodSeconds": 1,
        "timeoutSeconds": TIMEOUT_S,
        "failureThreshold": failures,
    }
    if path == "/live":
        out["terminationGracePeriodSeconds"] = 2
    return out


def switched(docs: list[dict[str, Any]], container: str, image: str) -> list[dict[str, Any]]:
    """The pods with the switch beside their containers, and ``container`` probed through it (a
    liveness and a readiness probe, behind a startup probe that waits for the switch to listen),
    where the manifest declares no probe of its own."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for c in spec["containers"]:
            if c["name"] == container and not (c.get("livenessProbe") or c.get("readinessProbe")):
                c["livenessProbe"], c["readinessProbe"] = probe("/live", 2), probe("/ready", 1)
                # the switch may start after the container (a busy node took 5 s to start it): no
                # liveness probe runs before it listens, so a slow start is never a liveness kill
                # (its port, not /live or /ready: a container restarted while they fail starts too)
                c.setdefault(
                    "startupProbe",
                    {"tcpSocket": {"port": PORT}, "periodSeconds": 1, "failureThreshold": STARTUP_S},
                )
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
