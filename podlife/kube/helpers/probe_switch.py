"""The probe switch, run beside a pod's containers (:mod:`podlife.kube.pod.switch`): a small HTTP
server that a container's probes ask.  ``/live`` and ``/ready`` answer 200 while they hold and 503
once failed; ``/fail/NAME`` and ``/heal/NAME`` turn them.

Run as ``python3 -c <this source> PORT``: the standard library only.
"""

from __future__ import annotations

import http.server
import sys


def handler(state: dict[str, bool]) -> type[http.server.BaseHTTPRequestHandler]:
    class Switch(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            part = self.path.strip("/").split("/")
            if len(part) == 2 and part[0] in ("fail", "heal") and part[1] in state:
                state[part[1]] = part[0] == "heal"
                code = 200
            else:
                code = 200 if state.get(part[0]) else 503
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Switch


def serve(port: int) -> None:
    http.server.ThreadingHTTPServer(("", port), handler({"live": True, "ready": True})).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
