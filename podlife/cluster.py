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

from podlife import storage
from podlife.engine import ensure_docker
from podlife.images import Toolset, prepare
from podlife.lock import exclusive
from podlife.paths import cache_dir
from podlife.steps import StepFailed, log_path, output, run, say, step
from podlife.subject import Subject, next_tag
from podlife.tools import resolve_any
from podlife.wait import WaitTimeout
from podlife.watch import wait_for

NAME = os.environ.get("PODLIFE_CLUSTER", "podlife")
POD_SUBNET = "10.244.0.0/16"
READY_TIMEOUT_S = 300


def cluster_dir() -> Path:
    path = cache_dir() / "cluster" / NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubeconfig_path() -> Path:
    return cluster_dir() / "kubeconfig"


def kind_config(tools: Toolset) -> dict[str, Any]:
    """The cluster's kind configuration (written next to the kubeconfig for people to read): the
    same for upstream and air-gapped node images, which install their own CNI and storage."""
    node = {"image": tools.node_image}
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": {"podSubnet": POD_SUBNET},
        # Exactly one control plane: more would need kind's load-balancer image.
        "nodes": [
            {"role": "control-plane", **node},
            {"role": "worker", **node},
            {"role": "worker", **node},
        ],
    }
    mirror = os.environ.get("PODLIFE_REGISTRY_MIRROR")
    if mirror:  # set only by the offline rehearsal of the upstream path (podlife.rehearsal)
        cfg["containerdConfigPatches"] = [MIRROR_PATCH.format(mirror=mirror)]
    return cfg


# Docker Hub's images through a mirror, in containerd 1.6's and 2.x's own config (config.toml)
MIRROR_PATCH = """[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["{mirror}"]
"""


def kind_cluster(tools: Toolset) -> KindCluster:
    """pytest-kind's handle on the cluster, with the kind and kubectl podlife resolved."""
    return KindCluster(NAME, kubeconfig=kubeconfig_path(), kind_path=tools.kind, kubectl_path=tools.kubectl)


def exists(tools: Toolset) -> bool:
    kind = str(tools.kind)
    return NAME in output([kind, "get", "clusters"]).split()


def node_containers(tools: Toolset) -> list[str]:
    return output([str(tools.kind), "get", "nodes", "--name", NAME]).split()


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
            with step(f"kind delete cluster {NAME}"):
                cluster.delete()
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
        with step("wait for nodes Ready and kube-system Running"):
            try:
                wait_ready()
            except WaitTimeout as exc:
                raise StepFailed(
                    "cluster readiness",
                    str(exc) + f"\n  the nodes' logs: {tools.kind} export logs --name {NAME}",
                ) from exc
    load_images(tools, list(tools.load))
    storage_class = storage.node_local_class(api().api_client)
    if storage_class is None:
        raise StepFailed(
            "node-local storage",
            f"the node image {tools.node_image} installed no rancher.io/local-path class",
        )
    say(f"node-local volumes: StorageClass {storage_class}")
    with step("cluster services (DNS, volume provisioner) on the control plane"):
        services_on_control_plane(api().api_client)
    with step("cluster DNS: resolve kubernetes.default from a pod"):
        say(f"kubernetes.default.svc.cluster.local is {resolve_from_a_pod(tools.probe_image)}")
    return kubeconfig_path()


CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
# Cluster services that would otherwise run on a worker: a scenario that stops a worker must
# not take DNS or the volume provisioner away from the scenarios running beside it.
SERVICES = (
    ("kube-system", "coredns"),
    ("local-path-storage", "local-path-provisioner"),
)


