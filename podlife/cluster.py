"""The kind cluster the scenarios run on: one control plane, two workers.

``up`` creates the cluster or reuses a healthy one (a cluster left broken, for instance
after the container engine restarted, is deleted and created again), loads the web and
PostgreSQL images, and waits, through watches, for every node to be Ready and every
kube-system pod to be Running.  The kind calls go through pytest-kind's KindCluster,
given our own kind and kubectl so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from pytest_kind import KindCluster

from podlife import netsync, storage
from podlife.artefacts import versions
from podlife.engine import ensure_docker
from podlife.images import WEB_IMAGE, Toolset, prepare
from podlife.lock import exclusive
from podlife.paths import cache_dir
from podlife.steps import StepFailed, log_path, output, say, step
from podlife.wait import WaitTimeout
from podlife.watch import wait_for

NAME = os.environ.get("PODLIFE_CLUSTER", "podlife")
POD_SUBNET = "10.244.0.0/16"
# A NodePort of the control plane published on the host's loopback: Services are reached
# through kube-proxy from this machine, as a load balancer would reach them.
SERVICE_NODE_PORT = 30080
SERVICE_HOST_PORT = int(os.environ.get("PODLIFE_SERVICE_PORT", "30080"))
READY_TIMEOUT_S = 300


def cluster_dir() -> Path:
    path = cache_dir() / "cluster" / NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubeconfig_path() -> Path:
    return cluster_dir() / "kubeconfig"


def kind_config(tools: Toolset) -> dict[str, Any]:
    """The cluster's kind configuration (written next to the kubeconfig for people to read)."""
    node = {"image": tools.node_image}
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": {"podSubnet": POD_SUBNET},
        # Exactly one control plane: more would need kind's load-balancer image.
        "nodes": [
            {
                "role": "control-plane",
                **node,
                "extraPortMappings": [
                    {
                        "containerPort": SERVICE_NODE_PORT,
                        "hostPort": SERVICE_HOST_PORT,
                        "listenAddress": "127.0.0.1",
                        "protocol": "TCP",
                    }
                ],
            },
            {"role": "worker", **node},
            {"role": "worker", **node},
        ],
    }
    if tools.airgapped:
        pins = versions()
        # kindnetd cannot be built here: podlife-netsync in the node image wires pods instead.
        cfg["networking"].update(disableDefaultCNI=True, kubeProxyMode="nftables")
        cfg["kubeadmConfigPatches"] = [
            yaml.safe_dump(
                {
                    "kind": "ClusterConfiguration",
                    "imageRepository": "podlife.local/k8s",
                    "dns": {"imageTag": pins["COREDNS_VERSION"]},
                    "etcd": {"local": {"imageTag": pins["ETCD_VERSION"].lstrip("v") + "-0"}},
                }
            )
        ]
    return cfg


def kind_cluster(tools: Toolset) -> KindCluster:
    """pytest-kind's handle on the cluster, with our kind and kubectl; where kind is not
    installed (a registry is reachable there), pytest-kind fetches our pinned kind version."""
    if tools.kind is None:
        import pytest_kind.cluster

        pytest_kind.cluster.KIND_VERSION = versions()["KIND_VERSION"]  # read at its import; ours is pinned
    return KindCluster(NAME, kubeconfig=kubeconfig_path(), kind_path=tools.kind, kubectl_path=tools.kubectl)


def exists(tools: Toolset) -> bool:
    kind = str(tools.kind or "kind")
    return NAME in output([kind, "get", "clusters"]).split()


def node_containers(tools: Toolset) -> list[str]:
    return output([str(tools.kind or "kind"), "get", "nodes", "--name", NAME]).split()


def healthy(tools: Toolset) -> str | None:
    """None when the running cluster can be reused, else why it cannot."""
    nodes = node_containers(tools)
    if len(nodes) != 3:
        return f"{len(nodes)} node containers instead of 3"
    for node in nodes:
        state = output(["docker", "inspect", "-f", "{{.State.Running}} {{.Config.Image}}", node]).split()
        if state[0] != "true":
            return f"node {node} is not running"
        if state[1] != tools.node_image:
            return f"node {node} runs {state[1]}, not {tools.node_image}"
        image_id = output(["docker", "inspect", "-f", "{{.Image}}", node]).strip()
        if image_id != output(["docker", "image", "inspect", "-f", "{{.Id}}", tools.node_image]).strip():
            return f"node {node} was created from an older build of {tools.node_image}"
    if not kubeconfig_path().exists():
        return "its kubeconfig is missing"
    written = cluster_dir() / "kind.yaml"
    if not written.exists() or yaml.safe_load(written.read_text()) != kind_config(tools):
        return "it was created with another configuration"
    try:
        wait_ready(timeout=60)
    except (WaitTimeout, Exception) as exc:
        return f"it is not ready: {exc}"
    return None


def api() -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(kubeconfig_path())))


