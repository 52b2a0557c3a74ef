"""The air-gapped build graph (see ``airgap/``): Kubernetes, kind and the tools from Go modules,
the Debian base, PostgreSQL and Python images, local-path-provisioner, and the node image, each
artefact built only when its inputs change; and the tools the build needs."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from podlife.paths import AIRGAP, cache_dir
from podlife.provision.artefacts import Artefact, debian_mirror, docker_build, script, versions
from podlife.provision.steps import StepFailed, step

LOCAL_POSTGRES = "podlife/postgres:15-bookworm"
LOCAL_PYTHON = "podlife/python:3.11-bookworm"


@cache
def airgap_graph() -> dict[str, Artefact]:
    """The air-gapped build graph, keyed by artefact name."""
    pins = versions()
    mirror = debian_mirror()
    a: dict[str, Artefact] = {}
    a["k8s"] = Artefact(
        "k8s",
        [AIRGAP / "build-kubernetes.sh"],
        lambda art: script(art, "build-kubernetes.sh", art.out, art.out.parent / "k8s-work"),
    )
    a["tools"] = Artefact(
        "tools",
        [AIRGAP / "build-go-tools.sh"],
        lambda art: script(art, "build-go-tools.sh", art.out, art.out.parent / "tools-work"),
    )
    a["debian"] = Artefact(
        "debian",
        [AIRGAP / "debian-image.sh"],
        lambda art: script(art, "debian-image.sh", art.image or "", mirror, ""),
        image=f"podlife/debian:{pins['DEBIAN_SUITE']}",
    )
    a["python"] = Artefact(
        "python",
        [AIRGAP / "python"],
        lambda art: docker_build(art, AIRGAP / "python", BASE_IMAGE=a["debian"].image or ""),
        after=[a["debian"]],
        image=LOCAL_PYTHON,
    )
    a["postgres"] = Artefact(
        "postgres",
        sorted((AIRGAP / "postgres").iterdir()),
        lambda art: docker_build(art, AIRGAP / "postgres", BASE_IMAGE=a["debian"].image or ""),
        after=[a["debian"]],
        image=LOCAL_POSTGRES,
    )
    return _node(a, pins, mirror)


def _node(a: dict[str, Artefact], pins: dict[str, str], mirror: str) -> dict[str, Artefact]:
    """The node image and what only it needs, on the base artefacts ``a``."""
    a["node-base"] = Artefact(
        "node-base",
        [AIRGAP / "node-base.sh"],
        lambda art: script(
            art,
            "node-base.sh",
            art.image or "",
            mirror,
            (a["tools"].out / "kind-module-dir").read_text().strip(),
            a["tools"].out / "crictl",
        ),
        after=[a["tools"]],
        image=f"podlife/kind-base:{pins['DEBIAN_SUITE']}",
    )
    return _components(a, pins, mirror)


def _components(a: dict[str, Artefact], pins: dict[str, str], mirror: str) -> dict[str, Artefact]:
    """The component images kubeadm asks for, and the default storage's provisioner."""
    a["components"] = Artefact(
        "components",
        [
            AIRGAP / "component-images.sh",
            AIRGAP / "node" / "iptables-wrapper",
            AIRGAP / "node" / "podlife-netsync",
        ],
        lambda art: script(
            art,
            "component-images.sh",
            a["k8s"].out,
            a["tools"].out,
            a["debian"].image or "",
            art.out / "components.tar",
        ),
        after=[a["k8s"], a["tools"], a["debian"]],
    )
    a["local-path"] = local_path(a["debian"])
    return _node_image(a, pins)


def _node_image(a: dict[str, Artefact], pins: dict[str, str]) -> dict[str, Artefact]:
    """The drop-in node image: kind's base, Kubernetes, the component images, default CNI and storage."""
    a["node"] = Artefact(
        "node",
        [
            AIRGAP / "node-image.sh",
            AIRGAP / "node" / "default-cni.yaml",
            AIRGAP / "node" / "default-storage.yaml",
        ],
        lambda art: script(
            art,
            "node-image.sh",
            art.image or "",
            a["node-base"].image or "",
            a["k8s"].out,
            a["components"].out / "components.tar",
            # default-storage.yaml's images: the provisioner and its helper pods' Debian
            a["local-path"].image or "",
            a["debian"].image or "",
        ),
        after=[a["node-base"], a["components"], a["k8s"], a["local-path"], a["debian"]],
        image=f"podlife/kind-node:{pins['K8S_VERSION']}",
    )
    return a


LOCAL_PATH = AIRGAP / "local-path"


def local_path(debian: Artefact) -> Artefact:
    """rancher's local-path-provisioner (the node image's default storage) from its Go module, on
    our Debian base."""
    pinned = dict(
        line.split("#", 1)[0].strip().split("=", 1)
        for line in (LOCAL_PATH / "version.env").read_text().splitlines()
        if "=" in line.split("#", 1)[0]
    )

    def builder(art: Artefact) -> None:
        context, work = cache_dir() / "bin" / "local-path-context", cache_dir() / "bin" / "local-path-work"
        script(art, "local-path/build.sh", context, work)
        docker_build(art, context, LOCAL_PATH / "Dockerfile", BASE_IMAGE=debian.image or "")

    return Artefact(
        "local-path",
        [LOCAL_PATH / "build.sh", LOCAL_PATH / "Dockerfile", LOCAL_PATH / "version.env"],
        builder,
        after=[debian],
        image=f"podlife/local-path-provisioner:{pinned['LOCAL_PATH_VERSION']}",
    )


# command or file -> the Debian package that provides it
PREREQUISITES = {
    "gcc": "gcc",
    "debootstrap": "debootstrap",
    "jq": "jq",
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
}
GO = "a Go toolchain >= 1.24 (https://go.dev/dl; Debian bookworm's own is too old)"


def prerequisites() -> None:
    """The air-gapped build's tools: as root on Debian the missing packages are installed, all at
    once; otherwise every missing one is named at once, before anything is built."""
    packages = [
        pkg
        for need, pkg in PREREQUISITES.items()
        if not (Path(need).exists() if need.startswith("/") else shutil.which(need))
    ]
    go_missing = shutil.which("go") is None
    if packages and os.geteuid() == 0 and Path("/etc/debian_version").exists() and not go_missing:
        from podlife.provision.engine import install_packages

        with step(f"install the air-gapped build's prerequisites: {' '.join(packages)}"):
            install_packages(packages)
        return
    missing = [f"{p} (apt-get install {p})" for p in packages] + ([GO] if go_missing else [])
    if missing:
        raise StepFailed(
            "air-gapped build prerequisites",
            "no registry answers, and the build needs: " + "; ".join(missing),
        )
