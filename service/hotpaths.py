"""A WSGI shortcut for the three hot requests, in front of the Flask app.

Why: measured with bench/ (wrk over loopback, 2 cores), Flask's per-request machinery (request and app
contexts, routing, response objects) cost about 0.12 ms of CPU per request, as much as gunicorn's own
work and more than the /write handler itself, on a machine where the service, PostgreSQL and the load
generator share two cores. These requests are answered directly instead:

- ``POST /write`` with a Content-Length of at most 1 MiB (chunked or missing length: Flask),
- ``GET /read`` without a query string (paging: Flask),
- ``GET /ping``.

Everything else, including HEAD, paging, every other path and method, goes to Flask untouched. The
answers are byte-identical to Flask's (the wire format lives in service.protocol; the service tests and
the schemathesis run go through this shortcut, as every real client does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from service.db import Database
from service.errors import answer_for
from service.protocol import (
    HTML,
    HTML_OK,
    JSON,
    MAX_BODY_BYTES,
    WRITE_OK,
    BadInput,
    error_body,
    parse_line,
    read_body,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_STATUS = {
    200: "200 OK",
    400: "400 BAD REQUEST",
    500: "500 INTERNAL SERVER ERROR",
    503: "503 SERVICE UNAVAILABLE",
}


def _respond(
    start_response: Callable[..., Any], status: int, body: bytes, content_type: str, *extra: tuple[str, str]
) -> list[bytes]:
    start_response(
        _STATUS[status], [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    )
    return [body]


class HotPaths:
    """Answer the hot requests directly; hand everything else to ``app`` (the Flask WSGI app)."""

    def __init__(self, app: WSGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method == "POST" and path == "/write":
            body = self._plain_body(environ)
            if body is not None:
                return self._guarded(self._write, body, start_response)
        elif method == "GET" and not environ.get("QUERY_STRING"):
            if path == "/ping":
                return _respond(start_response, 200, HTML_OK, HTML)
            if path == "/read":
                return self._guarded(self._read, None, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _plain_body(environ: dict[str, Any]) -> bytes | None:
        """The body when it has a declared length within the limit; None leaves the request to Flask."""
        if "HTTP_TRANSFER_ENCODING" in environ:
            return None
        declared = environ.get("CONTENT_LENGTH", "")
        if not declared.isdigit() or not declared.isascii() or int(declared) > MAX_BODY_BYTES:
            return None
        length = int(declared)
        return environ["wsgi.input"].read(length) if length else b""

    def _write(self, body: bytes | None, start_response: Callable[..., Any]) -> list[bytes]:
        try:
            data = parse_line(body or b"")
        except BadInput as exc:
            return _respond(start_response, 400, error_body(str(exc)), JSON)
        self.db.insert_line(data)
        return _respond(start_response, 200, WRITE_OK, JSON)

    def _read(self, _body: bytes | None, start_response: Callable[..., Any]) -> list[bytes]:
        return _respond(start_response, 200, read_body(self.db.read_lines_json()), JSON)

    @staticmethod
    def _guarded(
        handler: Callable[[bytes | None, Callable[..., Any]], list[bytes]],
        body: bytes | None,
        start_response: Callable[..., Any],
    ) -> list[bytes]:
        """Run a handler; a failure gets the service's one answer for it (service.errors)."""
        try:
            return handler(body, start_response)
        except Exception as exc:
            status, error, headers = answer_for(exc)
            return _respond(start_response, status, error, JSON, *headers.items())
