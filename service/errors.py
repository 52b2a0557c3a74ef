"""The service's answers to failures, one place for both of its request handlers (the Flask app
and the hot-path shortcut, service.hotpaths): the database away is 503 with Retry-After and a
throttled log line; anything unexpected is 500 and a logged traceback."""

from __future__ import annotations

import logging

from service.db import DatabaseUnavailable
from service.events import log_event_throttled
from service.protocol import RETRY_AFTER_S, UNAVAILABLE_MESSAGE, error_body

log = logging.getLogger("service")


def answer_for(exc: Exception) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, extra headers) for a failed request; logs it as the service logs failures."""
    if isinstance(exc, DatabaseUnavailable):
        log_event_throttled("db_unavailable", error=str(exc))
        return 503, error_body(UNAVAILABLE_MESSAGE), {"Retry-After": RETRY_AFTER_S}
    log.exception("unexpected error", exc_info=exc)
    return 500, error_body("internal error"), {}
