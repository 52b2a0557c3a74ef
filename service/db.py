"""Everything the service does with PostgreSQL: the start-up wait, the schema, the pool, the queries.

Start-up wait. The chapter's pod starts the web and db containers in parallel, so the service waits for
the database before it opens its HTTP port (as the chapter describes). Unlike the Go original (a 2 µs busy
loop printing ~3,900 lines a second, password included), it retries with tenacity: exponential backoff
from 50 ms capped at 1 s, at most one log line a second, never a busy loop, no password. When the wait
ends it prints exactly one JSON line on stdout, which the start-up-order scenarios parse::

    {"event":"db_wait_done","attempts":3,"first_attempt":"2026-11-24T19:00:00.123Z",
     "db_answered":"2026-11-24T19:00:00.456Z","waited_s":0.333,"ts":"..."}

``attempts`` counts connection attempts including the successful one; ``first_attempt`` and
``db_answered`` are UTC with millisecond precision. While waiting it prints ``db_wait`` lines
(``{"event":"db_wait","attempt":N,"error":"..."}``) at most once a second.

Requests. Each gunicorn worker owns a small pool (ConnectionPool), created at its first request (a libpq
connection must never be shared across processes), with one open connection per request thread. Connections
are in autocommit mode: an INSERT is one round trip and is committed (synchronous_commit is the
server's default) before execute() returns, so the 200 that follows is honest.

Recovery, without a restart:
- OperationalError/InterfaceError (database down, restarted, connection cut): the connection and the
  worker's idle ones are discarded and the request gets 503 (a read on a reused connection is retried
  once on a new one first); the next request opens a fresh connection.
- UndefinedTable (the database came back empty, e.g. a restarted db container without a volume): the
  table is recreated and the statement retried once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import tenacity

from service.config import Settings
from service.events import log_event, now_utc, redact, register_secret, utc_ms

T = TypeVar("T")

SCHEMA_SQL = "CREATE TABLE IF NOT EXISTS lines (id serial PRIMARY KEY, data text NOT NULL)"
INSERT_SQL = "INSERT INTO lines (data) VALUES (%s)"
# PostgreSQL builds the JSON: row_to_json is compact ({"id":1,"data":"x"}, as the chapter prints it),
# and string_agg joins with a bare comma (json_agg would put ", \n " between the elements).
READ_ALL_SQL = (
    "SELECT coalesce('[' || string_agg(row_to_json(l)::text, ',' ORDER BY l.id) || ']', '[]') FROM lines l"
)
READ_PAGE_SQL = (
    "SELECT coalesce('[' || string_agg(row_to_json(p)::text, ',' ORDER BY p.id) || ']', '[]') "
    "FROM (SELECT id, data FROM lines WHERE id > %s ORDER BY id LIMIT %s) p"
)

WAIT_FIRST_DELAY_S = 0.05
WAIT_MAX_DELAY_S = 1.0
WAIT_LOG_INTERVAL_S = 1.0
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class DatabaseUnavailable(Exception):
    """The database did not answer; the request is answered with 503 (never a 200 that lies)."""


def describe_error(exc: BaseException) -> str:
    """A one-line, password-free description of a driver error for the log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}")[:500]


# -- start-up -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaitRecord:
    """What the start-up wait observed; logged as the ``db_wait_done`` line."""

    attempts: int
    first_attempt: datetime
    db_answered: datetime

    def as_event(self) -> dict[str, object]:
        return {
            "attempts": self.attempts,
            "first_attempt": utc_ms(self.first_attempt),
            "db_answered": utc_ms(self.db_answered),
            "waited_s": round((self.db_answered - self.first_attempt).total_seconds(), 3),
        }


def ensure_schema(conn: psycopg2.extensions.connection) -> None:
    """Create the table if it is missing (idempotent; safe to run from several workers at once)."""
    # Two concurrent CREATE TABLE IF NOT EXISTS can race on the catalog (UniqueViolation): the other won.
    with conn.cursor() as cur, contextlib.suppress(psycopg2.errors.UniqueViolation):
        cur.execute(SCHEMA_SQL)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(0)


def wait_for_database(settings: Settings) -> WaitRecord:
    """Block until the database accepts a connection and the table exists; log the ``db_wait_done`` line.

    SIGTERM during the wait exits 0 at once: as PID 1 in a container the default action would be ignored,
    and a pod deleted before its database came up must not wait out its grace period.
    """
    register_secret(settings.db_pass)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    first_attempt: datetime | None = None
    attempts = 0
    last_log = -WAIT_LOG_INTERVAL_S

    def attempt() -> datetime:
        nonlocal first_attempt, attempts
        attempts += 1
        started = now_utc()
        if first_attempt is None:
            first_attempt = started
        conn = psycopg2.connect(**settings.connect_kwargs(connect_timeout=2))
        answered = now_utc()
        try:
            conn.autocommit = True
            ensure_schema(conn)
        finally:
            conn.close()
        return answered

    def log_failure(state: tenacity.RetryCallState) -> None:
        nonlocal last_log
        now = time.monotonic()
        if now - last_log >= WAIT_LOG_INTERVAL_S:
            last_log = now
            exc = state.outcome.exception() if state.outcome else None
            log_event("db_wait", attempt=attempts, error=describe_error(exc) if exc else "unknown")

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(psycopg2.OperationalError),
        wait=tenacity.wait_exponential(
            multiplier=WAIT_FIRST_DELAY_S, min=WAIT_FIRST_DELAY_S, max=WAIT_MAX_DELAY_S
        ),
        stop=tenacity.stop_never,
        before_sleep=log_failure,
        reraise=True,
    )
    try:
        answered = retrying(attempt)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert first_attempt is not None
    record = WaitRecord(attempts=attempts, first_attempt=first_attempt, db_answered=answered)
    log_event("db_wait_done", **record.as_event())
    return record


