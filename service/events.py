"""One-JSON-object-per-line event log on stdout.

Why JSON lines: a person (or a log pipeline) reads the service's own account of what happened (for
example when the database first answered) from ``kubectl logs``; one object a line parses without
guessing.  podlife's scenarios never read it: they measure the pod, not this app.  Why stdout: that is
what the kubelet captures.  gunicorn's own messages stay on stderr.

The database password must never appear in a log line: nothing here prints settings, and every
driver error message goes through :func:`redact` before it is logged, in case a driver ever quotes it.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime

import orjson

_secrets: list[str] = []
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a value (the database password) that must be masked wherever it would be printed."""
    if value and value not in _secrets:
        _secrets.append(value)


def redact(text: str) -> str:
    """Mask every registered secret in ``text``."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


def utc_ms(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: e.g. ``2026-11-24T19:00:00.123Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_utc() -> datetime:
    return datetime.now(UTC)


def log_event(event: str, **fields: object) -> None:
    """Write ``{"event": event, **fields, "ts": ...}`` as one line on stdout and flush it at once."""
    record = {"event": event, **fields, "ts": utc_ms(now_utc())}
    line = orjson.dumps(record).decode()
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


_last_logged: dict[str, float] = {}


def log_event_throttled(event: str, interval_s: float = 1.0, **fields: object) -> None:
    """Like :func:`log_event`, but at most one ``event`` line per ``interval_s`` in this process.

    Why: during a database outage every request fails the same way; one line a second says it all
    without flooding the log (the Go original printed thousands a second).
    """
    now = time.monotonic()
    with _lock:
        if now - _last_logged.get(event, -interval_s) < interval_s:
            return
        _last_logged[event] = now
    log_event(event, **fields)
