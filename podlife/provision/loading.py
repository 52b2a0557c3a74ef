"""Images into the cluster: podlife's own (the toolset's), the images a measured manifest names
that this machine's Docker holds, and ``cluster load IMAGE...`` by hand.  One kind call per
load: one archive, imported once per node; kind skips images already there."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from pathlib import Path

from podlife.docker import attempt, docker, has_image
from podlife.kube import Subject, next_tag
from podlife.provision.images import KNOWN, Toolset
from podlife.provision.steps import StepFailed, log_path, output, say, step


def load_images(tools: Toolset, cluster: str, images: list[str]) -> None:
    """Load local images into the workers (the control plane runs none of the scenarios' pods),
    in one kind call: one archive, imported once per node; kind skips images already there."""
    kind_load(tools.kind, cluster, images)


def kind_load(kind: Path | str, cluster: str, images: list[str]) -> None:
    """``kind load docker-image`` of ``images`` into the cluster's workers."""
    workers = [
        n
        for n in output([str(kind), "get", "nodes", "--name", cluster]).split()
        if not n.endswith("-control-plane")
    ]
    if not workers:
        raise StepFailed("kind load", f"no cluster {cluster}: `python -m podlife cluster up` first")
    log = log_path("kind-load")
    argv = [str(kind), "load", "docker-image", "--name", cluster, "--nodes", ",".join(workers), *images]
    with step(f"load {', '.join(images)} into {', '.join(workers)}", log), log.open("ab") as out:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise StepFailed("kind load docker-image", f"exit status {proc.returncode}", log)


def local_image(image: str) -> bool:
    return has_image(image)


def load_subject_images(tools: Toolset, cluster: str, subjects: list[Subject]) -> None:
    """Bring your own image: every image a measured manifest names that the cluster cannot pull
    by itself (pull policy Never or IfNotPresent) and this machine's Docker holds is loaded into
    the nodes, with the next version of each web image (the same image under podlife's next
    tag) that the update claims change to.  Each image is asked of Docker once, however many
    manifests name it."""
    local = functools.cache(local_image)
    wanted: list[str] = []
    for subject in subjects:
        wanted += wanted_of(tools, subject.images(), str(subject.path), local)
        web = tools.image_map.get(subject.web_image, subject.web_image)
        if local(web) and next_tag(web) not in wanted:
            docker("tag", web, next_tag(web))
            wanted.append(next_tag(web))
    load_images(tools, cluster, sorted(set(wanted)))


def load_local(tools: Toolset, cluster: str, images: dict[str, str], next_versions: set[str]) -> None:
    """Images (image -> pull policy) this machine's Docker holds, loaded where the cluster cannot
    pull them; and the next version (podlife's next tag) of those in ``next_versions`` only, the
    images a rolling update changes (so no other image of this machine's Docker gets a new tag)."""
    wanted = wanted_of(tools, images, "a profiled workload")
    for image in [tools.image_map.get(i, i) for i in next_versions]:
        if image in wanted:
            docker("tag", image, next_tag(image))
            wanted.append(next_tag(image))
    if wanted:
        load_images(tools, cluster, sorted(set(wanted)))


def wanted_of(
    tools: Toolset, images: dict[str, str], where: str, local: Callable[[str], bool] = local_image
) -> list[str]:
    wanted = []
    for image, policy in images.items():
        image = tools.image_map.get(image, image)
        if policy != "Always" and local(image):
            wanted.append(image)
        elif policy == "Never":
            say(f"{where}: image {image} is not in this machine's Docker; its pods will not start")
    return wanted


def nowhere(images: dict[str, str]) -> dict[str, str]:
    """The images (image -> pull policy) that are nowhere, with why: not in this machine's Docker,
    under their name or podlife's own for them, and not pulled by ``docker pull`` either."""
    out = {}
    for image, policy in images.items():
        if any(local_image(name) for name in (image, KNOWN.get(image, image))):
            continue
        if policy == "Never":
            out[image] = "imagePullPolicy Never, and it is not in this machine's Docker"
            continue
        pulled = attempt("pull", image, timeout=300)
        if pulled.returncode != 0:
            answer = " ".join((pulled.stderr or pulled.stdout).split())[:200]
            out[image] = f"not in this machine's Docker, and docker pull says: {answer}"
    return out
