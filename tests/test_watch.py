"""Watcher against a fake API server on loopback: a list, then a watch request that the server
holds open (as the API server does for up to a chunk), so stop() must end it itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from kubernetes import client

from podlife.kube.api.watch import CHUNK_S, STOP_S, Watcher

POD_LIST = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}


class FakeApi(BaseHTTPRequestHandler):
    release = threading.Event()
    watches: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if "watch=" not in self.path:
            body = json.dumps(POD_LIST).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        FakeApi.watches.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pod = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "resourceVersion": "2"}}
        line = json.dumps({"type": "ADDED", "object": pod}).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()
        FakeApi.release.wait(CHUNK_S)  # the chunk stays open, as a real watch does


@pytest.fixture
def api() -> Iterator[client.ApiClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeApi.release.clear()
    FakeApi.watches.clear()
    conf = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
    yield client.ApiClient(conf)
    FakeApi.release.set()
    server.shutdown()


def test_watch_records_events_and_stop_ends_the_open_request(api: client.ApiClient) -> None:
    watcher = Watcher(client.CoreV1Api(api).list_namespaced_pod, namespace="x").start()
    watcher.wait(lambda objs: "web" in objs, what="the pod 'web'", timeout=10)
    assert [e.type for e in watcher.events] == ["ADDED"]
    assert f"timeoutSeconds={CHUNK_S}" in FakeApi.watches[0]
    began = time.monotonic()
    watcher.stop()
    took = time.monotonic() - began
    assert took < STOP_S, f"stop() took {took:.1f}s: the request in flight was not shut"
    assert watcher.error is None  # a request stop() ended is no failure


def test_stop_right_after_start_ends_too(api: client.ApiClient) -> None:
    watcher = Watcher(client.CoreV1Api(api).list_namespaced_pod, namespace="x").start()
    began = time.monotonic()
    watcher.stop()
    assert time.monotonic() - began < STOP_S
    assert watcher.error is None