def services_on_control_plane(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    tolerations = [
        {"key": CONTROL_PLANE, "operator": "Exists", "effect": "NoSchedule"},
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
    ]
    patch = {
        "spec": {"template": {"spec": {"nodeSelector": {CONTROL_PLANE: ""}, "tolerations": tolerations}}}
    }
    for namespace, name in SERVICES:
        try:
            apps.patch_namespaced_deployment(name, namespace, patch)
        except client.ApiException as exc:
            if exc.status == 404:
                continue
            raise
        storage.wait_available(api_client, namespace, name)


DNS_PROBE = "import socket; print(socket.gethostbyname('kubernetes.default.svc.cluster.local'))"


def resolve_from_a_pod(image: str, timeout: float = 120) -> str:
    """Run a pod (podlife's probe image: plain Python) that resolves the API's Service name
    through CoreDNS and the pod network; return the address it printed."""
    core = api()
    name = f"podlife-dns-{int(time.time())}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"podlife": "dns-check"}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="probe",
                    image=image,
                    image_pull_policy="IfNotPresent",
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


def load_images(tools: Toolset, images: list[str]) -> None:
    """Load local images into the workers (the control plane runs none of the scenarios' pods),
    in one kind call: one archive, imported once per node; kind skips images already there."""
    workers = [n for n in node_containers(tools) if not n.endswith("-control-plane")]
    log = log_path("kind-load")
    with step(f"load {', '.join(images)} into {', '.join(workers)}", log), log.open("ab") as out:
        proc = subprocess.run(
            [
                str(tools.kind),
                "load",
                "docker-image",
                "--name",
                NAME,
                "--nodes",
                ",".join(workers),
                *images,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        raise StepFailed("kind load docker-image", f"exit status {proc.returncode}", log)


def local_image(image: str) -> bool:
    return (
        subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode
        == 0
    )


def load_subject_images(tools: Toolset, subjects: list[Subject]) -> None:
    """Bring your own image: every image a measured manifest names that the cluster cannot pull
    by itself (pull policy Never or IfNotPresent) and this machine's Docker holds is loaded into
    the nodes, with the next version of each web image (the same image under podlife's next
    tag) that the update claims change to."""
    wanted: list[str] = []
    for subject in subjects:
        for image, policy in subject.images().items():
            image = tools.image_map.get(image, image)
            if policy != "Always" and local_image(image):
                wanted.append(image)
            elif policy == "Never":
                say(f"{subject.path}: image {image} is not in this machine's Docker; its pods will not start")
        web = tools.image_map.get(subject.web_image, subject.web_image)
        if local_image(web):
            output(["docker", "tag", web, next_tag(web)])
            wanted.append(next_tag(web))
    load_images(tools, sorted(set(wanted)))


def load(images: list[str]) -> None:
    """``python -m podlife cluster load IMAGE...``: images of this machine's Docker into the nodes."""
    missing = [i for i in images if not local_image(i)]
    if missing:
        raise StepFailed("cluster load", f"not in this machine's Docker: {', '.join(missing)}")
    with exclusive(kubeconfig_path(), "cluster load"):
        kind = resolve_any("kind", cache_dir() / "bin" / "tools" / "kind")
        workers = [
            n
            for n in output([str(kind), "get", "nodes", "--name", NAME]).split()
            if not n.endswith("-control-plane")
        ]
        if not workers:
            raise StepFailed("cluster load", f"no cluster {NAME}: `python -m podlife cluster up` first")
        run(
            f"kind load {' '.join(images)}",
            [kind, "load", "docker-image", "--name", NAME, "--nodes", ",".join(workers), *images],
            log="kind-load",
        )


def export_logs(dest: Path) -> None:
    kind = resolve_any("kind", cache_dir() / "bin" / "tools" / "kind")
    run(f"kind export logs {dest}", [kind, "export", "logs", str(dest), "--name", NAME], log="kind-logs")


def down() -> None:
    """Delete the cluster (building nothing: any kind can delete a cluster)."""
    kind = resolve_any("kind", cache_dir() / "bin" / "tools" / "kind")
    with exclusive(kubeconfig_path(), "cluster down"), step(f"kind delete cluster {NAME}"):
        KindCluster(NAME, kubeconfig=kubeconfig_path(), kind_path=kind).delete()
