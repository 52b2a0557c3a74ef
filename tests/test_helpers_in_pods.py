"""podlife's helper containers (the probe switch, the SIGTERM clock) run here as the programs they
are, and the shapes that add them keep a manifest's own choices."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import requests
from tenacity import retry, stop_after_delay, wait_fixed

from podlife.kube import clock, shape, switch

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "w", "ports": [{"containerPort": 8080}]}]},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_switch_fails_and_heals_each_probe_on_its_own() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", switch.code(port)])
    try:

        @retry(stop=stop_after_delay(10), wait=wait_fixed(0.1), reraise=True)
        def get(path: str) -> int:
            return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code

        assert (get("/live"), get("/ready")) == (200, 200)
        assert get("/fail/ready") == 200 and (get("/live"), get("/ready")) == (200, 503)
        assert get("/fail/live") == 200 and get("/live") == 503
        assert get("/heal/ready") == 200 and (get("/live"), get("/ready")) == (503, 200)
        assert get("/nothing") == 503
    finally:
        proc.kill()
        proc.wait()


def test_the_clock_says_when_sigterm_came_and_when_it_had_drained() -> None:
    proc = subprocess.Popen([sys.executable, "-c", clock.CODE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout and proc.stdout.readline().strip() == "running"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "SIGTERM"
    assert proc.stdout.readline().strip() == "drained"
    assert proc.wait(10) == 0 and time.monotonic() - sent >= clock.DRAIN_S


def test_helpers_are_added_beside_the_containers_and_a_manifests_own_probes_are_kept() -> None:
    (shaped,) = switch.switched([POD], "web", "python:3")
    web, added = shaped["spec"]["containers"]
    assert added["name"] == switch.NAME and web["livenessProbe"]["httpGet"]["port"] == switch.PORT
    own = {**POD["spec"]["containers"][0], "readinessProbe": {"tcpSocket": {"port": 8080}}}
    (kept,) = switch.switched([{**POD, "spec": {"containers": [own]}}], "web", "python:3")
    assert "livenessProbe" not in kept["spec"]["containers"][0]
    (timed,) = clock.clocked([POD], "python:3")
    assert [c["name"] for c in timed["spec"]["containers"]] == ["web", clock.NAME]
    assert len(clock.clocked([timed], "python:3")[0]["spec"]["containers"]) == 2  # once only


def test_a_service_and_resources_are_added_only_where_the_manifest_has_none() -> None:
    docs = shape.served([POD], "web-probed", 8080)
    assert docs[-1]["spec"] == {"selector": {"app": "web"}, "ports": [{"port": 8080, "targetPort": 8080}]}
    assert len(shape.served(docs, "other", 80)) == 2
    wanted = {"requests": {"cpu": "100m"}}
    (sized,) = shape.resizable([POD], "web", wanted, "NotRequired")
    web = sized["spec"]["containers"][0]
    assert web["resources"] == wanted and {p["restartPolicy"] for p in web["resizePolicy"]} == {"NotRequired"}
    (kept,) = shape.resizable([sized], "web", {"requests": {"cpu": "1"}}, "RestartContainer")
    assert kept["spec"]["containers"][0]["resources"] == wanted
