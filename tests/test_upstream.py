"""The upstream path without a registry: how podlife reads a registry's answer, finds kind and
kubectl, pins its images, and picks wheels for the web image's Python (not its own)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from podlife.provision import registry, tools, upstream, webimage
from podlife.provision.steps import StepFailed

IMAGE = "kindest/node:v1.37.0"


@pytest.mark.parametrize(
    "answer",
    [
        'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
        "registry-1.docker.io on 10.255.255.53:53: no such host",
        'Get "https://registry-1.docker.io/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
        "Error response from daemon: Get https://registry-1.docker.io/v2/: net/http: request canceled "
        "(Client.Timeout exceeded while awaiting headers)",
        "dial tcp 44.205.64.79:443: i/o timeout",
    ],
)
def test_no_registry_at_all_means_air_gapped(answer: str) -> None:
    decision = registry.classify(IMAGE, answer)
    assert decision.airgapped and IMAGE in decision.why


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (
            "Error response from daemon: manifest for kindest/node:v1.34.4 not found: manifest unknown: "
            "manifest unknown",
            "has no",
        ),
        ("Error response from daemon: toomanyrequests: You have reached your pull rate limit.", "rate limit"),
        (
            "Error response from daemon: pull access denied for kindest/nodes, repository does not exist or "
            "may require 'docker login': denied: requested access to the resource is denied",
            "has no",
        ),
        (
            "Error response from daemon: Head https://registry-1.docker.io/v2/x/manifests/1: unauthorized: "
            "incorrect username or password",
            "docker login",
        ),
        (
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
            "docker group",
        ),
        ("Error response from daemon: something nobody has seen", "cannot tell why"),
    ],
)
def test_a_registry_that_refuses_stops_with_one_message(answer: str, says: str) -> None:
    with pytest.raises(StepFailed, match=says) as err:
        registry.classify(IMAGE, answer)
    assert "\n" not in str(err.value).split("\n  log:")[0]


def test_every_pin_is_a_tag_and_a_digest_and_the_default_is_listed() -> None:
    for release in (upstream.KIND, upstream.KIND_CGROUP_V1):
        assert release.default in release.images
        for version, ref in release.images.items():
            assert ref.startswith(f"kindest/node:{version}@sha256:") and len(ref.split("@sha256:")[1]) == 64
    for ref in (upstream.POSTGRES, upstream.PYTHON):
        name, digest = ref.split("@sha256:")
        assert ":" in name and len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    assert upstream.release("1") is upstream.KIND_CGROUP_V1 and upstream.release("2") is upstream.KIND


def test_the_air_gapped_build_is_a_drop_in_for_the_cgroup_v1_release() -> None:
    from podlife.provision.artefacts import versions

    pins = versions()
    assert (pins["KIND_VERSION"], pins["K8S_VERSION"]) == (
        upstream.KIND_CGROUP_V1.version,
        upstream.KIND_CGROUP_V1.default,
    )


def fake(tmp_path: Path, name: str, version: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\necho '{name} {version} go1.26 linux/amd64'\n")
    path.chmod(0o755)
    return path


def test_kind_on_path_is_used_only_when_its_version_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, built = tmp_path / "bin", tmp_path / "built"
    bin_dir.mkdir(), built.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    fake(bin_dir, "kind", "v0.33.0")
    assert tools.kind("v0.33.0") == bin_dir / "kind"
    downloads: list[str] = []

    def no_network(kind: str, version: str) -> Path:
        downloads.append(f"{kind}-{version}")
        raise ConnectionError("no route to github.com")

    monkeypatch.setattr(tools, "download", no_network)
    own = fake(built, "kind", "v0.30.0")
    assert tools.kind("v0.30.0", own) == own  # PATH's v0.33.0 does not fit, the download fails
    assert downloads == ["kind-v0.30.0"]
    with pytest.raises(StepFailed, match=r"is v0\.33\.0, not v0\.30\.0.*no route"):
        tools.kind("v0.30.0", built / "missing")


def test_kubectl_fits_within_one_minor_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    fake(tmp_path, "kubectl", "v1.36.2")
    assert tools.kubectl("v1.37.0") == tmp_path / "kubectl"
    assert tools.kubectl("v1.35.8") == tmp_path / "kubectl"
    monkeypatch.setattr(tools, "download", lambda kind, version: tmp_path / f"{kind}-{version}")
    assert tools.kubectl("v1.34.0") == tmp_path / "kubectl-v1.34.0"


def test_downloads_are_for_this_os_and_architecture() -> None:
    system, arch = tools.os_arch()
    assert system in ("linux", "darwin") and arch in ("amd64", "arm64")
    assert tools.KIND_URL.format(version="v0.33.0", os=system, arch=arch).endswith(f"kind-{system}-{arch}")


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_wheels_fit_the_images_python_not_podlifes(tmp_path: Path, python: str) -> None:
    """pip, run by this Python, fetches wheels for another CPython: what the web image installs."""
    profile = {"python": python, "machine": "x86_64", "glibc": "2.36"}
    subprocess.run(
        webimage.pip_download(tmp_path, profile, "psycopg2-binary==2.9.10", "orjson==3.10.18"), check=True
    )
    wheels = sorted(p.name for p in tmp_path.iterdir())
    tag = f"cp{python.replace('.', '')}"
    assert len(wheels) == 2 and all(f"-{tag}-" in w and "x86_64" in w for w in wheels), wheels
