"""Waiting for the database at start-up, before the HTTP port opens.

The chapter's pod starts the web and db containers in parallel, so the service waits for the database
before it opens its HTTP port (as the chapter describes). Unlike the Go original (a 2 µs busy loop printing
~3,900 lines a second, password included), it retries with tenacity: exponential backoff from 50 ms capped
at 1 s, at most one log line a second, never a busy loop, no password. When the wait ends it prints one JSON
line on stdout, for a person reading the container's log::

    {"event":"db_wait_done","attempts":3,"first_attempt":"2026-11-24T19:00:00.123Z",
     "db_answered":"2026-11-24T19:00:00.456Z","waited_s":0.333,"ts":"..."}

``attempts`` counts connection attempts including the successful one; ``first_attempt`` and
``db_answered`` are UTC with millisecond precision. While waiting it prints ``db_wait`` lines
(``{"event":"db_wait","attempt":N,"error":"..."}``) at most once a second.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg2
import tenacity

from service.config import Settings
from service.db import describe_error, ensure_schema
from service.events import log_event, now_utc, register_secret, utc_ms

WAIT_FIRST_DELAY_S = 0.05
WAIT_MAX_DELAY_S = 1.0
WAIT_LOG_INTERVAL_S = 1.0


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
