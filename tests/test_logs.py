"""podlife.kube.pod.logs: a followed log whose stream ends early (the kubelet out of inotify
instances: "failed to create fsnotify watcher: too many open files") is read on, each line once.

CI failed a profile on 2026-12-07 with "gave up after 60s waiting for 20 answered requests after
the update; ... the loop saw {'200': 20}": the request loop went on, its log's stream had ended.
Here a loopback server stands in for the API server: it serves the log the way the kubelet does
when it cannot wait for new lines (the lines so far, then its error, then the end) and the pod's
status as the test sets it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client

from podlife.errors import SetupError
from podlife.kube.api.wait import poll_until
from podlife.kube.pod import logs
from podlife.kube.pod.logs import LogFollower
from podlife.kube.pod.traffic import RequestLoop

FSNOTIFY = "failed to create fsnotify watcher: too many open files"


def stamped(i: int, text: str = "") -> str:
    return f"2026-12-07T20:00:{i:02d}.123456789Z {text or f'line {i}'}\n"


class Kubelet:
    """What the fake API server serves: the log so far, the container running or not, and what to
    do on each read of the log (``script``: called with the read's number before it is served)."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.running = True
        self.restarted_after = 0  # reads of the log after which the container is a new one (0: never)
        self.gone = False
        self.reads: list[str] = []  # each read's query
        self.script = lambda n: None
        self.ending = FSNOTIFY
        self.cut = ""  # a part of a line served at the end of a read
        self.hold = threading.Event()  # set: a follow is held open, silent, after its lines


@pytest.fixture
def kubelet() -> Iterator[tuple[Kubelet, client.ApiClient]]:
    state = Kubelet()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if state.gone:
                return self.answer(404, json.dumps({"kind": "Status", "code": 404}).encode())
            if "/log" in self.path:
                state.reads.append(self.path.split("?", 1)[1])
                state.script(len(state.reads))
                follows = "follow=true" in self.path
                body = "".join(state.log) + state.cut + (state.ending if follows else "")
                if follows and state.hold.is_set():
                    return self.silent(body.encode())
                return self.answer(200, body.encode(), "text/plain")
            running = {"running": {}} if state.running else {"terminated": {"exitCode": 0}}
            status = {
                "name": "c",
                "state": running,
                "containerID": "containerd://two"
                if 0 < state.restarted_after <= len(state.reads)
                else "containerd://one",
                "image": "i",
                "imageID": "d",
                "ready": True,
                "restartCount": 0,
            }
            pod = {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"name": "p"},
                "status": {"containerStatuses": [status]},
            }
            self.answer(200, json.dumps(pod).encode())

        def silent(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
            self.wfile.flush()
            time.sleep(3)  # no more bytes, the connection held open

        def answer(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = client.Configuration()
    config.host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state, client.ApiClient(config)
    finally:
        server.shutdown()


def follow(api: client.ApiClient) -> tuple[LogFollower, list[tuple[datetime, str]]]:
    got: list[tuple[datetime, str]] = []
    log = LogFollower(api, "ns", "p", "c", lambda at, text: got.append((at, text)), limit_s=20)
    log.start().join(15)
    return log, got


def test_a_stream_that_ends_early_is_read_on_each_line_once(
    kubelet: tuple[Kubelet, client.ApiClient],
) -> None:
    state, api = kubelet
    state.log = [stamped(i) for i in range(3)]

    def script(n: int) -> None:
        if n == 2:  # the loop went on while the first stream was over
            state.log += [stamped(3), stamped(4)]
        if n == 3:  # the container ended meanwhile; the stream ends as a container's does
            state.log.append(stamped(5))
            state.running, state.ending = False, ""

    state.script = script
    log, got = follow(api)
    assert [text for _, text in got] == [f"line {i}" for i in range(6)]
    assert got[0][0] == datetime.fromisoformat("2026-12-07T20:00:00.123456+00:00")
    assert log.ends == [FSNOTIFY, FSNOTIFY]
    assert len(state.reads) == 3 and all("timestamps=true" in q for q in state.reads)


def test_the_rest_is_read_once_the_container_has_ended(kubelet: tuple[Kubelet, client.ApiClient]) -> None:
    state, api = kubelet
    state.log = [stamped(0)]

    def script(n: int) -> None:
        if n == 1:  # the stream ends early, and the container ends before it is opened again
            state.running = False
        if n == 2:
            state.log.append(stamped(1))

    state.script = script
    log, got = follow(api)
    assert [text for _, text in got] == ["line 0", "line 1"]
    assert "follow=true" not in state.reads[-1], "the rest is read, not followed"
    assert log.ends == []


def test_a_cut_line_is_handed_on_only_whole(kubelet: tuple[Kubelet, client.ApiClient]) -> None:
    state, api = kubelet
    state.log, state.cut, state.ending = [stamped(0)], stamped(1)[:30], ""

    def script(n: int) -> None:
        if n == 2:
            state.log.append(stamped(1))
            state.cut, state.running = "", False

    state.script = script
    log, got = follow(api)
    assert [text for _, text in got] == ["line 0", "line 1"]
    assert log.ends == ["the stream closed"]


def test_a_silent_stream_is_opened_again(
    kubelet: tuple[Kubelet, client.ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "SILENT_S", 1.0)
    state, api = kubelet
    state.log, state.ending = [stamped(0)], ""
    state.hold.set()

    def script(n: int) -> None:
        if n == 2:  # the first stream went silent; the container ends after one more line
            state.log.append(stamped(1))
            state.running = False
            state.hold.clear()

    state.script = script
    log, got = follow(api)
    assert [text for _, text in got] == ["line 0", "line 1"]
    assert len(log.ends) == 1 and "timed out" in log.ends[0]


def test_a_pod_that_is_gone_ends_the_follow_with_its_reason(
    kubelet: tuple[Kubelet, client.ApiClient],
) -> None:
    state, api = kubelet
    state.gone = True
    log, got = follow(api)
    assert got == [] and log.ends == ["the log could not be read: 404 Not Found"]


def test_a_request_loop_names_the_early_ends_when_it_waits_in_vain(
    kubelet: tuple[Kubelet, client.ApiClient],
) -> None:
    state, api = kubelet
    line = '{"at": 1796688000.5, "took": 0.01, "ok": true, "detail": "200"}'
    state.log = [stamped(0, line)]
    state.script = lambda n: setattr(state, "running", n < 2)
    loop = RequestLoop(api, "ns", "image", "http://x/", wait=lambda *a, **k: None, zero=1796688000.0)
    loop._log = LogFollower(api, "ns", "p", "c", loop._take, limit_s=20)
    loop._log.start().join(15)
    with pytest.raises(
        SetupError,
        match=r"saw \{'200': 1\}, the last begun at 0.5 s .*ended early 1 time.*too many open files",
    ):
        loop.await_answered(2, "after the update", timeout=0.5)


def test_once_stopped_the_log_is_read_once_more_not_followed(
    kubelet: tuple[Kubelet, client.ApiClient],
) -> None:
    state, api = kubelet
    state.log = [stamped(0)]  # the container runs on; every follow ends early
    got: list[str] = []
    log = LogFollower(api, "ns", "p", "c", lambda at, text: got.append(text), limit_s=20).start()
    poll_until("two reads of the log", lambda: len(state.reads) >= 2, timeout=10)
    state.log.append(stamped(1))
    reads = len(state.reads)
    log.stop(5)
    assert got == ["line 0", "line 1"]
    assert len(state.reads) == reads + 1 and "follow=true" not in state.reads[-1], state.reads[reads:]


def test_a_container_started_again_is_not_read_as_the_same_log(
    kubelet: tuple[Kubelet, client.ApiClient],
) -> None:
    state, api = kubelet
    state.log = [stamped(0), stamped(1)]
    state.restarted_after = 1  # the first stream ends early, and the container is started again
    log, got = follow(api)
    assert [text for _, text in got] == ["line 0", "line 1"]
    assert log.ends == ["the container was started again: its new log is not read"]
    assert len(state.reads) == 1