# -- requests -----------------------------------------------------------------------------------------
class ConnectionPool:
    """Open autocommit connections kept for reuse, at most ``max_idle`` of them (one per request thread).

    Why not psycopg2.pool: it keeps only ``minconn`` idle connections (a smaller minconn means a new
    connection, with its ~8 ms password handshake, per request; minconn = maxconn opens them all at once),
    and it cannot drop its idle connections while other threads hold theirs. After a database restart
    every idle connection is dead: the first failure discards them all, so one request, not one per
    pooled connection, pays for the outage.
    """

    def __init__(self, connect_kwargs: dict[str, object], max_idle: int) -> None:
        self._kwargs = connect_kwargs
        self._max_idle = max_idle
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()

    def get(self) -> tuple[psycopg2.extensions.connection, bool]:
        """A connection, and whether it was reused (it may have died while idle) or is brand new."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        conn = psycopg2.connect(**self._kwargs)
        conn.autocommit = True
        return conn, False

    def put(self, conn: psycopg2.extensions.connection, broken: bool) -> None:
        if broken or conn.closed:
            with contextlib.suppress(psycopg2.Error):
                conn.close()
            if broken:
                self.discard_idle()
            return
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(psycopg2.Error):
                conn.close()


class Database:
    """The per-worker connection pool and the service's statements."""

    def __init__(self, settings: Settings, max_connections: int) -> None:
        register_secret(settings.db_pass)
        self._kwargs = settings.connect_kwargs(connect_timeout=3)
        self._max = max_connections
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    def reset_after_fork(self) -> None:
        """Forget any pool inherited from the parent: its sockets belong to the parent process."""
        self._pool = None
        self._lock = threading.Lock()

    def _get_pool(self) -> ConnectionPool:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ConnectionPool(self._kwargs, self._max)
                pool = self._pool
        return pool

    def _run(self, statement: Callable[[psycopg2.extensions.cursor], T], idempotent: bool) -> T:
        """Run ``statement``; DatabaseUnavailable on connection trouble, a vanished table is recreated.

        An idempotent statement that failed on a reused connection (dead since the database restarted)
        is retried once on a new connection. A write is not: whether it was committed before the
        connection broke cannot be known, so the client gets a 503 and decides.
        """
        pool = self._get_pool()
        for attempt in (1, 2):
            try:
                conn, reused = pool.get()
            except CONNECTION_ERRORS as exc:
                raise DatabaseUnavailable(describe_error(exc)) from None
            try:
                result = self._execute(conn, statement)
            except CONNECTION_ERRORS as exc:
                pool.put(conn, broken=True)
                if idempotent and reused and attempt == 1:
                    continue
                raise DatabaseUnavailable(describe_error(exc)) from None
            except Exception:
                pool.put(conn, broken=False)  # a statement error: the autocommit connection is still fine
                raise
            except BaseException:
                pool.put(conn, broken=True)  # interrupted mid-statement: its state is unknown
                raise
            pool.put(conn, broken=False)
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _execute(
        conn: psycopg2.extensions.connection, statement: Callable[[psycopg2.extensions.cursor], T]
    ) -> T:
        try:
            with conn.cursor() as cur:
                return statement(cur)
        except psycopg2.errors.UndefinedTable:
            log_event("table_recreated", reason="the lines table was missing (database came back empty?)")
            ensure_schema(conn)
            with conn.cursor() as cur:
                return statement(cur)

    def insert_line(self, data: str) -> None:
        """Insert one line; returns only once PostgreSQL has committed it (autocommit, one round trip)."""

        def insert(cur: psycopg2.extensions.cursor) -> None:
            cur.execute(INSERT_SQL, (data,))

        self._run(insert, idempotent=False)

    def read_lines_json(self, after_id: int | None = None, limit: int | None = None) -> str:
        """The lines ordered by id as a JSON array text, built by PostgreSQL; paged when limit is given."""

        def read(cur: psycopg2.extensions.cursor) -> str:
            if limit is None:
                cur.execute(READ_ALL_SQL)
            else:
                cur.execute(READ_PAGE_SQL, (after_id or 0, limit))
            return cur.fetchone()[0]

        return self._run(read, idempotent=True)

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers a trivial query."""

        def select_one(cur: psycopg2.extensions.cursor) -> None:
            cur.execute("SELECT 1")
            cur.fetchone()

        self._run(select_one, idempotent=True)
