"""The Flask application: the chapter's HTTP API, with honest errors.

Compatibility with the chapter's transcript is the first rule: its curl commands send
``-d '{"data":"..."}'`` with a form Content-Type, so /write parses the body as JSON whatever the
Content-Type says, and the bodies are byte-for-byte the Go original's (``{"success": "true"}`` with its
space; ``{"success":"true","Lines":[...]}`` with a capital L).

The original's defects are fixed: every error is a JSON body ``{"success":"false","error":"..."}`` with
the right status (400 bad input, 404 unknown path, 405 wrong method, 413 body over 1 MiB, 503 database
unavailable) and nothing is written on any error. The full description is ``openapi.yaml``, served at
GET /openapi.yaml. The three hot requests are answered by service.hotpaths in front of this app, with
the same bytes (the wire format is shared in service.protocol).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from service.db import Database
from service.errors import answer_for
from service.hotpaths import HotPaths
from service.protocol import (
    HTML_OK,
    JSON,
    MAX_BODY_BYTES,
    WRITE_OK,
    BadInput,
    error_body,
    parse_line,
    read_body,
)

MAX_PAGE_LIMIT = 1000
MAX_AFTER_ID = 10**18  # beyond any serial id; keeps the parameter a plain bigint
_DIGITS = re.compile(r"[0-9]{1,19}")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one error shape of the service."""
    return Response(error_body(message), status=status, mimetype=JSON, headers=headers)


def _read_body() -> bytes:
    """The request body, at most MAX_BODY_BYTES; 413 beyond, also for a chunked body without a length.

    Flask's limit is set one byte higher: werkzeug stops a chunked body silently at the limit, so reading
    MAX_BODY_BYTES + 1 bytes is how an over-long body is told from one of exactly 1 MiB.
    """
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return raw


def _page_argument(name: str, low: int, high: int) -> int | None:
    given = request.args.getlist(name)
    if not given:
        return None
    if len(given) > 1:  # ?limit=1&limit=1000: which one was meant is the caller's to say
        raise BadRequest(f"query parameter {name} given {len(given)} times; give it once")
    raw = given[0]
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadRequest(f"query parameter {name} must be an integer between {low} and {high}")
    return int(raw)


def create_app(
    db: Database,
    quit_enabled: bool = False,
    on_quit: Callable[[], None] | None = None,
    *,
    hot_paths: bool = True,
) -> Flask:
    """Build the app. ``on_quit`` runs after /quit's response has been written (see service.server);
    ``hot_paths=False`` builds Flask alone (the tests compare the two answer for answer)."""
    app = Flask("service")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1  # see _read_body

    @app.post("/write")
    def write() -> Response:
        try:
            data = parse_line(_read_body())
        except BadInput as exc:
            raise BadRequest(str(exc)) from None
        db.insert_line(data)
        return Response(WRITE_OK, mimetype=JSON)

    @app.get("/read")
    def read() -> Response:
        after_id = _page_argument("after_id", 0, MAX_AFTER_ID)
        limit = _page_argument("limit", 1, MAX_PAGE_LIMIT)
        if after_id is not None and limit is None:
            limit = MAX_PAGE_LIMIT  # paging asked for: never an unbounded page
        lines = db.read_lines_json(after_id, limit)
        return Response(read_body(lines), mimetype=JSON)

    @app.get("/ping")
    def ping() -> Response:
        return Response(HTML_OK, mimetype="text/html")

    @app.get("/ready")
    def ready() -> Response:
        db.ping()
        return Response(b'{"success":"true","ready":"true"}', mimetype=JSON)

    @app.get("/openapi.yaml")
    def openapi() -> Response:
        text = resources.files("service").joinpath("openapi.yaml").read_bytes()
        return Response(text, mimetype="application/yaml")

    if quit_enabled:

        @app.get("/quit")
        def quit_() -> Response:
            response = Response(HTML_OK, mimetype="text/html")
            if on_quit is not None:
                # call_on_close runs when the server closes the response iterable, i.e. after the body
                # has been written to the socket: the client always gets the whole reply.
                response.call_on_close(on_quit)
            return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"the body is larger than {MAX_BODY_BYTES} bytes"
        return error_response(exc.code or 500, message, headers)

    @app.errorhandler(Exception)
    def failed(exc: Exception) -> Response:  # the database away (503) or anything unexpected (500)
        status, body, headers = answer_for(exc)
        return Response(body, status=status, mimetype=JSON, headers=headers)

    if hot_paths:
        # The hot, well-formed requests skip Flask's per-request machinery (see service.hotpaths):
        # measured, Flask alone answers /write at 0.96x the chapter's Go original (bench/RESULTS.md).
        app.wsgi_app = HotPaths(app.wsgi_app, db)  # type: ignore[method-assign]
    return app
