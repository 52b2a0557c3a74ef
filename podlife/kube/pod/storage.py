"""Node-local volumes: the cluster's StorageClass whose volumes live on one node.

The storage claims are about data that lives on a node.  kind's node images ship rancher's
local-path-provisioner as the default class ``standard`` (provisioner ``rancher.io/local-path``):
upstream kind's own images, and podlife's air-gapped node image alike (its
``/kind/manifests/default-storage.yaml``, built from the provisioner's Go module).  A cluster
without such a class cannot run those scenarios: that is a set-up error, never a verdict.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from podlife.kube.api.watch import wait_for

NODE_LOCAL_PROVISIONERS = ("rancher.io/local-path",)
DEFAULT_MARK = "storageclass.kubernetes.io/is-default-class"
READY_TIMEOUT_S = 180


def node_local_class(api: client.ApiClient) -> str | None:
    """The StorageClass whose volumes live on one node (the default one first), if any."""
    classes = client.StorageV1Api(api).list_storage_class().items
    local = [c for c in classes if c.provisioner in NODE_LOCAL_PROVISIONERS]
    local.sort(key=lambda c: (c.metadata.annotations or {}).get(DEFAULT_MARK) != "true")
    return local[0].metadata.name if local else None


def wait_available(
    api: client.ApiClient, namespace: str, name: str, timeout: float = READY_TIMEOUT_S
) -> None:
    """The deployment rolled out: every replica updated and available, no old one left."""
    apps = client.AppsV1Api(api)

    def rolled_out(objects: dict[str, Any]) -> bool:
        d = objects.get(name)
        if d is None or (d.status.observed_generation or 0) < d.metadata.generation:
            return False
        s = d.status
        want = d.spec.replicas or 0
        return (s.updated_replicas or 0) == (s.available_replicas or 0) == (s.replicas or 0) == want

    wait_for(
        apps.list_namespaced_deployment,
        rolled_out,
        what=f"deployment {namespace}/{name} rolled out and available",
        timeout=timeout,
        describe=lambda objs: {n: o.status.to_dict() for n, o in objs.items()},
        namespace=namespace,
    )
