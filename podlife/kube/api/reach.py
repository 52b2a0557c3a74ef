"""The one way podlife reaches a pod or a Service from this machine: the API server's
port-forward, opened in this process for each request, as ``kubectl port-forward`` does for a
person following the chapter with curl.

Works on any cluster a kubeconfig reaches and keeps traffic on this machine and the cluster's
own network.  A forward lasts one request (``Connection: close``), so the container restarts
the scenarios cause never leave a broken forwarder behind (``kubectl port-forward`` exits at
the first connection its pod refuses, and a new kubectl for each retry cost ~6 % of the
machine's CPU in a parallel run).  ``svc/NAME`` goes to the Service's ready endpoints, in
turn, on the port the Service sends that port to.  Every request is single-shot with a
timeout; callers that need to wait for an answer use :func:`podlife.kube.api.wait.poll_until`.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from typing import Any

import requests
from kubernetes import client
from kubernetes.stream import portforward
from requests.structures import CaseInsensitiveDict

OPEN_S = 10  # how long the API server gets to open a forward


class NoAnswer(requests.ConnectionError):
    """The pod's port gave no HTTP answer (nothing listening, the forward refused or cut)."""


class NoAnswerInTime(requests.ReadTimeout):
    """The request went out and no answer came back within the timeout."""


class PodEndpoint:
    """HTTP to a pod's (``pod/NAME``) or Service's (``svc/NAME``) port, a fresh port-forward
    per request."""

    def __init__(self, api: client.ApiClient, namespace: str, target: str, port: int) -> None:
        kind, _, self.name = target.partition("/")
        if kind not in ("pod", "svc") or not self.name:
            raise ValueError(f"reach pod/NAME or svc/NAME, not {target!r}")
        self.api, self.namespace, self.target, self.port = api, namespace, target, port
        self._turn = itertools.count()

    def pod_port(self) -> tuple[str, int]:
        """The pod and container port a request goes to now."""
        if self.target.startswith("pod/"):
            return self.name, self.port
        core = client.CoreV1Api(self.api)
        service = core.read_namespaced_service(self.name, self.namespace)
        sport = next((p for p in service.spec.ports or [] if p.port == self.port), None)
        if sport is None:
            raise NoAnswer(f"{self.target} has no port {self.port}")
        slices = client.DiscoveryV1Api(self.api).list_namespaced_endpoint_slice(
            self.namespace, label_selector=f"kubernetes.io/service-name={self.name}"
        )
        ready = sorted(
            (e.target_ref.name, p.port)
            for s in slices.items
            for e in s.endpoints or []
            if e.target_ref and e.target_ref.kind == "Pod" and (e.conditions is None or e.conditions.ready)
            for p in s.ports or []
            if (p.name or "") == (sport.name or "")
        )
        if not ready:
            raise NoAnswer(f"{self.target}:{self.port} has no ready endpoint")
        return ready[next(self._turn) % len(ready)]

    def request(
        self,
        method: str,
        path: str,
        *,
        timeout: float = 5,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One request on a forward of its own; NoAnswer when none came, NoAnswerInTime when
        it was sent and no answer came within ``timeout``."""
        pod, port = self.pod_port()
        forward = self._open(pod, port)
        where = f"{self.namespace}/pod/{pod}:{port}"
        try:
            sock = forward.socket(port)
            sock.settimeout(timeout)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.sock = sock  # type: ignore[assignment]
            conn.request(method, path, body=data, headers={**(headers or {}), "Connection": "close"})
            answer = conn.getresponse()
            body = answer.read()
        except TimeoutError as exc:
            raise NoAnswerInTime(f"{method} {path} to {where}: no answer in {timeout}s") from exc
        except (OSError, http.client.HTTPException) as exc:
            why = forward.error(port) or f"{type(exc).__name__}: {exc}"
            raise NoAnswer(f"{method} {path} to {where}: {why.strip()}") from exc
        finally:
            forward.close()
        resp = requests.Response()
        resp.status_code, resp.reason, resp._content = answer.status, answer.reason, body
        resp.headers = CaseInsensitiveDict(answer.getheaders())
        resp.url = f"http://{self.target}:{self.port}{path}"
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers) or "utf-8"
        return resp

    def _open(self, pod: str, port: int) -> Any:
        """The API server's port-forward to ``pod``:``port``, opened on a private ApiClient
        (``stream`` swaps the client's call_api while it opens, see podlife.kube.api.execs) within
        OPEN_S."""
        opened: list[Any] = []

        def open_it() -> None:
            try:
                with client.ApiClient(self.api.configuration) as own:
                    opened.append(
                        portforward(
                            client.CoreV1Api(own).connect_get_namespaced_pod_portforward,
                            pod,
                            self.namespace,
                            ports=str(port),
                        )
                    )
            except Exception as exc:
                opened.append(exc)

        opener = threading.Thread(target=open_it, daemon=True, name="podlife-forward")
        opener.start()
        opener.join(OPEN_S)
        if not opened:
            raise NoAnswer(
                f"no port-forward to {self.namespace}/pod/{pod}:{port} from the API server in {OPEN_S}s"
            )
        if isinstance(opened[0], Exception):
            raise NoAnswer(f"port-forward to {self.namespace}/pod/{pod}:{port}: {reason(opened[0])}")
        return opened[0]


def reason(exc: Exception) -> str:
    """An API error's message, else the exception."""
    if isinstance(exc, client.ApiException) and exc.body:
        try:
            return str(json.loads(exc.body).get("message", exc.body))
        except (ValueError, AttributeError):
            return str(exc.body)
    return f"{type(exc).__name__}: {exc}"
