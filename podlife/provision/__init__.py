"""Provisioning: the cluster a run measures on, reached or brought up, in one call (:func:`up`).

Everything that makes a cluster lives here: the container engine (``engine``), the images and
binaries from upstream or built air-gapped (``images``, ``airgap``, ``webimage``, ``artefacts``,
``upstream``, ``registry``, ``tools``), the kind cluster (``cluster``, ``loading``, ``services``),
the cluster lock (``lock``), the steps' logs (``steps``) and the upstream path's rehearsal
(``rehearsal``).  What crosses to a run is a :class:`~podlife.kube.api.cluster.ClusterInfo`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernetes import client

from podlife.docker import attempt
from podlife.errors import SetupError
from podlife.kube import Cluster, ClusterInfo, Subject, api_client, drain, kind, leftovers, next_tag, pullable
from podlife.paths import cache_dir
from podlife.provision import tools, upstream
from podlife.provision.lock import exclusive
from podlife.provision.steps import say

# pinned by digest: the agent runs it privileged, and a tag could name another image on some node
UPSTREAM_PROBE_IMAGE = upstream.PYTHON


@contextmanager
def held(
    subjects: list[Subject],
    *,
    images: dict[str, str] | None = None,
    next_versions: set[str] | None = None,
    kubeconfig: str | None = None,
    kubectl: str | None = None,
    probe_image: str | None = None,
) -> Iterator[ClusterInfo]:
    """The cluster, held (:mod:`podlife.provision.lock`) until the context ends: ``kubeconfig``
    names an existing cluster; without it podlife's own kind cluster is brought up or reused and
    the images the ``subjects`` name, and ``images`` (image -> pull policy, a profile's) with the
    next version of those in ``next_versions``, are loaded into it where this machine's Docker
    holds them.  What an earlier run left there (:mod:`podlife.kube.api.leftovers`) is collected
    first.  Raises when it cannot be reached."""
    if kubeconfig:
        with exclusive(Path(kubeconfig), "scenarios"):
            info = existing(kubeconfig, kubectl, probe_image)
            collect(kubeconfig, delete=False)
            yield pulls_checked(info, subjects, images or {}, next_versions or set())
        return
    from podlife.provision import cluster, kindconfig, loading

    with exclusive(cluster.lock_key(), "scenarios"):
        say("no --kubeconfig: podlife's own kind cluster on this machine, brought up or reused")
        path = cluster.up()
        toolset = cluster.current_tools()
        loading.load_subject_images(toolset, cluster.NAME, subjects)
        loading.load_local(toolset, cluster.NAME, images or {}, next_versions or set())
        info = ClusterInfo(
            kubeconfig=str(path),
            kubectl=str(toolset.kubectl),
            image_map=toolset.image_map,
            probe_image=toolset.probe_image,
            description=f"kind {cluster.NAME} ({toolset.node_image}, 3 nodes)",
            lost_node=kindconfig.LOST_NODE,
        )
        reachable(info)
        collect(info.kubeconfig, delete=True)
        yield info


def collect(kubeconfig: str, *, delete: bool) -> None:
    """What an earlier run left: a node of podlife's own kind cluster it had stopped (started again,
    where this machine's Docker holds it: the API's providerID names it), its namespaces (deleted on
    podlife's own cluster; on another, those of runs that are gone), and the cordons a killed run's
    drain left (undone)."""
    core = client.CoreV1Api(api_client(kubeconfig))
    if not delete:
        start_own_nodes(core)
    leftovers.collect(kubeconfig, say, delete=delete)
    drain.uncordon_left(core, say)


def start_own_nodes(core: client.CoreV1Api) -> None:
    """A node container of podlife's own kind cluster on this machine, stopped by a run killed with
    ``kill -9`` while a scenario had it down (reached through a kubeconfig, with Docker answering),
    started again; nothing where Docker does not answer or the node is not podlife's own."""
    nodes = [n for n in core.list_node().items if (n.spec.provider_id or "").startswith("kind://docker/")]
    if not nodes or not docker_answers():
        return
    for node in nodes:
        name, provider = node.metadata.name, node.spec.provider_id
        try:
            kind.own(name, provider)
        except SetupError:
            continue
        if attempt("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "false":
            say(f"node {name} of podlife's own cluster was left stopped by an earlier run: started again")
            attempt("start", name)


def docker_answers() -> bool:
    """Whether this machine's Docker answers (no ``docker`` binary: exit 127, it does not)."""
    return attempt("version", "--format", "{{.Server.Version}}", timeout=20).returncode == 0


def existing(kubeconfig: str, kubectl: str | None, probe_image: str | None) -> ClusterInfo:
    """A cluster someone else runs: a kubectl that fits its version, the upstream probe image."""
    server = reachable_version(kubeconfig)
    if probe_image and "@sha256:" not in probe_image:
        say(
            f"--probe-image {probe_image} is a tag: podlife's agent runs it privileged, and a node that "
            "holds another image under that name would run that one (name it by its digest, @sha256:...)"
        )
    return ClusterInfo(
        kubeconfig=kubeconfig,
        kubectl=kubectl or str(tools.kubectl(server, cache_dir() / "bin" / "k8s" / "kubectl")),
        image_map={},
        probe_image=probe_image or UPSTREAM_PROBE_IMAGE,
        description=f"kubeconfig {kubeconfig}",
    )


def pulls_checked(
    info: ClusterInfo, subjects: list[Subject], images: dict[str, str], next_versions: set[str]
) -> ClusterInfo:
    """On a cluster podlife loads nothing into: which of the run's images (its subjects', a
    profile's, the probe image) some worker cannot get, asked once up front
    (:mod:`podlife.kube.api.pullable`).  A scenario whose subject needs one of them is then a set-up
    error at once; without the probe image, which every claim uses, there is no run."""
    wanted = {i: p for s in subjects for i, p in s.images().items()} | images
    # the update claims' and a profile's rolling update change to the next version (podlife's tag)
    wanted |= {next_tag(s.web_image): "IfNotPresent" for s in subjects} | {
        next_tag(i): "IfNotPresent" for i in next_versions
    }
    wanted.setdefault(info.probe_image, "IfNotPresent")
    cluster = Cluster.connect(info)
    refused = pullable.unpullable(cluster.api, wanted, cluster.workers(), leftovers.labels(""), say)
    if info.probe_image in refused:
        raise SetupError(
            f"the cluster cannot get the probe image {info.probe_image} ({refused[info.probe_image]}); "
            "make it pullable or name one it has (--probe-image)"
        )
    for image, why in sorted(refused.items()):
        say(f"not on every worker, and not pullable: {image} ({why}); the claims that need it will be errors")
    say(f"{len(wanted) - len(refused)} of {len(wanted)} image(s) on every worker")
    return dataclasses.replace(info, unpullable=refused)


def reachable_version(kubeconfig: str) -> str:
    """The API server's version, or the reason it cannot be reached (raised)."""
    return client.VersionApi(api_client(kubeconfig)).get_code().git_version


def reachable(info: ClusterInfo) -> None:
    reachable_version(info.kubeconfig)


def restore_nodes() -> None:
    """After an interrupted run on podlife's own cluster: a node a scenario stopped is started
    again (the one the interrupted scenario would have started on its way out)."""
    from podlife.provision import cluster

    cluster.start_stopped_nodes(cluster.current_tools())
