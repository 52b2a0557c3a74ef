"""The HTTP API against the real service process and a real PostgreSQL.

Includes the chapter's transcript byte for byte, and every bad input of issue 2 with a check that
nothing was written (the table's rows are read straight from PostgreSQL, not through the service).
"""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from service.localrun import PostgresServer, ServiceProcess

# What `curl URL -d '...'` sends: the chapter's commands, unchanged.
CURL_FORM = {
    "Content-Type": "application/x-www-form-urlencoded",
    "User-Agent": "curl/7.88.1",
    "Accept": "*/*",
}
ERROR_KEYS = {"success", "error"}


def assert_json_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS and body["success"] == "false" and body["error"], body
    return body


def test_chapter_transcript_without_quit(live: ServiceProcess, clean: PostgresServer) -> None:
    for line in ("firstline", "secondline", "thirdline"):
        response = requests.post(
            f"{live.url}/write", data=f'{{"data":"{line}"}}', headers=CURL_FORM, timeout=5
        )
        assert response.status_code == 200
        assert response.content == b'{"success": "true"}'
    response = requests.get(f"{live.url}/read", headers=CURL_FORM, timeout=5)
    assert response.status_code == 200
    assert response.content == (
        b'{"success":"true","Lines":[{"id":1,"data":"firstline"},'
        b'{"id":2,"data":"secondline"},{"id":3,"data":"thirdline"}]}'
    )
    assert clean.lines() == [(1, "firstline"), (2, "secondline"), (3, "thirdline")]


def test_read_empty_table(live: ServiceProcess, clean: PostgresServer) -> None:
    response = requests.get(f"{live.url}/read", timeout=5)
    assert response.content == b'{"success":"true","Lines":[]}'


def test_write_returns_only_after_commit_and_read_is_ordered(
    live: ServiceProcess, clean: PostgresServer
) -> None:
    texts = ["zeta", "alpha", 'quo"te \\ back', "ünïcödé ✓", "line\nbreak", "", " ", "x" * 10_000]
    for text in texts:
        response = requests.post(f"{live.url}/write", json={"data": text}, timeout=5)
        assert response.status_code == 200
        # Visible to another connection the moment the 200 arrived: it was committed.
        assert clean.lines()[-1][1] == text
    body = requests.get(f"{live.url}/read", timeout=5).json()
    assert body["success"] == "true"
    assert [line["data"] for line in body["Lines"]] == texts
    ids = [line["id"] for line in body["Lines"]]
    assert ids == sorted(ids) == [row[0] for row in clean.lines()]


def test_client_supplied_id_and_extra_fields_are_ignored(live: ServiceProcess, clean: PostgresServer) -> None:
    # The Go original used a client "id" as given (and could silently lose a later insert).
    assert (
        requests.post(f"{live.url}/write", json={"id": 7, "data": "a", "x": 1}, timeout=5).status_code == 200
    )
    assert requests.post(f"{live.url}/write", json={"data": "b"}, timeout=5).status_code == 200
    assert clean.lines() == [(1, "a"), (2, "b")]


BAD_BODIES = [
    pytest.param(b"", 400, id="empty-body"),
    pytest.param(b"not json", 400, id="invalid-json"),
    pytest.param(b'{"data": "unterminated', 400, id="truncated-json"),
    pytest.param(b'{"data":"a"} trailing', 400, id="trailing-garbage"),
    pytest.param(b"\xff\xfe{}", 400, id="not-utf8"),
    pytest.param(b"null", 400, id="json-null"),
    pytest.param(b"[]", 400, id="json-array"),
    pytest.param(b'"firstline"', 400, id="json-string"),
    pytest.param(b"5", 400, id="json-number"),
    pytest.param(b"{}", 400, id="missing-data"),
    pytest.param(b'{"Data":"x"}', 400, id="wrong-case-key"),
    pytest.param(b'{"data":null}', 400, id="data-null"),
    pytest.param(b'{"data":5}', 400, id="data-number"),
    pytest.param(b'{"data":["x"]}', 400, id="data-array"),
    pytest.param(b'{"data":{"x":1}}', 400, id="data-object"),
    pytest.param(b'{"data":true}', 400, id="data-bool"),
    pytest.param(b'{"data":"nul\\u0000byte"}', 400, id="data-with-nul"),
    pytest.param(b'{"data":"\\ud800"}', 400, id="lone-surrogate"),
    pytest.param(b'{"data":"' + b"x" * (1024 * 1024) + b'"}', 413, id="over-1MiB"),
]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
def test_bad_write_gets_json_error_and_writes_nothing(
    live: ServiceProcess, clean: PostgresServer, body: bytes, status: int, content_type: str
) -> None:
    response = requests.post(
        f"{live.url}/write", data=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert_json_error(response, status)
    assert clean.lines() == []


def test_body_of_exactly_1MiB_is_accepted(live: ServiceProcess, clean: PostgresServer) -> None:
    filler = 1024 * 1024 - len(b'{"data":""}')
    body = b'{"data":"' + b"y" * filler + b'"}'
    assert len(body) == 1024 * 1024
    assert requests.post(f"{live.url}/write", data=body, timeout=10).status_code == 200
    assert len(clean.lines()) == 1


def test_chunked_body_over_1MiB_gets_413(live: ServiceProcess, clean: PostgresServer) -> None:
    def chunks():
        yield b'{"data":"'
        for _ in range(17):
            yield b"z" * 65536
        yield b'"}'

    response = requests.post(f"{live.url}/write", data=chunks(), timeout=10)
    assert_json_error(response, 413)
    assert clean.lines() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/write"),
        ("PUT", "/write"),
        ("DELETE", "/write"),
        ("POST", "/read"),
        ("POST", "/ping"),
        ("PATCH", "/read"),
        ("POST", "/ready"),
    ],
)
def test_wrong_method_is_405_json(
    live: ServiceProcess, clean: PostgresServer, method: str, path: str
) -> None:
    response = requests.request(method, f"{live.url}{path}", data=b'{"data":"x"}', timeout=5)
    assert_json_error(response, 405)
    assert "Allow" in response.headers
    assert clean.lines() == []


