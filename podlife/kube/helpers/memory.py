"""Memory pressure from the pod's own shape (:mod:`podlife.kube.node.oom`): two programs run
beside a pod's containers.

- ``hog PORT``: holds nothing until asked (``GET`` anything on ``PORT``), then allocates and
  touches ``STEP_MIB`` at a time up to ``CAP_MIB``.
- ``first``: holds ``BYSTANDER_MIB`` and raises its own ``oom_score_adj`` to 1000, so that it is
  the process the kernel's OOM killer picks first whenever its choice spans the pod.

Run as ``python3 -c <this source> hog PORT`` or ``... first``: the standard library only.
"""

from __future__ import annotations

import http.server
import sys
import threading
import time

STEP_MIB, CAP_MIB, BYSTANDER_MIB = 4, 512, 16


def hog(port: int) -> None:
    held: list[bytes] = []

    def grow() -> None:
        for _ in range(CAP_MIB // STEP_MIB):
            held.append(b"\x01" * (STEP_MIB << 20))
            time.sleep(0.05)

    class Grow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            threading.Thread(target=grow, daemon=True).start()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer(("", port), Grow).serve_forever()


def first() -> None:
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    held = b"\x01" * (BYSTANDER_MIB << 20)
    while held:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "hog":
        hog(int(sys.argv[2]))
    else:
        first()
