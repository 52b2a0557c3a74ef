"""What runs inside a pod (podlife.kube.helpers.inpod), run here against this machine's own processes and a
loopback HTTP server; and how podlife reads what it printed (probe results, request loops)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from podlife.errors import SetupError
from podlife.kube import inpod, probe, traffic
from podlife.kube.pod.traffic import Sample
from service.localrun import PostgresServer, free_port


@pytest.fixture
def me(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs look at this test's own process, as a probe looks at its target's PID 1; joining a
    namespace (the probe's SYS_ADMIN) is not tried here."""
    monkeypatch.setattr(inpod, "TARGET", f"/proc/{os.getpid()}")
    monkeypatch.setattr(inpod, "_enter", lambda kind: None)


class Handler(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    posted: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.posted.append((self.headers["Content-Type"], body))
        self.do_GET()

    def do_GET(self) -> None:
        code = self.answers.pop(0) if self.answers else 200
        body = json.dumps({"success": "true", "Lines": [{"id": 1, "data": "x"}]}).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.answers = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_proc_reads_the_targets_start_and_namespaces(me: None) -> None:
    seen = inpod.proc()
    with open(f"/proc/{os.getpid()}/stat") as f:
        assert seen["start_ticks"] == int(f.read().rsplit(")", 1)[1].split()[19])
    assert seen["ns"]["net"] == os.readlink("/proc/self/ns/net")
    assert seen["ns"]["ipc"].startswith("ipc:[")
    assert seen["clk_tck"] == os.sysconf("SC_CLK_TCK") and seen["boot_wall"] > 0


def test_listening_and_bind_see_a_held_port(me: None) -> None:
    held = socket.socket()
    held.bind(("0.0.0.0", 0))
    held.listen()
    port = held.getsockname()[1]
    try:
        assert port in inpod.listening()["ports"]
        assert inpod.bind(port) == {"port": port, "bound": False, "error": "EADDRINUSE"}
        assert inpod.connect("127.0.0.1", port)["connected"]
    finally:
        held.close()
    assert inpod.bind(port)["bound"]
    assert not inpod.connect("127.0.0.1", port)["connected"]


def test_semaphores_are_made_found_and_removed(me: None) -> None:
    key = 0x5EED0000 + os.getpid() % 0xFFFF
    assert not inpod.semaphore(key)["found"]
    assert inpod.semaphore(key, create=True)["found"]
    assert inpod.semaphore(key, remove=True)["found"]
    assert inpod.semaphore(key) == {"key": key, "found": False, "error": "ENOENT"}


def test_first_answer_and_reads(server: str) -> None:
    Handler.answers = [503, 503]
    seen = inpod.first_answer(f"{server}/ping", interval=0.001, limit=10)
    assert seen["attempts"] == 3 and seen["answered_at"] >= seen["probe_began"]
    assert inpod.lines_read(f"{server}/read", 3) == {"url": f"{server}/read", "lines": [1, 1, 1]}
    assert inpod.first_answer("http://127.0.0.1:9/ping", interval=0.01, limit=0.1)["answered_at"] is None


def test_the_probe_command_runs_each_job_and_reports_failures(server: str) -> None:
    jobs = [("lines_read", {"url": f"{server}/read", "count": 1}), ("signal", {"number": 0, "nope": 1})]
    out = subprocess.run(
        [sys.executable, *probe.command(jobs)[1:]], capture_output=True, text=True, check=True
    )
    results = json.loads(out.stdout)["results"]
    assert results[0] == {"job": "lines_read", "url": f"{server}/read", "lines": [1]}
    assert results[1]["job"] == "signal"  # kill(1, 0) from here: allowed for root, refused otherwise
    with pytest.raises(SetupError, match="could not measure"):
        probe.parse(json.dumps({"results": [{"job": "bind", "failed": "OSError: setns"}]}), "here")
    with pytest.raises(SetupError, match="printed no result"):
        probe.parse("Traceback ...", "here")


def test_the_request_loop_streams_one_line_a_request(server: str) -> None:
    Handler.answers = [200, 503]
    cmd = probe.command([("loop", {"url": f"{server}/ping", "interval": 0, "limit": 5, "most": 5})])
    out = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True, check=True, timeout=30)
    zero = json.loads(out.stdout.splitlines()[0])["at"]
    samples = [traffic.sample(line, zero) for line in out.stdout.splitlines()]
    assert [(s.ok, s.detail) for s in samples if s] == [(True, "200"), (False, "503"), *[(True, "200")] * 3]
    assert traffic.sample("not json", 0) is None


def test_the_request_loop_posts_its_body_when_it_has_one(server: str) -> None:
    Handler.posted = []
    job = {"url": f"{server}/write", "interval": 0, "limit": 5, "most": 2, "body": '{"data": "x"}'}
    cmd = probe.command([("loop", job)])
    out = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True, check=True, timeout=30)
    assert len(out.stdout.splitlines()) == 2
    assert Handler.posted == [("application/x-www-form-urlencoded", '{"data": "x"}')] * 2


def test_failures_become_windows_counted_from_the_first_answer() -> None:
    samples = [
        Sample(0.0, 0.1, False, "URLError"),  # before the first answer: set-up, not downtime
        Sample(0.2, 0.1, True, "200"),
        Sample(1.0, 0.2, False, "503"),
        Sample(1.5, 0.2, False, "ConnectionRefusedError"),
        Sample(2.0, 0.1, True, "200"),
    ]
    measured = traffic.downtime(traffic.answered_from_first(samples))
    assert measured["requests"] == 4 and measured["failed"] == 2
    assert measured["windows_s"] == [[1.0, 1.7]] and measured["longest_window_s"] == 0.7
    assert measured["errors"] == ["503", "ConnectionRefusedError"]
    assert traffic.answered_from_first([Sample(0.0, 0.1, False, "x")]) == []
    series = traffic.series(
        [Sample(0.1, 0, True, "200"), Sample(0.9, 0, False, "503"), Sample(2.2, 0, True, "200")],
        {"update": 1.0},
    )
    assert (series.ok, series.failed, series.marks) == ([1, 0, 1], [1, 0, 0], {"update": 1.0})


# ---------------------------------------------------------------- PostgreSQL accepting
def starting_up_server() -> int:
    """A server that answers every startup message as PostgreSQL does while it starts up."""
    listener = socket.create_server(("127.0.0.1", 0))
    fields = b"SFATAL\0C57P03\0Mthe database system is starting up\0\0"
    error = b"E" + (len(fields) + 4).to_bytes(4, "big") + fields

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(error)

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_pg_answer_of_a_server_starting_up_and_of_nothing() -> None:
    assert inpod.pg_answer(starting_up_server()) == "57P03"
    assert inpod.pg_answer(free_port()) == ""


def test_pg_accepting_waits_past_starting_up() -> None:
    seen = inpod.pg_accepting(port=starting_up_server(), limit=0.3)
    assert seen["accepting_at"] is None and seen["answer"] == "57P03" and seen["attempts"] > 1


def test_pg_accepting_a_real_server(pg: PostgresServer) -> None:
    seen = inpod.pg_accepting(port=pg.port, limit=10)
    assert seen["accepting_at"] is not None and seen["answer"] not in ("", "57P03")
