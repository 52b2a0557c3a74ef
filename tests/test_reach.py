"""podlife.kube.api.reach: a Service's ready endpoints in turn (a fake API on loopback), and one request
over a forward (the forward's socket played by a socket pair)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client

from podlife.kube.api.reach import NoAnswer, NoAnswerInTime, PodEndpoint

SERVICE = {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web"}}
SERVICE["spec"] = {"ports": [{"name": "http", "port": 80, "targetPort": "http"}]}


def endpoint(pod: str, ready: bool) -> dict[str, Any]:
    return {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": ready},
        "targetRef": {"kind": "Pod", "name": pod},
    }


SLICES = {
    "kind": "EndpointSliceList",
    "apiVersion": "discovery.k8s.io/v1",
    "metadata": {},
    "items": [
        {
            "metadata": {"name": "web-abc"},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}],
            "endpoints": [endpoint("web-2", True), endpoint("web-1", True), endpoint("web-3", False)],
        }
    ],
}


class FakeApi(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps(SLICES if "endpointslices" in self.path else SERVICE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api() -> Iterator[client.ApiClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}"))
    server.shutdown()


def test_a_service_goes_to_its_ready_endpoints_in_turn_on_the_target_port(api: client.ApiClient) -> None:
    ep = PodEndpoint(api, "ns", "svc/web", 80)
    assert [ep.pod_port() for _ in range(3)] == [("web-1", 8080), ("web-2", 8080), ("web-1", 8080)]


def test_a_service_port_it_does_not_have_is_no_answer(api: client.ApiClient) -> None:
    with pytest.raises(NoAnswer, match="svc/web has no port 8080"):
        PodEndpoint(api, "ns", "svc/web", 8080).pod_port()


def test_only_pods_and_services() -> None:
    with pytest.raises(ValueError, match="pod/NAME or svc/NAME"):
        PodEndpoint(client.ApiClient(), "ns", "deploy/web", 80)


class Forward:
    """A forward whose socket is one end of a socket pair; ``serve`` plays the pod's side."""

    def __init__(self, serve: Any, error: str | None = None) -> None:
        self.mine, theirs = socket.socketpair()
        self.err = error
        threading.Thread(target=serve, args=(theirs,), daemon=True).start()

    def socket(self, port: int) -> socket.socket:
        return self.mine

    def error(self, port: int) -> str | None:
        return self.err

    def close(self) -> None:
        self.mine.close()


def answer(sock: socket.socket) -> None:
    request = sock.recv(65536)
    assert b"Connection: close" in request
    body = b'{"Lines": []}'
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    sock.close()


def refuse(sock: socket.socket) -> None:
    sock.close()


def never_answer(sock: socket.socket) -> None:
    sock.recv(65536)
    threading.Event().wait(10)


def over(monkeypatch: pytest.MonkeyPatch, forward: Forward) -> PodEndpoint:
    ep = PodEndpoint(client.ApiClient(), "ns", "pod/web", 8080)
    monkeypatch.setattr(ep, "_open", lambda pod, port: forward)
    return ep


def test_one_request_over_a_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    resp = over(monkeypatch, Forward(answer)).request("GET", "/read")
    assert (resp.status_code, resp.json()) == (200, {"Lines": []})
    resp.raise_for_status()


def test_a_refused_port_is_no_answer_naming_why(monkeypatch: pytest.MonkeyPatch) -> None:
    forward = Forward(refuse, error="connect: connection refused")
    with pytest.raises(NoAnswer, match="GET /read to ns/pod/web:8080: connect: connection refused"):
        over(monkeypatch, forward).request("GET", "/read")


def test_no_answer_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoAnswerInTime, match=r"no answer in 0\.5s"):
        over(monkeypatch, Forward(never_answer)).request("GET", "/read", timeout=0.5)
