"""The API's wire format, shared by the Flask app and the hot-path shortcut (service.hotpaths).

Kept in one place so both produce byte-identical answers: the chapter's exact bodies, the one error
shape ``{"success":"false","error":"..."}``, and the rules for a /write body.
"""

from __future__ import annotations

import orjson

MAX_BODY_BYTES = 1024 * 1024
WRITE_OK = b'{"success": "true"}'  # exactly what the chapter prints, space included
HTML_OK = b"<html>ok</html>"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
READ_PREFIX = b'{"success":"true","Lines":'
UNAVAILABLE_MESSAGE = "database unavailable"
RETRY_AFTER_S = "1"


class BadInput(ValueError):
    """A /write body that cannot be stored; the message says why (answered with 400)."""


def error_body(message: str) -> bytes:
    return orjson.dumps({"success": "false", "error": message})


def read_body(lines_json: str) -> bytes:
    """The /read answer around the JSON array PostgreSQL built."""
    return READ_PREFIX + lines_json.encode() + b"}"


def parse_line(raw: bytes) -> str:
    """Validate a /write body (JSON whatever the Content-Type) and return its ``data``."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadInput('the body is not valid JSON (expected {"data": "..."})') from None
    if not isinstance(payload, dict):
        raise BadInput('the body must be a JSON object like {"data": "..."}')
    if "data" not in payload:
        raise BadInput('the JSON object has no "data" field')
    data = payload["data"]
    if not isinstance(data, str):
        raise BadInput('"data" must be a string')
    if "\x00" in data:
        raise BadInput('"data" must not contain NUL (\\u0000) characters: PostgreSQL text cannot store them')
    return data
