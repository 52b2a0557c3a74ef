"""Commands inside a pod's container, through the API server's exec (any cluster).

``kubernetes.stream.stream`` swaps ``call_api`` on the ApiClient it is given for as long as
the websocket handshake lasts.  Any other thread using that client meanwhile (a scenario's
Watcher re-listing its pods) would send its request as a websocket upgrade and get
"Handshake status 400".  So every exec runs on a private ApiClient with the same
configuration, and the shared client is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from kubernetes import client
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def run_in(
    api: client.ApiClient, namespace: str, pod: str, container: str, argv: list[str], timeout: float = 30
) -> Ran:
    """Run ``argv`` in the container; return its exit code and output."""
    with client.ApiClient(api.configuration) as own:
        ws = stream(
            client.CoreV1Api(own).connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=argv,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        try:
            ws.run_forever(timeout=timeout)
            out, err = ws.read_stdout() or "", ws.read_stderr() or ""
            status = yaml.safe_load(ws.read_channel(ERROR_CHANNEL) or "{}") or {}
        finally:
            ws.close()
    if status.get("status") == "Success":
        return Ran(0, out, err)
    causes = (status.get("details") or {}).get("causes") or []
    code = next((int(c["message"]) for c in causes if c.get("reason") == "ExitCode"), -1)
    return Ran(code, out, err + (status.get("message", "") if code == -1 else ""))
