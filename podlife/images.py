"""The images and binaries a cluster needs, and where they come from.

Two sources, chosen by what the machine can reach, never by a flag:
- a registry answers (a laptop, GitHub Actions): upstream kind's node image and the
  official PostgreSQL image; only the web image is built (from the public Python base);
- no registry (air-gapped CI, this project's machines): everything is built here from
  Debian packages and Go modules (see ``airgap/``), each artefact only when its inputs change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from podlife.artefacts import Artefact, debian_mirror, docker_build, script, versions
from podlife.paths import AIRGAP, REPO
from podlife.steps import output, run, say

WEB_IMAGE = "podlife/web:0.1.0"
# The same image under a second tag: update-needs-downtime changes a running pod's image to it.
WEB_IMAGE_NEXT = "podlife/web:0.1.0-next"
UPSTREAM_POSTGRES = "postgres:15.15-bookworm"
LOCAL_POSTGRES = "podlife/postgres:15-bookworm"
UPSTREAM_PYTHON = "python:3.11-slim-bookworm"
LOCAL_PYTHON = "podlife/python:3.11-bookworm"


@dataclass(frozen=True)
class Toolset:
    """What a cluster is made from: binaries, node image, and the image name mapping."""

    airgapped: bool
    kind: Path | None
    kubectl: Path | None
    node_image: str
    image_map: dict[str, str]  # manifest image -> image present in the cluster (either direction)
    load: tuple[str, ...]  # images to load into the nodes


def upstream_node_image() -> str:
    """kind's node image for our Kubernetes version; PODLIFE_NODE_IMAGE picks another
    (the GitHub workflow's version matrix)."""
    return os.environ.get("PODLIFE_NODE_IMAGE") or f"kindest/node:{versions()['K8S_VERSION']}"


def registry_reachable() -> bool:
    """True when the upstream node image is here or can be pulled (one pull attempt)."""
    image = upstream_node_image()
    if (
        subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode
        == 0
    ):
        return True
    say(f"checking for a registry: docker pull {image}")
    pulled = subprocess.run(
        ["docker", "pull", image], capture_output=True, text=True, timeout=1800, check=False
    )
    if pulled.returncode != 0:
        say(f"no registry: {(pulled.stderr.strip().splitlines() or ['pull failed'])[-1]}")
    return pulled.returncode == 0


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
        [AIRGAP / "node-base.sh", *sorted((AIRGAP / "node").iterdir())],
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
        [AIRGAP / "component-images.sh"],
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
    a["node"] = Artefact(
        "node",
        [AIRGAP / "node-image.sh"],
        lambda art: script(
            art,
            "node-image.sh",
            art.image or "",
            a["node-base"].image or "",
            a["k8s"].out,
            a["components"].out / "components.tar",
        ),
        after=[a["node-base"], a["components"], a["k8s"]],
        image=f"podlife/kind-node:{pins['K8S_VERSION']}",
    )
    return a


def web_recipe() -> list[Path]:
    return sorted(p for p in (REPO / "service").rglob("*") if p.is_file())


def build_web_image(base: Artefact | None) -> Artefact:
    """The web image from service/Dockerfile; Python wheels are built on the host."""

    def builder(art: Artefact) -> None:
        with tempfile.TemporaryDirectory(prefix="podlife-web-") as ctx:
            context = Path(ctx)
            shutil.copytree(
                REPO / "service", context / "service", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            run(
                "pip wheel (service dependencies)",
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    "--wheel-dir",
                    context / "wheels",
                    "-r",
                    REPO / "service" / "requirements.txt",
                ],
                log=f"build-{art.name}",
            )
            docker_build(
                art,
                context,
                context / "service" / "Dockerfile",
                BASE_IMAGE=base.image if base and base.image else UPSTREAM_PYTHON,
            )

    return Artefact("web", web_recipe(), builder, after=[base] if base else [], image=WEB_IMAGE)


def prepare(airgapped: bool | None = None) -> Toolset:
    """Build (or find) everything a cluster needs; decide air-gapped vs upstream."""
    if airgapped is None:
        airgapped = not registry_reachable()
    if not airgapped:
        build_web_image(None).ensure()
        tag_next()
        return Toolset(
            False,
            which("kind"),
            which("kubectl"),
            upstream_node_image(),
            {LOCAL_POSTGRES: UPSTREAM_POSTGRES},
            (WEB_IMAGE, WEB_IMAGE_NEXT),
        )
    check_build_prerequisites()
    graph = airgap_graph()
    for name in ("node", "postgres", "python"):
        graph[name].ensure()
    build_web_image(graph["python"]).ensure()
    tag_next()
    return Toolset(
        True,
        graph["tools"].out / "kind",
        graph["k8s"].out / "kubectl",
        graph["node"].image or "",
        {UPSTREAM_POSTGRES: LOCAL_POSTGRES},
        # the Debian base serves helper pods (storage provisioner helpers, in-cluster clients)
        (WEB_IMAGE, WEB_IMAGE_NEXT, LOCAL_POSTGRES, graph["debian"].image or ""),
    )


def tag_next() -> None:
    output(["docker", "tag", WEB_IMAGE, WEB_IMAGE_NEXT])


def which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


# command or file -> the Debian package that provides it
PREREQUISITES = {
    "go": "a Go toolchain >= 1.24 (https://go.dev/dl or your distribution)",
    "gcc": "gcc",
    "debootstrap": "debootstrap",
    "jq": "jq",
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
}


def check_build_prerequisites() -> None:
    """Name every missing tool of the air-gapped build at once, before any build starts."""
    from podlife.steps import StepFailed

    missing = [
        f"{need} (install: {pkg})"
        for need, pkg in PREREQUISITES.items()
        if not (Path(need).exists() if need.startswith("/") else shutil.which(need))
    ]
    if missing:
        raise StepFailed("air-gapped build prerequisites", "missing: " + "; ".join(missing))
