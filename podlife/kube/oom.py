"""Memory pressure from the pod's own shape: two containers podlife adds to a pod (its probe image,
plain Python), so that an OOM claim needs no endpoint of the app and nothing of its images.

- ``memory-hog`` holds nothing until asked (``GET /grow`` on ``PORT``), then allocates and touches
  ``STEP_MIB`` at a time up to ``CAP_MIB``.  It has a memory limit of its own (``LIMIT``) unless
  the pod declares a pod-level memory limit.
- ``oom-first`` holds ``BYSTANDER_MIB`` and raises its own ``oom_score_adj`` to 1000: the process
  the kernel's OOM killer picks first whenever its choice spans the pod.  Where the OOM is the
  hog's own (its container's limit), the kernel chooses among the hog's processes only, and
  ``oom-first`` is never a candidate.
"""

from __future__ import annotations

import copy
from typing import Any

from podlife.kube.reach import PodEndpoint
from podlife.kube.subject import pod_spec

HOG, FIRST = "memory-hog", "oom-first"
PORT = 9101
LIMIT = "64Mi"  # the hog's own limit: far below what it allocates
STEP_MIB, CAP_MIB, BYSTANDER_MIB = 4, 512, 16


def hog_code(port: int = PORT) -> str:
    """The hog's program (``python3 -c``), asked to grow on ``port``."""
    return f"""
import http.server as h, threading, time
held = []
def grow():
    for _ in range({CAP_MIB // STEP_MIB}):
        held.append(b"\\x01" * ({STEP_MIB} << 20))
        time.sleep(0.05)
class S(h.BaseHTTPRequestHandler):
    def do_GET(self):
        threading.Thread(target=grow, daemon=True).start()
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
h.ThreadingHTTPServer(("", {port}), S).serve_forever()
"""


FIRST_CODE = f"""
import time
with open("/proc/self/oom_score_adj", "w") as f:
    f.write("1000")
held = b"\\x01" * ({BYSTANDER_MIB} << 20)
while True:
    time.sleep(3600)
"""


def pod_limited(spec: dict[str, Any]) -> bool:
    """The pod declares a pod-level memory limit (PodLevelResources)."""
    return bool(((spec.get("resources") or {}).get("limits") or {}).get("memory"))


def pressed(docs: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """The pods with the hog and ``oom-first`` beside their containers."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        hog: dict[str, Any] = {
            "name": HOG,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["python3", "-c", hog_code()],
        }
        if not pod_limited(spec):
            hog["resources"] = {"limits": {"memory": LIMIT}}
        first = {"name": FIRST, "image": image, "imagePullPolicy": "IfNotPresent"}
        spec["containers"] += [hog, {**first, "command": ["python3", "-c", FIRST_CODE]}]
    return docs


def grow(ep: PodEndpoint) -> None:
    """Ask the hog to allocate (it answers at once, and grows in the background)."""
    ep.request("GET", "/grow", timeout=5).raise_for_status()
