"""The database goes away and comes back (also empty): honest 503s, no lost or invented line, no restart."""

from __future__ import annotations

import threading
import time

import requests

from service.localrun import PostgresServer, ServiceProcess


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ready(service: ServiceProcess) -> bool:
    try:
        return requests.get(f"{service.url}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_database_down_gives_503_everywhere_then_recovers_without_restart(
    own_pg: PostgresServer, make_service
) -> None:
    service: ServiceProcess = make_service(own_pg.service_env()).start()
    pid = service.proc.pid
    assert requests.post(f"{service.url}/write", json={"data": "before"}, timeout=5).status_code == 200
    own_pg.stop("fast")

    for _ in range(12):  # more than the pool's connections: stale and fresh ones alike fail honestly
        for method, path, body in (
            ("POST", "/write", b'{"data":"during"}'),
            ("GET", "/read", None),
            ("GET", "/ready", None),
        ):
            response = requests.request(method, f"{service.url}{path}", data=body, timeout=10)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["success"] == "false"
            assert response.headers["Retry-After"] == "1"
    assert requests.get(f"{service.url}/ping", timeout=5).status_code == 200  # liveness stays up

    own_pg.start()
    wait_until(lambda: ready(service), 10, "/ready to answer 200 again")
    assert requests.post(f"{service.url}/write", json={"data": "after"}, timeout=5).status_code == 200
    body = requests.get(f"{service.url}/read", timeout=5).json()
    assert [line["data"] for line in body["Lines"]] == ["before", "after"]
    assert service.proc.poll() is None and service.proc.pid == pid, "recovered without a restart"
    assert service.events("db_unavailable"), "the outage is logged"


def test_crash_mid_run_loses_no_acknowledged_line_and_invents_none(
    own_pg: PostgresServer, make_service
) -> None:
    """Writers keep writing while PostgreSQL crashes (immediate stop) and restarts (crash recovery)."""
    service: ServiceProcess = make_service(own_pg.service_env()).start()
    sent: set[str] = set()
    acked: list[str] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(name: str) -> None:
        with requests.Session() as session:
            for i in range(5000):  # bounded in count, and by the stop event (time)
                if stop.is_set():
                    return
                line = f"{name}-{i}"
                with lock:
                    sent.add(line)
                try:
                    response = session.post(f"{service.url}/write", data=f'{{"data":"{line}"}}', timeout=10)
                    status = response.status_code
                except requests.RequestException:
                    status = -1
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        assert response.content == b'{"success": "true"}'
                        acked.append(line)
                if status != 200:
                    time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        acked_before_crash = len(acked)
        own_pg.stop("immediate")  # a crash: no shutdown checkpoint, recovery replays the WAL
        time.sleep(1.5)
        own_pg.start()
        wait_until(
            lambda: len(acked) > acked_before_crash + 50, 15, "writes to succeed again after the restart"
        )
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)

    stored = [row[1] for row in own_pg.lines()]
    assert len(stored) == len(set(stored)), "no line stored twice"
    assert set(acked) <= set(stored), f"acknowledged but lost: {sorted(set(acked) - set(stored))[:10]}"
    assert set(stored) <= sent, f"stored but never sent: {sorted(set(stored) - sent)[:10]}"
    assert acked_before_crash > 50 and statuses.get(503, 0) > 0, statuses
    assert set(statuses) <= {200, 503}, statuses
    assert service.proc.poll() is None, "the service kept running"


def test_table_dropped_is_recreated_by_the_service(own_pg: PostgresServer, make_service) -> None:
    service: ServiceProcess = make_service(own_pg.service_env()).start()
    assert requests.post(f"{service.url}/write", json={"data": "old"}, timeout=5).status_code == 200
    own_pg.query("DROP TABLE lines")
    assert requests.get(f"{service.url}/read", timeout=5).content == b'{"success":"true","Lines":[]}'
    own_pg.query("DROP TABLE lines")
    assert requests.post(f"{service.url}/write", json={"data": "new"}, timeout=5).status_code == 200
    assert own_pg.lines() == [(1, "new")]
    assert service.events("table_recreated")


def test_database_back_empty_after_wipe(own_pg: PostgresServer, make_service) -> None:
    """A restarted db container without a volume: a fresh cluster, no table. The service recovers alone."""
    service: ServiceProcess = make_service(own_pg.service_env()).start()
    pid = service.proc.pid
    for line in ("one", "two"):
        assert requests.post(f"{service.url}/write", json={"data": line}, timeout=5).status_code == 200
    own_pg.wipe()

    def write_new() -> bool:
        response = requests.post(f"{service.url}/write", json={"data": "fresh"}, timeout=5)
        assert response.status_code in (200, 503), response.text
        return response.status_code == 200

    wait_until(write_new, 15, "a write to succeed on the empty database")
    assert own_pg.lines() == [(1, "fresh")]
    body = requests.get(f"{service.url}/read", timeout=5).json()
    assert body == {"success": "true", "Lines": [{"id": 1, "data": "fresh"}]}
    assert service.proc.pid == pid and service.proc.poll() is None


def test_after_a_restart_reads_never_fail_and_writes_fail_at_most_once_per_worker(
    own_pg: PostgresServer, make_service
) -> None:
    """Pooled connections die with the server; a worker drops them all at the first failure."""
    service: ServiceProcess = make_service({**own_pg.service_env(), "WEB_WORKERS": "2", "WEB_THREADS": "4"})
    service.start()
    with requests.Session() as session:
        for _ in range(40):  # warm every worker's pool
            assert session.get(f"{service.url}/read", timeout=5).status_code == 200
    own_pg.stop("fast")
    own_pg.start()
    reads = [requests.get(f"{service.url}/read", timeout=5).status_code for _ in range(20)]
    assert reads == [200] * 20, "a read on a dead pooled connection is retried on a new one"
    own_pg.stop("fast")
    own_pg.start()
    writes = [requests.post(f"{service.url}/write", json={"data": str(i)}, timeout=5) for i in range(20)]
    failed = [i for i, response in enumerate(writes) if response.status_code != 200]
    assert all(writes[i].status_code == 503 for i in failed)
    assert len(failed) <= 2, f"at most one 503 per worker, got {len(failed)}"
    stored = {row[1] for row in own_pg.lines()}
    assert {str(i) for i in range(20) if i not in failed} <= stored