@pytest.mark.parametrize("path", ["/", "/nope", "/write/", "/Read", "/quit"])
def test_unknown_path_is_404_json(live: ServiceProcess, path: str) -> None:
    # /quit is unknown here: this service runs without QUIT_ENABLED.
    assert_json_error(requests.get(f"{live.url}{path}", timeout=5), 404)


def test_ping(live: ServiceProcess) -> None:
    response = requests.get(f"{live.url}/ping", timeout=5)
    assert response.status_code == 200
    assert response.content == b"<html>ok</html>"
    assert response.headers["Content-Type"].startswith("text/html")


def test_ready_while_db_answers(live: ServiceProcess) -> None:
    response = requests.get(f"{live.url}/ready", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"success": "true", "ready": "true"}


def test_openapi_description_is_served(live: ServiceProcess) -> None:
    response = requests.get(f"{live.url}/openapi.yaml", timeout=5)
    assert response.status_code == 200
    spec = yaml.safe_load(response.text)
    assert spec["openapi"].startswith("3.")
    assert {"/write", "/read", "/ping", "/ready", "/quit"} <= set(spec["paths"])


def test_paging(live: ServiceProcess, clean: PostgresServer) -> None:
    with clean.admin("web") as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO lines (data) SELECT 'line ' || g FROM generate_series(1, 2500) g")
    seen: list[int] = []
    after = 0
    for _ in range(10):  # bounded: 2500 lines are 3 pages of 1000
        page = requests.get(f"{live.url}/read", params={"after_id": after}, timeout=10).json()["Lines"]
        if not page:
            break
        assert len(page) <= 1000
        seen += [line["id"] for line in page]
        after = page[-1]["id"]
    assert seen == list(range(1, 2501))
    small = requests.get(f"{live.url}/read", params={"after_id": 10, "limit": 3}, timeout=5).json()
    assert small == {"success": "true", "Lines": [{"id": i, "data": f"line {i}"} for i in (11, 12, 13)]}
    assert len(requests.get(f"{live.url}/read", params={"limit": 5}, timeout=5).json()["Lines"]) == 5
    # The plain /read keeps the chapter's shape: every line.
    assert len(requests.get(f"{live.url}/read", timeout=10).json()["Lines"]) == 2500


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=abc",
        "limit=",
        "after_id=-1",
        "after_id=1.5",
        "after_id=x",
        "after_id=%EF%BC%91",
        "limit=1e3",
        "after_id=99999999999999999999",
        "limit=1&limit=1000",  # given twice (schemathesis found it accepted): which one was meant?
        "after_id=1&after_id=2",
    ],
)
def test_bad_paging_parameters_are_400(live: ServiceProcess, query: str) -> None:
    assert_json_error(requests.get(f"{live.url}/read?{query}", timeout=5), 400)


def test_many_keepalive_requests_on_one_connection(live: ServiceProcess, clean: PostgresServer) -> None:
    with requests.Session() as session:
        for i in range(50):
            assert (
                session.post(f"{live.url}/write", data=json.dumps({"data": str(i)}), timeout=5).status_code
                == 200
            )
    assert [row[1] for row in clean.lines()] == [str(i) for i in range(50)]
