"""Node-local volumes: find the cluster's provisioner, or build and deploy one.

The storage claims are about data that lives on a node.  kind's in-tree fallback class
(``kubernetes.io/host-path`` in kube-controller-manager) creates directories without tying
them to any node, so a pod could "find" or "lose" its volume depending on where it lands:
a stand-in, not storage.  Upstream kind's node image ships rancher's local-path-provisioner
as class ``standard``; an air-gapped cluster gets the same provisioner built here from its
Go module (``airgap/local-path/``), loaded into the nodes, and deployed from our own
manifest, with its helper pods on our Debian image.  Rebuilt only when its recipe changes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from podlife.artefacts import LABEL, Artefact, docker_build, script
from podlife.paths import AIRGAP, cache_dir
from podlife.steps import StepFailed, run, say, step
from podlife.watch import wait_for

RECIPE = AIRGAP / "local-path"
MANIFEST = RECIPE / "provisioner.yml"
NAMESPACE = "podlife-storage"
DEPLOYMENT = "local-path-provisioner"
# rancher's name (upstream kind's "standard" class) and the name our deployment uses
NODE_LOCAL_PROVISIONERS = ("rancher.io/local-path", "podlife.local/local-path")
OURS = "podlife-local-path"
DEFAULT_MARK = "storageclass.kubernetes.io/is-default-class"
READY_TIMEOUT_S = 180


def pinned_version() -> str:
    for line in (RECIPE / "version.env").read_text().splitlines():
        key, _, value = line.split("#", 1)[0].partition("=")
        if key.strip() == "LOCAL_PATH_VERSION":
            return value.strip()
    raise ValueError(f"{RECIPE / 'version.env'} pins no LOCAL_PATH_VERSION")


def image() -> str:
    return f"podlife/local-path-provisioner:{pinned_version()}"


def artefact(debian: Artefact) -> Artefact:
    """The provisioner image: the Go binary (build.sh) on our Debian base."""

    def builder(art: Artefact) -> None:
        context, work = cache_dir() / "bin" / "local-path-context", cache_dir() / "bin" / "local-path-work"
        script(art, "local-path/build.sh", context, work)
        docker_build(art, context, RECIPE / "Dockerfile", BASE_IMAGE=debian.image or "")

    return Artefact(
        "local-path",
        [RECIPE / "build.sh", RECIPE / "Dockerfile", RECIPE / "version.env"],
        builder,
        after=[debian],
        image=image(),
    )


def node_local_class(api: client.ApiClient) -> str | None:
    """The StorageClass whose volumes live on one node (the default one first), if any."""
    classes = client.StorageV1Api(api).list_storage_class().items
    local = [c for c in classes if c.provisioner in NODE_LOCAL_PROVISIONERS]
    local.sort(key=lambda c: (c.metadata.annotations or {}).get(DEFAULT_MARK) != "true")
    return local[0].metadata.name if local else None


def manifest_docs(inputs: str) -> list[dict[str, Any]]:
    """Our manifest, with the image's input hash on the pod template: a rebuilt image
    (same tag, imagePullPolicy Never) then rolls the provisioner."""
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    for doc in docs:
        if doc["kind"] == "Deployment":
            template = doc["spec"]["template"]["metadata"]
            template.setdefault("annotations", {})[LABEL] = inputs
    return docs


def ensure(
    api: client.ApiClient,
    *,
    airgapped: bool,
    kubectl: Path | str,
    kubeconfig: Path,
    load: Callable[[str], None],
    debian: Artefact | None = None,
) -> str:
    """The name of a node-local StorageClass, deploying ours first where there is none.

    ``load`` puts a local image into every node (kind load).  Where a registry is reachable
    the cluster is upstream kind's and already has one; anything else is a set-up error."""
    found = node_local_class(api)
    if found and found != OURS:
        say(f"node-local volumes: reusing StorageClass {found}")
        return found
    if not airgapped and not found:
        raise StepFailed(
            "node-local storage",
            "the cluster has no node-local provisioner (rancher.io/local-path) and podlife builds "
            "one only for its air-gapped kind cluster",
        )
    if debian is None:
        from podlife.images import airgap_graph

        debian = airgap_graph()["debian"]
    art = artefact(debian)
    art.ensure()
    for img in (art.image or "", debian.image or ""):
        with step(f"load {img} into the nodes"):
            load(img)
    docs = manifest_docs(art.inputs)
    run(
        "kubectl apply (node-local provisioner)",
        [kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-"],
        log="local-path-deploy",
        stdin=yaml.safe_dump_all(docs).encode(),
    )
    make_default(api, OURS)
    wait_available(api)
    return OURS


def make_default(api: client.ApiClient, name: str) -> None:
    """``name`` becomes the default class; kind's in-tree hostPath fallback stops being it."""
    storage = client.StorageV1Api(api)
    for sc in storage.list_storage_class().items:
        marked = (sc.metadata.annotations or {}).get(DEFAULT_MARK) == "true"
        if sc.metadata.name == name and not marked:
            storage.patch_storage_class(name, {"metadata": {"annotations": {DEFAULT_MARK: "true"}}})
        elif sc.metadata.name != name and marked and sc.provisioner == "kubernetes.io/host-path":
            storage.patch_storage_class(
                sc.metadata.name, {"metadata": {"annotations": {DEFAULT_MARK: "false"}}}
            )


def wait_available(api: client.ApiClient, timeout: float = READY_TIMEOUT_S) -> None:
    apps = client.AppsV1Api(api)

    def rolled_out(objects: dict[str, Any]) -> bool:
        d = objects.get(DEPLOYMENT)
        if d is None or (d.status.observed_generation or 0) < d.metadata.generation:
            return False
        s = d.status
        return (s.updated_replicas or 0) == (s.available_replicas or 0) == (s.replicas or 0) == 1

    wait_for(
        apps.list_namespaced_deployment,
        rolled_out,
        what=f"deployment {NAMESPACE}/{DEPLOYMENT} rolled out and available",
        timeout=timeout,
        describe=lambda objs: {n: o.status.to_dict() for n, o in objs.items()},
        namespace=NAMESPACE,
    )


@cache
def for_podlife_cluster(kubeconfig: Path) -> str:
    """A node-local class on the cluster ``podlife.cluster.up`` brought up in this process;
    on any other cluster, the one it already has."""
    from kubernetes import config as kube_config

    api = kube_config.new_client_from_config(str(kubeconfig))
    try:
        from podlife import cluster as kind

        tools = kind.current_tools()
    except RuntimeError:  # a cluster named by --kubeconfig: we never deploy into it
        found = node_local_class(api)
        if not found:
            raise StepFailed(
                "node-local storage", "the cluster named by --kubeconfig has no node-local provisioner"
            ) from None
        return found
    cluster = kind.kind_cluster(tools)
    return ensure(
        api,
        airgapped=tools.airgapped,
        kubectl=tools.kubectl or "kubectl",
        kubeconfig=kubeconfig,
        load=lambda img: load_quietly(cluster.kind_path, kind.NAME, img),
    )


def load_quietly(kind: Path | str, name: str, img: str) -> None:
    """kind load, which skips the nodes that already hold the image."""
    proc = subprocess.run(
        [str(kind), "load", "docker-image", "--name", name, img], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise StepFailed(f"kind load {img}", proc.stderr.strip()[-400:])
