"""Fixtures for the service tests: a real PostgreSQL server and the real service process.

The PostgreSQL server is started once per session from the machine's binaries (tests/pg.py). If the
binaries are missing the tests fail (never skip) with a message naming the package to install.
Tests that stop, crash or wipe the database get their own server (``own_pg``), so they cannot disturb
the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.localrun import PostgresMissing, PostgresServer, ServiceProcess


def _new_server() -> PostgresServer:
    try:
        server = PostgresServer()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    server.init()
    return server


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """The shared PostgreSQL server (do not stop it: use ``own_pg`` for that)."""
    server = _new_server()
    yield server
    server.destroy()


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone: stop it, crash it, wipe it."""
    server = _new_server()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def live(pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A running service (QUIT_ENABLED=false) shared by a module's tests."""
    log = tmp_path_factory.mktemp("service") / "service.log"
    service = ServiceProcess(pg.service_env(), log).start()
    yield service
    service.stop()


@pytest.fixture
def clean(pg: PostgresServer) -> PostgresServer:
    """The shared server with an empty table whose ids restart at 1."""
    pg.reset_lines()
    return pg


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator:
    """Factory for service processes that this test owns; each is stopped at the end of the test."""
    started: list[ServiceProcess] = []

    def make(env: dict[str, str], name: str = "service") -> ServiceProcess:
        service = ServiceProcess(env, tmp_path / f"{name}-{len(started)}.log")
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
