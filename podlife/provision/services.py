"""What ``cluster up`` checks and arranges inside the cluster: node-local storage, the cluster
services kept on the control plane (a stopped worker takes nothing from the others), and cluster
DNS resolved from a pod."""

from __future__ import annotations

import secrets

from kubernetes import client

from podlife.kube import WaitTimeout, poll_until, storage, wait_for
from podlife.provision.images import Toolset
from podlife.provision.steps import StepFailed, say, step


def check(api_client: client.ApiClient, tools: Toolset) -> None:
    storage_class = storage.node_local_class(api_client)
    if storage_class is None:
        raise StepFailed(
            "node-local storage",
            f"the node image {tools.node_image} installed no rancher.io/local-path class",
        )
    say(f"node-local volumes: StorageClass {storage_class}")
    with step("cluster services (DNS, volume provisioner) on the control plane"):
        services_on_control_plane(api_client)
    with step("cluster DNS: resolve kubernetes.default from a pod"):
        try:  # a worker just started again needs a few seconds before its pods reach the network
            address = poll_until(
                "kubernetes.default to resolve from a pod",
                lambda: resolve_from_a_pod(api_client, tools.probe_image),
                timeout=DNS_S,
            )
        except WaitTimeout as exc:
            raise StepFailed("cluster DNS", str(exc)) from exc
        say(f"kubernetes.default.svc.cluster.local is {address}")


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


DNS_S = 150  # each try is a pod of its own (at most 120 s); tried again while it fails
DNS_PROBE = "import socket; print(socket.gethostbyname('kubernetes.default.svc.cluster.local'))"


def resolve_from_a_pod(api_client: client.ApiClient, image: str, timeout: float = 120) -> str:
    """Run a pod (podlife's probe image: plain Python) that resolves the API's Service name
    through CoreDNS and the pod network; return the address it printed."""
    core = client.CoreV1Api(api_client)
    name = f"podlife-dns-{secrets.token_hex(4)}"
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
