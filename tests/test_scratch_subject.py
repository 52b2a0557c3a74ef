"""The second subject (tests/subjects/scratch-web) speaks the chapter's API and nothing more:
built from its Go source and run against a real PostgreSQL, as the chapter's curl transcript
drives it.  The scenarios then measure it in a pod like our own service."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from podlife.kube.api.wait import poll_until
from podlife.paths import REPO
from service.localrun import PostgresServer, free_port

HERE = REPO / "tests" / "subjects" / "scratch-web"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what the chapter's curl -d sends


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("go"):
        pytest.fail("the scratch subject is built with Go: install a Go toolchain >= 1.22", pytrace=False)
    out = tmp_path_factory.mktemp("scratch") / "web"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=HERE, env=env, check=True)
    return out


@pytest.fixture
def app(binary: Path, own_pg: PostgresServer, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    log = (tmp_path / "web.log").open("w+")
    proc = subprocess.Popen(
        [binary], env={**own_pg.service_env(), "PORT": str(port)}, stdout=log, stderr=log, text=True
    )
    base = f"http://127.0.0.1:{port}"
    poll_until("the scratch app to answer /ping", lambda: answers(f"{base}/ping"), timeout=30)
    yield proc, base
    proc.kill()
    proc.wait(10)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_chapters_transcript_and_quit_with_status_zero(app: tuple[subprocess.Popen[str], str]) -> None:
    proc, base = app
    assert requests.get(f"{base}/ping", timeout=5).text == "<html>ok</html>"
    for line in ("firstline", "secondline", "thirdline"):
        resp = requests.post(f"{base}/write", data=json.dumps({"data": line}), headers=FORM, timeout=5)
        assert resp.text == '{"success": "true"}'
    lines = requests.get(f"{base}/read", timeout=5).json()
    assert lines == {
        "success": "true",
        "Lines": [
            {"id": 1, "data": "firstline"},
            {"id": 2, "data": "secondline"},
            {"id": 3, "data": "thirdline"},
        ],
    }
    assert requests.get(f"{base}/quit", timeout=5).text == "<html>ok</html>"
    assert proc.wait(10) == 0


def test_it_has_none_of_our_services_habits(app: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, base = app
    assert requests.get(f"{base}/ready", timeout=5).status_code == 404  # no readiness endpoint
    log = (tmp_path / "web.log").read_text()
    assert "database answered at attempt" in log and not any(
        line.startswith("{") for line in log.splitlines()
    )
    dockerfile = (HERE / "Dockerfile").read_text()
    assert "FROM scratch" in dockerfile and "USER 65532" in dockerfile


def test_its_manifest_is_the_chapters_pod_with_another_web_image() -> None:
    from podlife.kube.chapter.subject import Subject

    ours, theirs = Subject.load(REPO / "manifests" / "webpod.yml"), Subject.load(HERE / "webpod.yml")
    assert (theirs.web, theirs.db, theirs.port, theirs.pod) == (ours.web, ours.db, ours.port, ours.pod)
    assert theirs.web_image == "podlife/scratch-web:0.1.0" != ours.web_image
