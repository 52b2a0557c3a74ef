"""The hot-path shortcut (service.hotpaths) answers exactly as the Flask app does, byte for byte.

In-process (Flask's test client) against the real PostgreSQL: each request is sent once through the
shortcut and once straight to Flask, and status, headers and body are compared.
"""

from __future__ import annotations

import pytest
from flask import Flask

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.hotpaths import HotPaths
from service.localrun import PostgresServer

COMPARED_HEADERS = ("Content-Type", "Content-Length", "Retry-After")


def _apps(settings: Settings) -> tuple[Flask, Flask]:
    fast = create_app(Database(settings, max_connections=2))
    plain = create_app(Database(settings, max_connections=2), hot_paths=False)
    assert isinstance(fast.wsgi_app, HotPaths) and not isinstance(plain.wsgi_app, HotPaths)
    return fast, plain


@pytest.fixture
def settings(pg: PostgresServer) -> Settings:
    pg.reset_lines()
    return Settings.from_env(pg.service_env())


def _same(fast: Flask, plain: Flask, method: str, path: str, body: bytes | None = None) -> None:
    responses = [
        app.test_client().open(
            path, method=method, data=body, content_type="application/x-www-form-urlencoded"
        )
        for app in (fast, plain)
    ]
    a, b = responses
    assert (a.status, a.data) == (b.status, b.data), (method, path, body)
    for header in COMPARED_HEADERS:
        assert a.headers.get(header) == b.headers.get(header), header


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":"x"}',
        b"",
        b"nope",
        b"[]",
        b"{}",
        b'{"data":1}',
        b'{"data":"a\\u0000"}',
        b'{"data":"\xc3\xa9"}',
    ],
)
def test_write_answers_match(settings: Settings, body: bytes) -> None:
    _same(*_apps(settings), "POST", "/write", body)


def test_read_and_ping_answers_match(settings: Settings, pg: PostgresServer) -> None:
    fast, plain = _apps(settings)
    _same(fast, plain, "GET", "/read")
    _same(fast, plain, "POST", "/write", b'{"data":"line"}')
    _same(fast, plain, "GET", "/read")
    _same(fast, plain, "GET", "/ping")


def test_database_unavailable_answers_match(pg: PostgresServer) -> None:
    env = {**pg.service_env(), "db_port": "1"}  # nothing listens there
    fast, plain = _apps(Settings.from_env(env))
    _same(fast, plain, "POST", "/write", b'{"data":"x"}')
    _same(fast, plain, "GET", "/read")
