"""The images and binaries a cluster needs, and where they come from.

Two sources, chosen by what the machine can reach (:mod:`podlife.registry`), never by a flag:
- a registry answers (a laptop, GitHub Actions): upstream kind's node image and the official
  PostgreSQL and Python images, pinned by digest (:mod:`podlife.upstream`), pulled once on this
  machine and loaded into the nodes; only the web image is built (on the pinned Python image);
- no registry (air-gapped CI, this project's machines): everything is built here from Debian
  packages and Go modules (see ``airgap/``), each artefact only when its inputs change.
Either way the web image's wheels are chosen for the image's own Python and platform, so the
Python podlife runs on (3.11, 3.12, 3.13, any OS) does not matter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from podlife import registry, tools, upstream
from podlife.artefacts import Artefact, debian_mirror, docker_build, script, versions
from podlife.paths import AIRGAP, REPO, cache_dir
from podlife.steps import StepFailed, output, run, say, step

WEB_IMAGE = "podlife/web:0.1.0"
UPSTREAM_POSTGRES = upstream.tag_of(upstream.POSTGRES)
LOCAL_POSTGRES = "podlife/postgres:15-bookworm"
UPSTREAM_PYTHON = upstream.tag_of(upstream.PYTHON)
LOCAL_PYTHON = "podlife/python:3.11-bookworm"


@dataclass(frozen=True)
class Toolset:
    """What a cluster is made from: binaries, node image, and the image name mapping."""

    airgapped: bool
    kind: Path
    kubectl: Path
    node_image: str
    image_map: dict[str, str]  # manifest image -> image present in the cluster (either direction)
    load: tuple[str, ...]  # images to load into the nodes
    probe_image: str  # podlife's probes and request loops: a plain Python base image


def node_image() -> tuple[str, upstream.KindRelease]:
    """The upstream node image (PODLIFE_NODE_IMAGE, or the default of the kind release that runs
    on this host) and its kind release."""
    chosen = os.environ.get("PODLIFE_NODE_IMAGE")
    release = upstream.release(upstream.cgroup_version())
    if chosen:
        owner = next(
            (
                r
                for r in (upstream.KIND, upstream.KIND_CGROUP_V1)
                if upstream.tag_of(chosen) in map(upstream.tag_of, r.images.values())
            ),
            release,
        )
        return chosen, owner
    return release.default_image, release


def prepare() -> Toolset:
    """Decide air-gapped or upstream (and say why, first thing); build or fetch what it needs."""
    image, release = node_image()
    decision = registry.decide(image)
    say(f"mode: {'air-gapped' if decision.airgapped else 'upstream'}, because {decision.why}")
    return airgapped_toolset() if decision.airgapped else upstream_toolset(image, release)


def by_tag() -> bool:
    """The upstream images by tag alone: only the offline rehearsal sets this (an image pushed to
    a local registry cannot keep Docker Hub's digest)."""
    return os.environ.get("PODLIFE_UPSTREAM_BY_TAG") == "1"


def pull_pinned(reference: str) -> str:
    """Pull an official image by its digest (by tag in the rehearsal), once; return ``name:tag``."""
    tag = upstream.tag_of(reference)
    source = tag if by_tag() else reference
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode != 0:
        run(f"docker pull {source}", ["docker", "pull", source], log="pull")
        if source != tag:
            output(["docker", "tag", source, tag])
    return tag


def upstream_toolset(image: str, release: upstream.KindRelease) -> Toolset:
    k8s = upstream.tag_of(image).rsplit(":", 1)[-1]
    postgres, python = pull_pinned(upstream.POSTGRES), pull_pinned(upstream.PYTHON)
    build_web_image(python).ensure()
    built = cache_dir() / "bin"
    return Toolset(
        False,
        tools.kind(release.version, built / "tools" / "kind"),
        tools.kubectl(k8s, built / "k8s" / "kubectl"),
        image,
        {LOCAL_POSTGRES: postgres},
        (WEB_IMAGE, postgres, python),
        python,
    )


def airgapped_toolset() -> Toolset:
    prerequisites()
    graph = airgap_graph()
    for name in ("node", "postgres", "python"):
        graph[name].ensure()
    build_web_image(LOCAL_PYTHON, after=[graph["python"]]).ensure()
    pins = versions()
    return Toolset(
        True,
        tools.kind(pins["KIND_VERSION"], graph["tools"].out / "kind"),
        tools.kubectl(pins["K8S_VERSION"], graph["k8s"].out / "kubectl"),
        graph["node"].image or "",
        {UPSTREAM_POSTGRES: LOCAL_POSTGRES},
        # the Debian base serves the storage provisioner's helper pods
        (WEB_IMAGE, LOCAL_POSTGRES, LOCAL_PYTHON, graph["debian"].image or ""),
        LOCAL_PYTHON,
    )


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


def web_recipe() -> list[Path]:
    return sorted(p for p in (REPO / "service").rglob("*") if p.is_file())


PROFILE = (
    "import json, platform, sys; "
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'machine': platform.machine(), "
    "'glibc': platform.libc_ver()[1]}))"
)


def image_python(base: str) -> dict[str, str]:
    """The base image's own Python version, machine and glibc (asked of the image itself)."""
    out = output(["docker", "run", "--rm", "--entrypoint", "python3", base, "-c", PROFILE], timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def wheel_args(profile: dict[str, str]) -> list[str]:
    """``pip download`` arguments for wheels that fit a Python and platform other than podlife's
    own: CPython ``profile['python']`` on glibc ``profile['glibc']`` and ``profile['machine']``."""
    version = profile["python"].replace(".", "")
    major, minor = (int(x) for x in profile["glibc"].split(".")[:2])
    platforms = [f"manylinux_{major}_{m}_{profile['machine']}" for m in range(17, minor + 1)]
    platforms.append(f"manylinux2014_{profile['machine']}")
    return [
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        profile["python"],
        "--abi",
        f"cp{version}",
        *(arg for p in platforms for arg in ("--platform", p)),
    ]


def download_wheels(base: str, dest: Path, log: str) -> None:
    profile = image_python(base)
    say(
        f"the web image's wheels: CPython {profile['python']}, {profile['machine']}, glibc {profile['glibc']}"
    )
    run(
        "pip download (service dependencies, for the image's Python)",
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            dest,
            *wheel_args(profile),
            "-r",
            REPO / "service" / "requirements.txt",
        ],
        log=log,
    )


def build_web_image(base: str, after: list[Artefact] | None = None) -> Artefact:
    """The web image from service/Dockerfile on ``base``; its wheels fetched on this machine (pip
    in a container cannot verify TLS here) for the base image's own Python."""

    def builder(art: Artefact) -> None:
        with tempfile.TemporaryDirectory(prefix="podlife-web-") as ctx:
            context = Path(ctx)
            shutil.copytree(
                REPO / "service", context / "service", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            download_wheels(base, context / "wheels", f"build-{art.name}")
            docker_build(art, context, context / "service" / "Dockerfile", BASE_IMAGE=base)

    base_id = output(["docker", "image", "inspect", "-f", "{{.Id}}", base]).strip()
    return Artefact(
        "web", [*web_recipe(), Path(__file__)], builder, after=after or [], image=WEB_IMAGE, salt=base_id
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
        from podlife.engine import install_packages

        with step(f"install the air-gapped build's prerequisites: {' '.join(packages)}"):
            install_packages(packages)
        return
    missing = [f"{p} (apt-get install {p})" for p in packages] + ([GO] if go_missing else [])
    if missing:
        raise StepFailed(
            "air-gapped build prerequisites",
            "no registry answers, and the build needs: " + "; ".join(missing),
        )
