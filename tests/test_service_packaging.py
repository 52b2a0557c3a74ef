"""Static checks of what ships with the service: the pod manifest, the image recipe, the dependency lists."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from service.config import ConfigError, Settings

REPO = Path(__file__).resolve().parent.parent
CHAPTER_ENV = {"db_name": "web", "db_user": "web", "db_pass": "web", "db_host": "127.0.0.1"}
CHAPTER_DB_ENV = {"POSTGRES_DB": "web", "POSTGRES_USER": "web", "POSTGRES_PASSWORD": "web"}


@pytest.fixture(scope="module")
def pod() -> dict:
    return yaml.safe_load((REPO / "manifests" / "webpod.yml").read_text())


def test_manifest_is_the_chapters_pod(pod: dict) -> None:
    assert (pod["apiVersion"], pod["kind"], pod["metadata"]["name"]) == ("v1", "Pod", "web2")
    assert pod["metadata"]["labels"] == {"app": "web", "version": "v1", "role": "backend"}
    web, db = pod["spec"]["containers"]
    assert (web["name"], db["name"]) == ("web", "db")
    assert web["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert {e["name"]: e["value"] for e in web["env"]} == {**CHAPTER_ENV, "QUIT_ENABLED": "true"}
    assert {e["name"]: e["value"] for e in db["env"]} == CHAPTER_DB_ENV
    for container in (web, db):
        assert not {"livenessProbe", "readinessProbe", "startupProbe", "resources", "volumeMounts"} & set(
            container
        )
    assert set(pod["spec"]) == {"containers"}, "no volumes, no other pod settings"


def test_manifest_images_are_pinned(pod: dict) -> None:
    web, db = pod["spec"]["containers"]
    assert (web["image"], web["imagePullPolicy"]) == ("podlife/web:0.1.0", "Never")
    assert (db["image"], db["imagePullPolicy"]) == ("podlife/postgres:15-bookworm", "IfNotPresent")
    for container in (web, db):
        assert not container["image"].endswith(":latest") and ":" in container["image"]


def test_image_runs_the_service_as_non_root_from_local_wheels() -> None:
    dockerfile = (REPO / "service" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile
    assert "--no-index --find-links /build/wheels" in dockerfile
    assert "USER 10001:10001" in dockerfile
    assert 'ENTRYPOINT ["python", "-m", "service"]' in dockerfile


def test_image_requirements_are_declared_in_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = set(pyproject["project"]["dependencies"])
    lines = (REPO / "service" / "requirements.txt").read_text().splitlines()
    required = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert required <= declared
    assert "*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["service"]


BASE_ENV = {"db_host": "h", "db_name": "n", "db_user": "u", "db_pass": "p"}


def test_settings_defaults_and_password_not_in_repr() -> None:
    settings = Settings.from_env({**BASE_ENV, "db_pass": "hunter2"})
    assert (settings.db_port, settings.port, settings.bind_host, settings.quit_enabled) == (
        5432,
        8080,
        "0.0.0.0",
        False,
    )
    assert "hunter2" not in repr(settings)
    assert settings.connect_kwargs()["password"] == "hunter2"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({k: v for k, v in BASE_ENV.items() if k != "db_host"}, "db_host"),
        ({**BASE_ENV, "db_name": " "}, "db_name"),
        ({**BASE_ENV, "PORT": "0"}, "PORT"),
        ({**BASE_ENV, "WEB_THREADS": "x"}, "WEB_THREADS"),
        ({**BASE_ENV, "QUIT_ENABLED": "sure"}, "QUIT_ENABLED"),
    ],
)
def test_settings_errors_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_empty_password_is_allowed() -> None:
    assert Settings.from_env({**BASE_ENV, "db_pass": ""}).db_pass == ""


def test_missing_postgresql_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from service import localrun as pg

    monkeypatch.setattr(pg.shutil, "which", lambda _name: None)
    monkeypatch.setattr(pg.glob, "glob", lambda _pattern: [])
    with pytest.raises(pg.PostgresMissing, match=r"apt-get install postgresql"):
        pg.find_bindir()
