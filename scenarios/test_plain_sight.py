"""The chapter's "Hiding in plain sight": what the containers of a pod share.

"containers in a pod share the network layer and port space" and the "IPC namespace
(pipes and semaphores etc)".  Measured from inside the containers: namespace identities,
addresses, a port bound by one container and refused to the other, a semaphore made in
one and found in the other.  Counter-example: the same two containers as two pods.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from podlife import pods
from podlife.claims import Result, Stopwatch, expect_refuted, judged, require
from podlife.execs import run_in
from podlife.scenario import Scenario
from podlife.wait import poll_until

TWO_PODS = Path(__file__).parent / "counter" / "two-pods.yml"
# perl-base is in every Debian image; no /etc/protocols lookup (minimal images lack netbase).
BIND = (
    "use Socket; socket(S, PF_INET, SOCK_STREAM, 6) or die qq($!\\n); "
    "bind(S, pack_sockaddr_in({port}, INADDR_ANY)) or die qq($!\\n); listen(S, 1) or die qq($!\\n)"
)


# The web container binds and listens, then forks: the parent's answer means the port is held,
# and the child keeps the socket (its output detached, so the exec can end) until the pod goes.
HOLD = (
    'python3 -c "import os, signal, socket\n'
    "s = socket.socket(); s.bind(('0.0.0.0', {port})); s.listen()\n"
    "if os.fork(): print('holding {port}')\n"
    "else:\n"
    "  null = os.open(os.devnull, os.O_RDWR)\n"
    "  for fd in (0, 1, 2): os.dup2(null, fd)\n"
    '  signal.pause()"'
)


def sh(scn: Scenario, pod: Any, container: str, cmd: str) -> tuple[int, str]:
    ran = run_in(scn.cluster.api, scn.namespace, pod.metadata.name, container, ["sh", "-c", cmd])
    return ran.code, (ran.out + ran.err).strip()


def shared_network(scn: Scenario, manifest: Path) -> Result:
    clock = Stopwatch()
    running = scn.start_all(scn.load(manifest))
    web, db = pods.holder(running, "web"), pods.holder(running, "db")
    poll_until(
        "PostgreSQL to accept connections in the db container",
        lambda: sh(scn, db, "db", "pg_isready --host=127.0.0.1 --port=5432")[0] == 0,
        timeout=90,
    )
    netns = {c: sh(scn, p, c, "readlink /proc/self/ns/net")[1] for c, p in (("web", web), ("db", db))}
    addrs = {c: sh(scn, p, c, "hostname -I")[1].split() for c, p in (("web", web), ("db", db))}
    probe = "import socket; socket.create_connection(('127.0.0.1', 5432), 3); print('connected')"
    loopback_code, loopback_out = sh(scn, web, "web", f'python3 -c "{probe}"')
    held_code, held = sh(scn, web, "web", HOLD.format(port=18080))
    if held_code != 0:
        raise AssertionError(f"the web container could not hold port 18080: {held}")
    taken_code, taken_out = sh(scn, db, "db", f"perl -e '{BIND.format(port=18080)}'")
    free_code, free_out = sh(scn, db, "db", f"perl -e '{BIND.format(port=18081)}'")
    if free_code != 0:
        raise AssertionError(f"the bind probe itself does not work in the db container: {free_out}")
    evidence = {
        "pods": sorted({web.metadata.name, db.metadata.name}),
        "net_namespace": netns,
        "addresses": addrs,
        "web_to_127.0.0.1:5432": loopback_out.splitlines()[-1] if loopback_out else loopback_code,
        "db_binds_port_web_holds": taken_out or "bound",
        "db_binds_free_port": free_out or "bound",
    }
    failures = []
    if netns["web"] != netns["db"]:
        failures.append("the containers are in different network namespaces")
    if set(addrs["web"]) != set(addrs["db"]):
        failures.append("the containers see different addresses")
    if loopback_code != 0:
        failures.append("web cannot reach PostgreSQL on 127.0.0.1:5432")
    if taken_code == 0 or "in use" not in taken_out:
        failures.append("db could bind a port the web container holds")
    return judged("shared-network", failures, evidence, clock, manifest)


def shared_ipc(scn: Scenario, manifest: Path) -> Result:
    clock = Stopwatch()
    running = scn.start_all(scn.load(manifest))
    web, db = pods.holder(running, "web"), pods.holder(running, "db")
    ipcns = {c: sh(scn, p, c, "readlink /proc/self/ns/ipc")[1] for c, p in (("web", web), ("db", db))}
    made_code, made = sh(scn, web, "web", "ipcmk -S 1")
    match = re.search(r"id:\s*(\d+)", made)
    if made_code != 0 or not match:
        raise AssertionError(f"could not create a semaphore in the web container: {made}")
    sem = match.group(1)
    seen_code, seen = sh(scn, db, "db", f"ipcs -s -i {sem}")
    visible = seen_code == 0 and f"semid={sem}" in seen  # ipcs exits 0 even for "id not found"
    sh(scn, web, "web", f"ipcrm -s {sem}")
    evidence = {
        "ipc_namespace": ipcns,
        "semaphore_made_in_web": sem,
        "seen_in_db": visible,
        "db_says": seen.splitlines()[:2],
    }
    failures = []
    if ipcns["web"] != ipcns["db"]:
        failures.append("the containers are in different IPC namespaces")
    if not visible:
        failures.append(f"the semaphore {sem} made in web is not visible in db")
    return judged("shared-ipc", failures, evidence, clock, manifest)


@pytest.mark.claim("shared-network")
def test_shared_network(scn: Scenario, manifest: Path) -> None:
    require(scn.record(shared_network(scn, manifest)))


@pytest.mark.claim("shared-network")
def test_shared_network_counter_example(scn: Scenario) -> None:
    result = scn.record(shared_network(scn, TWO_PODS), counter=True)
    expect_refuted(result)


@pytest.mark.claim("shared-ipc")
def test_shared_ipc(scn: Scenario, manifest: Path) -> None:
    require(scn.record(shared_ipc(scn, manifest)))


@pytest.mark.claim("shared-ipc")
def test_shared_ipc_counter_example(scn: Scenario) -> None:
    result = scn.record(shared_ipc(scn, TWO_PODS), counter=True)
    expect_refuted(result)
