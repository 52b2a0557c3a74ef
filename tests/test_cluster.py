"""podlife.kube.api.cluster.api_client: the environment's proxy settings are read once, when podlife
connects, and never again from a background thread (where a walk over ``os.environ`` races
pytest setting and deleting PYTEST_CURRENT_TEST in the main thread: a KeyError that failed
teardowns in a run as a service account); its pool keeps a connection for each thread that asks
at once."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, watch

from podlife.kube.api.cluster import api_client


def token_kubeconfig(path: Path) -> Path:
    """A kubeconfig as a service account's: a bearer token (the client's refresh hook re-sets the
    host on every request); the server is never contacted."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@pytest.fixture
def environ_walks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the threads that walk os.environ from now on (and a fresh default
    configuration, as in a new process)."""
    monkeypatch.setattr(client.Configuration, "_default", None)
    walks: list[str] = []
    walk = type(os.environ).__iter__

    def spy(self: object) -> Iterator[str]:
        walks.append(threading.current_thread().name)
        return walk(self)  # type: ignore[arg-type]

    monkeypatch.setattr(type(os.environ), "__iter__", spy)
    yield walks


def test_a_connected_client_never_walks_the_environment_again(
    tmp_path: Path, environ_walks: list[str]
) -> None:
    api = api_client(token_kubeconfig(tmp_path / "kubeconfig"))
    environ_walks.clear()

    def background() -> None:
        api.configuration.auth_settings()  # what every request does: the token hook, the host
        watch.Watch()  # what the watch thread builds for every chunk

    thread = threading.Thread(target=background, name="background")
    thread.start()
    thread.join()
    assert api.configuration.auth_settings()["BearerToken"]["value"] == "Bearer not-a-secret"
    assert environ_walks == []


def test_the_environments_proxy_is_still_honoured(
    tmp_path: Path, environ_walks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:3128")
    monkeypatch.setenv("no_proxy", "10.0.0.0/8")
    api = api_client(token_kubeconfig(tmp_path / "kubeconfig"))
    api.configuration.auth_settings()
    assert (api.configuration.proxy, api.configuration.no_proxy) == ("http://127.0.0.1:3128", "10.0.0.0/8")


def test_a_subject_whose_image_the_cluster_cannot_get_is_a_setup_error_naming_it() -> None:
    from podlife.errors import SetupError
    from podlife.kube.api.cluster import Cluster

    cluster = Cluster(
        Path("kc"), None, "kubectl", {}, "probe", "d", unpullable={"pg:15": "ErrImagePull on w1: no host"}
    )  # type: ignore[arg-type]
    cluster.can_get(["web:1", "probe"], "webpod.yml")  # every image there: nothing raised
    with pytest.raises(
        SetupError, match=r"images?\(s\) of webpod.yml: pg:15 \(ErrImagePull on w1: no host\)"
    ):
        cluster.can_get(["web:1", "pg:15"], "webpod.yml")


def test_a_cluster_past_the_inotify_budget_is_refused_up_front_naming_the_remedy(tmp_path: Path) -> None:
    from podlife.provision import room as inotify

    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    assert inotify.shortfall(limit, used=55) is None  # one cluster more fits
    said = inotify.shortfall(limit, used=110)
    assert (
        said and "is 128 and 110 are in use" in said and "sysctl -w fs.inotify.max_user_instances=512" in said
    )
    assert inotify.shortfall(tmp_path / "absent", used=10_000) is None
    assert inotify.in_use() >= 0


def test_a_cluster_past_the_free_disk_is_refused_up_front(tmp_path: Path) -> None:
    from podlife.provision import room

    assert room.disk_shortfall(tmp_path, free_gb=29.0) is None
    said = room.disk_shortfall(tmp_path, free_gb=1.6)
    assert said and said.startswith("1.6 GB free where Docker keeps its data") and "cluster down" in said


def test_the_kind_clusters_beside_the_run_are_named_with_their_running_nodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podlife.provision import cluster

    asked: list[tuple[str, ...]] = []

    def docker(*args: str, **_: object) -> str:
        asked.append(args)
        return f"{cluster.NAME}\n{cluster.NAME}\npodlife-1-36\nsomeones\npodlife-1-36\n{cluster.NAME}\n"

    monkeypatch.setattr(cluster, "docker", docker)
    assert cluster.beside() == {"podlife-1-36": 2, "someones": 1}  # this run's own is not beside it
    assert asked == [
        ("ps", "--filter", "label=io.x-k8s.kind.cluster", "--format", '{{.Label "io.x-k8s.kind.cluster"}}')
    ]
    monkeypatch.setattr(cluster, "docker", lambda *a, **k: f"{cluster.NAME}\n")
    assert cluster.beside() == {}
    # anyone's container may carry kind's label: what is no cluster name is never printed as it is
    monkeypatch.setattr(cluster, "docker", lambda *a, **k: "\x1b]0;owned\x07 Evil/../x podlife-1-35\n")
    assert cluster.beside() == {"?": 2, "podlife-1-35": 1}


def test_a_docker_that_does_not_answer_names_nothing_beside_and_fails_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podlife.docker import DockerFailed
    from podlife.provision import cluster

    def silent(*args: str, **_: object) -> str:
        raise DockerFailed("docker ps: no answer after 20s")

    monkeypatch.setattr(cluster, "docker", silent)
    assert cluster.beside() == {}


def test_a_run_beside_other_kind_clusters_says_so_and_alone_says_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podlife.provision import cluster

    said: list[str] = []
    monkeypatch.setattr(cluster, "say", said.append)
    monkeypatch.setattr(cluster, "beside", lambda: {"podlife-1-36": 3})
    cluster.name_beside()
    assert (
        len(said) == 1 and "kind cluster(s) podlife-1-36 (3 node(s))" in said[0] and "cluster down" in said[0]
    )
    monkeypatch.setattr(cluster, "beside", dict)
    cluster.name_beside()
    assert len(said) == 1


def test_threads_that_talk_to_the_api_at_once_keep_their_connections(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """More threads than the client's default pool (five per core) ask at once, twice: each
    connection is kept for the next request, none opened and dropped ("Connection pool is full")."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Version(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the API server

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            keys = ("buildDate", "compiler", "gitCommit", "gitTreeState", "goVersion", "platform")
            body = json.dumps(
                {"major": "1", "minor": "34", "gitVersion": "v1.34.0"} | dict.fromkeys(keys, "x")
            ).encode()
            time.sleep(0.2)  # the threads' requests overlap
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    path = token_kubeconfig(tmp_path / "kubeconfig")
    path.write_text(
        path.read_text().replace("https://127.0.0.1:1", f"http://127.0.0.1:{server.server_address[1]}")
    )
    api = api_client(path)
    threads, answered = max(os.cpu_count() or 1, 1) * 5 + 6, []

    def ask() -> None:
        answered.append(client.VersionApi(api).get_code().git_version)

    try:
        for _ in range(2):
            rounds = [threading.Thread(target=ask) for _ in range(threads)]
            for t in rounds:
                t.start()
            for t in rounds:
                t.join(10)
    finally:
        api.close()
        server.shutdown()
        server.server_close()
    assert answered == ["v1.34.0"] * threads * 2
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
