"""The images and binaries a cluster needs, and where they come from.

Two sources, chosen by what the machine can reach (:mod:`podlife.provision.registry`), never by a flag:
- a registry answers (a laptop, GitHub Actions): upstream kind's node image and the official
  PostgreSQL and Python images, pinned by digest (:mod:`podlife.provision.upstream`), pulled once on this
  machine and loaded into the nodes; only the web image is built (on the pinned Python image);
- no registry (air-gapped CI, this project's machines): everything is built here from Debian
  packages and Go modules (see ``airgap/``), each artefact only when its inputs change.
Either way the web image's wheels are chosen for the image's own Python and platform, so the
Python podlife runs on (3.11, 3.12, 3.13, any OS) does not matter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from podlife.docker import argv, docker, has_image
from podlife.paths import cache_dir
from podlife.provision import registry, releases, tools, upstream
from podlife.provision.airgap import LOCAL_POSTGRES, LOCAL_PYTHON, RUNTIME, airgap_graph, prerequisites
from podlife.provision.steps import StepFailed, run, say
from podlife.provision.webimage import WEB_IMAGE, build_web_image

UPSTREAM_POSTGRES = upstream.tag_of(upstream.POSTGRES)
UPSTREAM_PYTHON = upstream.tag_of(upstream.PYTHON)


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
    """The upstream node image (PODLIFE_NODE_IMAGE; another Kubernetes than the default: the current
    kind release's image of that minor; else the default of the kind release that runs on this
    host) and its kind release."""
    chosen = os.environ.get("PODLIFE_NODE_IMAGE")
    release = upstream.release(upstream.cgroup_version())
    minor = releases.selected()
    if not chosen and minor != releases.DEFAULT:
        found = [i for v, i in upstream.KIND.images.items() if releases.minor_of(v) == minor]
        if not found:
            raise StepFailed(
                f"Kubernetes {minor}", f"kind {upstream.KIND.version} publishes no node image of it"
            )
        return found[0], upstream.KIND
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
    if not decision.airgapped and releases.runtime() != releases.DEFAULT_RUNTIME:
        raise StepFailed(
            f"--runtime {releases.runtime()}",
            f"builds the air-gapped node image; {image}, kind's own, runs its own containerd 2.x already",
        )
    return airgapped_toolset() if decision.airgapped else upstream_toolset(image, release)


def by_tag() -> bool:
    """The upstream images by tag alone: only the offline rehearsal sets this (an image pushed to
    a local registry cannot keep Docker Hub's digest)."""
    return os.environ.get("PODLIFE_UPSTREAM_BY_TAG") == "1"


def pull_pinned(reference: str) -> str:
    """Pull an official image by its digest (by tag in the rehearsal), once; return ``name:tag``."""
    tag = upstream.tag_of(reference)
    source = tag if by_tag() else reference
    if not has_image(tag):
        run(f"docker pull {source}", argv("pull", source), log="pull")
        if source != tag:
            docker("tag", source, tag)
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
        {LOCAL_POSTGRES: postgres, UPSTREAM_PYTHON: python},
        (WEB_IMAGE, postgres, python),
        python,
    )


def airgapped_toolset() -> Toolset:
    minor, runtime = releases.selected(), releases.runtime()
    prerequisites(runtime)
    graph = airgap_graph(minor, runtime)
    for name in ("node", "postgres", "python"):
        graph[name].ensure()
    build_web_image(LOCAL_PYTHON, after=[graph["python"]]).ensure()
    pins = releases.pins(minor)
    return Toolset(
        True,
        airgapped_kind(graph, pins),
        tools.kubectl(pins["K8S_VERSION"], graph["k8s"].out / "kubectl"),
        graph["node"].image or "",
        {UPSTREAM_POSTGRES: LOCAL_POSTGRES, UPSTREAM_PYTHON: LOCAL_PYTHON},
        # the Debian base serves the storage provisioner's helper pods
        (WEB_IMAGE, LOCAL_POSTGRES, LOCAL_PYTHON, graph["debian"].image or ""),
        LOCAL_PYTHON,
    )


def airgapped_kind(graph: dict, pins: dict[str, str]) -> Path:
    """The version's own kind; another runtime's where it brings one (``airgap/runtime/``)."""
    other = graph.get("containerd2")
    if other is None:
        return tools.kind(pins["KIND_VERSION"], graph["tools"].out / "kind")
    return tools.kind(releases.read_env(RUNTIME / "containerd2.env")["KIND_VERSION"], other.out / "kind")


# what a manifest may name that podlife holds under its own name (the air-gapped build's)
KNOWN = {UPSTREAM_POSTGRES: LOCAL_POSTGRES, UPSTREAM_PYTHON: LOCAL_PYTHON}
