"""The service's requests to PostgreSQL: the schema, the connection pool, the statements.
(Waiting for the database at start-up is service.startup.)

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
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from service.config import Settings
from service.events import log_event, redact, register_secret

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

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class DatabaseUnavailable(Exception):
    """The database did not answer; the request is answered with 503 (never a 200 that lies)."""


def describe_error(exc: BaseException) -> str:
    """A one-line, password-free description of a driver error for the log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(f"{type(exc).__name__}: {text}")[:500]


def ensure_schema(conn: psycopg2.extensions.connection) -> None:
    """Create the table if it is missing (idempotent; safe to run from several workers at once)."""
    # Two concurrent CREATE TABLE IF NOT EXISTS can race on the catalog (UniqueViolation): the other won.
    with conn.cursor() as cur, contextlib.suppress(psycopg2.errors.UniqueViolation):
        cur.execute(SCHEMA_SQL)


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