def wait_ready(timeout: float = READY_TIMEOUT_S) -> None:
    """Every node Ready, then every kube-system pod Running with all containers ready."""
    core = api()

    def node_ready(node: Any) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    wait_for(
        core.list_node,
        lambda nodes: len(nodes) == 3 and all(map(node_ready, nodes.values())),
        what="3 nodes Ready",
        timeout=timeout,
        describe=lambda nodes: {n: node_ready(o) for n, o in nodes.items()},
    )

    def pod_up(pod: Any) -> bool:
        statuses = pod.status.container_statuses or []
        return pod.status.phase == "Running" and bool(statuses) and all(s.ready for s in statuses)

    wait_for(
        core.list_namespaced_pod,
        lambda pods: bool(pods) and all(map(pod_up, pods.values())),
        what="every kube-system pod Running and ready",
        timeout=timeout,
        describe=lambda pods: {n: p.status.phase for n, p in pods.items()},
        namespace="kube-system",
    )


_TOOLS: list[Toolset] = []


def current_tools() -> Toolset:
    """The toolset the last ``up`` used (images, binaries, image map)."""
    if not _TOOLS:
        raise RuntimeError("cluster.up() has not run in this process")
    return _TOOLS[-1]


def up() -> Path:
    """Create or reuse the cluster; return the kubeconfig path.  Holds the cluster's
    lock: a suite running on it makes this fail rather than recreate it underneath."""
    with exclusive(kubeconfig_path(), "cluster up"):
        return _bring_up()


def _bring_up() -> Path:
    ensure_docker()
    tools = prepare()
    _TOOLS.append(tools)
    cluster = kind_cluster(tools)
    if exists(tools):
        reason = healthy(tools)
        if reason is None:
            say(f"reusing cluster {NAME}")
        else:
            say(f"cluster {NAME} cannot be reused ({reason}): recreating it")
            down(tools)
    if not exists(tools):
        cfg_path = cluster_dir() / "kind.yaml"
        cfg_path.write_text(yaml.safe_dump(kind_config(tools), sort_keys=False))
        with step(f"kind create cluster {NAME} ({tools.node_image})"):
            try:
                cluster.create(config_file=cfg_path)  # pytest-kind, with our kind: nothing downloaded
            except subprocess.CalledProcessError as exc:
                raise StepFailed(
                    "kind create cluster",
                    f"exit status {exc.returncode}; the nodes' logs: {tools.kind} export logs --name {NAME}",
                ) from exc
        if tools.airgapped:
            with step("give podlife-netsync its credentials in every node"):
                netsync.install(api().api_client, str(tools.kind), NAME, node_containers(tools))
        with step("wait for nodes Ready and kube-system Running"):
            try:
                wait_ready()
            except WaitTimeout as exc:
                raise StepFailed(
                    "cluster readiness",
                    str(exc) + f"\n  kubelet logs: docker exec {NAME}-worker "
                    "journalctl -u kubelet -u podlife-netsync --no-pager",
                ) from exc
    load_images(tools)
    with step("node-local storage (StorageClass)"):
        storage.for_podlife_cluster(kubeconfig_path())
    with step("cluster DNS: resolve kubernetes.default from a pod"):
        say(f"kubernetes.default.svc.cluster.local is {resolve_from_a_pod()}")
    return kubeconfig_path()


DNS_PROBE = "import socket; print(socket.gethostbyname('kubernetes.default.svc.cluster.local'))"


def resolve_from_a_pod(timeout: float = 120) -> str:
    """Run a pod (the web image has Python) that resolves the API's Service name through
    CoreDNS and the pod network; return the address it printed."""
    core = api()
    name = f"podlife-dns-{int(time.time())}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"podlife": "dns-check"}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="probe",
                    image=WEB_IMAGE,
                    image_pull_policy="Never",
                    command=["python3", "-c", DNS_PROBE],
                )
            ],
        ),
    )
    core.create_namespaced_pod("default", pod)
    try:
        finished = wait_for(
            core.list_namespaced_pod,
            lambda pods: (
                pods[name] if name in pods and pods[name].status.phase in ("Succeeded", "Failed") else None
            ),
            what="the DNS probe pod to finish",
            timeout=timeout,
            namespace="default",
            field_selector=f"metadata.name={name}",
        )
        log = core.read_namespaced_pod_log(name, "default").strip()
        if finished.status.phase != "Succeeded":
            raise StepFailed("cluster DNS", f"kubernetes.default did not resolve from a pod: {log[-300:]}")
        return log
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def load_images(tools: Toolset) -> None:
    """Load the images into the workers (the control plane runs none of our pods), in one
    kind call: one archive, imported once per node; kind skips images already there."""
    workers = [n for n in node_containers(tools) if not n.endswith("-control-plane")]
    log = log_path("kind-load")
    with step(f"load {', '.join(tools.load)} into {', '.join(workers)}", log), log.open("ab") as out:
        proc = subprocess.run(
            [
                str(tools.kind or "kind"),
                "load",
                "docker-image",
                "--name",
                NAME,
                "--nodes",
                ",".join(workers),
                *tools.load,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        raise StepFailed("kind load docker-image", f"exit status {proc.returncode}", log)


def down(tools: Toolset | None = None) -> None:
    """Delete the cluster (building nothing: any kind binary can delete it)."""
    kind = Path(tools.kind if tools and tools.kind else installed_kind())
    with exclusive(kubeconfig_path(), "cluster down"), step(f"kind delete cluster {NAME}"):
        KindCluster(NAME, kubeconfig=kubeconfig_path(), kind_path=kind).delete()


def installed_kind() -> str:
    built = cache_dir() / "bin" / "tools" / "kind"
    return str(built) if built.exists() else "kind"
