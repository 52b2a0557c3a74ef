"""The air-gapped build graph (see ``airgap/``): Kubernetes, kind and the tools from Go modules,
the Debian base, PostgreSQL and Python images, local-path-provisioner, and the node image, each
artefact built only when its inputs change; and the tools the build needs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from podlife.paths import AIRGAP, cache_dir
from podlife.provision import releases
from podlife.provision.artefacts import Artefact, debian_mirror, docker_build, script
from podlife.provision.steps import StepFailed, step

LOCAL_POSTGRES = "podlife/postgres:15-bookworm"
LOCAL_PYTHON = "podlife/python:3.11-bookworm"


@dataclass(frozen=True)
class Release:
    """What tells one Kubernetes minor's artefacts from another's: a name and image suffix ("" for
    the default), its pins file as an input, and the recipes' directory (:mod:`.releases`)."""

    minor: str

    @cached_property
    def v(self) -> str:
        return releases.suffix(self.minor)

    @cached_property
    def recipes(self) -> Path:
        return releases.recipes(self.minor) if self.v else AIRGAP

    def artefact(self, name: str, recipe: list[Path], builder: Any, **kw: Any) -> Artefact:
        own = [releases.PINS / f"{self.minor}.env"] if self.v else []  # its pins are an input too
        return Artefact(name + self.v, [*recipe, *own], builder, **kw)

    def script(self, art: Artefact, name: str, *args: str | Path) -> None:
        script(art, name, *args, recipes=self.recipes)


@cache
def airgap_graph(
    minor: str = releases.DEFAULT, runtime: str = releases.DEFAULT_RUNTIME
) -> dict[str, Artefact]:
    """The air-gapped build graph for Kubernetes ``minor`` and container ``runtime``, keyed by
    artefact name.  What depends on the version (Kubernetes, the Go tools, the node's base, the
    component images, the node image) has its own artefacts and images per minor, beside the
    default's; another runtime has its own node base and node image; the rest is shared."""
    a = dict(_version_graph(minor))
    return a if runtime == releases.DEFAULT_RUNTIME else _other_runtime(a, minor, runtime)


@cache
def _version_graph(minor: str) -> dict[str, Artefact]:
    pins, mirror, r = releases.pins(minor), debian_mirror(), Release(minor)
    a: dict[str, Artefact] = {}
    a["k8s"] = r.artefact(
        "k8s",
        [AIRGAP / "build-kubernetes.sh"],
        lambda art: r.script(art, "build-kubernetes.sh", art.out, art.out.parent / f"k8s{r.v}-work"),
    )
    a["tools"] = r.artefact(
        "tools",
        [AIRGAP / "build-go-tools.sh"],
        lambda art: r.script(art, "build-go-tools.sh", art.out, art.out.parent / f"tools{r.v}-work"),
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
    return _node(a, pins, mirror, r)


def _node(a: dict[str, Artefact], pins: dict[str, str], mirror: str, r: Release) -> dict[str, Artefact]:
    """The node image and what only it needs, on the base artefacts ``a``."""
    a["node-base"] = r.artefact(
        "node-base",
        [AIRGAP / "node-base.sh"],
        lambda art: r.script(
            art,
            "node-base.sh",
            art.image or "",
            mirror,
            (a["tools"].out / "kind-module-dir").read_text().strip(),
            a["tools"].out / "crictl",
        ),
        after=[a["tools"]],
        image=f"podlife/kind-base:{pins['DEBIAN_SUITE']}{r.v}",
    )
    a["components"] = r.artefact(
        "components",
        [
            AIRGAP / "component-images.sh",
            AIRGAP / "node" / "iptables-wrapper",
            AIRGAP / "node" / "podlife-netsync",
        ],
        lambda art: r.script(
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
    return _node_image(a, pins, r)


def _node_image(
    a: dict[str, Artefact], pins: dict[str, str], r: Release, runtime: str = ""
) -> dict[str, Artefact]:
    """The drop-in node image: kind's base, Kubernetes, the component images, default CNI and
    storage (``runtime``: the suffix of another runtime's node base, the one it is built on)."""
    base = a["node-base" + runtime]
    a["node"] = r.artefact(
        "node" + runtime,
        [
            AIRGAP / "node-image.sh",
            AIRGAP / "node" / "default-cni.yaml",
            AIRGAP / "node" / "default-storage.yaml",
        ],
        lambda art: r.script(
            art,
            "node-image.sh",
            art.image or "",
            base.image or "",
            a["k8s"].out,
            a["components"].out / "components.tar",
            # default-storage.yaml's images: the provisioner and its helper pods' Debian
            a["local-path"].image or "",
            a["debian"].image or "",
        ),
        after=[base, a["components"], a["k8s"], a["local-path"], a["debian"]],
        image=f"podlife/kind-node:{pins['K8S_VERSION']}{runtime}",
    )
    return a


RUNTIME = AIRGAP / "runtime"


def _other_runtime(a: dict[str, Artefact], minor: str, runtime: str) -> dict[str, Artefact]:
    """``--runtime containerd2``: its binaries (one build for every version), the version's node
    base with them in place of Debian's, and a node image on that base."""
    pins, r, c2 = releases.pins(minor), Release(minor), releases.runtime_suffix(runtime)
    a["containerd2"] = Artefact(
        "containerd2",
        [RUNTIME / "build.sh", RUNTIME / "containerd2.env"],
        lambda art: script(art, "runtime/build.sh", art.out, art.out.parent / "containerd2-work"),
    )
    a["node-base" + c2] = r.artefact(
        "node-base" + c2,
        [RUNTIME / "Dockerfile"],
        lambda art: docker_build(
            art, a["containerd2"].out, RUNTIME / "Dockerfile", BASE_IMAGE=a["node-base"].image or ""
        ),
        after=[a["node-base"], a["containerd2"]],
        image=f"{a['node-base'].image}{c2}",
    )
    return _node_image(a, pins, r, c2)


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
# and for --runtime containerd2 (runc's seccomp support links libseccomp)
RUNTIME_PREREQUISITES = {"/usr/include/seccomp.h": "libseccomp-dev"}
GO = "a Go toolchain >= 1.24 (https://go.dev/dl; Debian bookworm's own is too old)"


def prerequisites(runtime: str = releases.DEFAULT_RUNTIME) -> None:
    """The air-gapped build's tools: as root on Debian the missing packages are installed, all at
    once; otherwise every missing one is named at once, before anything is built."""
    needs = PREREQUISITES | (RUNTIME_PREREQUISITES if runtime != releases.DEFAULT_RUNTIME else {})
    packages = [
        pkg
        for need, pkg in needs.items()
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
