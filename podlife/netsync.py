"""Credentials for podlife-netsync, the pod-network loop inside each air-gapped node.

The loop must list every node (for the other nodes' podCIDRs and addresses), which a
node's own credentials may not do.  ``install`` creates a service account allowed to
list nodes, waits for its token, and writes a kubeconfig with it into every node.
"""

from __future__ import annotations

import base64
import subprocess
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podlife.steps import StepFailed, output
from podlife.watch import wait_for

NAMESPACE = "kube-system"
NAME = "podlife-netsync"
PATH_IN_NODE = "/etc/podlife/netsync.kubeconfig"


def create_if_missing(create: Any, *args: Any) -> None:
    try:
        create(*args)
    except ApiException as exc:
        if exc.status != 409:  # 409: it is there already
            raise


def install(api: client.ApiClient, kind: str, cluster: str, nodes: list[str]) -> None:
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    meta = client.V1ObjectMeta(name=NAME, namespace=NAMESPACE)
    create_if_missing(
        core.create_namespaced_service_account, NAMESPACE, client.V1ServiceAccount(metadata=meta)
    )
    create_if_missing(
        rbac.create_cluster_role,
        client.V1ClusterRole(
            metadata=client.V1ObjectMeta(name=NAME),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["nodes"], verbs=["get", "list", "watch"])],
        ),
    )
    create_if_missing(
        rbac.create_cluster_role_binding,
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=NAME),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=NAME),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=NAME, namespace=NAMESPACE)],
        ),
    )
    create_if_missing(
        core.create_namespaced_secret,
        NAMESPACE,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=NAME, annotations={"kubernetes.io/service-account.name": NAME}),
            type="kubernetes.io/service-account-token",
        ),
    )
    encoded = wait_for(
        core.list_namespaced_secret,
        lambda s: NAME in s and (s[NAME].data or {}).get("token"),
        what=f"the token of service account {NAME}",
        timeout=60,
        namespace=NAMESPACE,
        field_selector=f"metadata.name={NAME}",
    )
    token = base64.b64decode(encoded).decode()
    internal = yaml.safe_load(output([kind, "get", "kubeconfig", "--internal", "--name", cluster]))
    internal["users"] = [{"name": NAME, "user": {"token": token}}]
    for ctx in internal["contexts"]:
        ctx["context"]["user"] = NAME
    text = yaml.safe_dump(internal).encode()
    for node in nodes:
        proc = subprocess.run(
            [
                "docker",
                "exec",
                "-i",
                node,
                "sh",
                "-c",
                f"mkdir -p /etc/podlife && umask 077 && cat > {PATH_IN_NODE}.tmp"
                f" && mv {PATH_IN_NODE}.tmp {PATH_IN_NODE}",
            ],
            input=text,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise StepFailed(
                "netsync credentials", f"cannot write {PATH_IN_NODE} into {node}: {proc.stderr!r}"
            )
