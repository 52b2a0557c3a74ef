"""The kind configuration of podlife's own cluster (written next to its kubeconfig for people to
read): three nodes, and the patches that make it podlife's: a lost node's pods evicted sooner, the
kubelet told to run on a cgroup v1 host from Kubernetes 1.35, and the offline rehearsal's mirror."""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from podlife.kube import nodes
from podlife.provision import releases, upstream
from podlife.provision.images import Toolset

POD_SUBNET = "10.244.0.0/16"


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
    if chosen := releases.gates():  # --feature-gates: kind passes them to every component
        cfg["featureGates"] = chosen
    cfg["kubeadmConfigPatches"] = [lost_node_patch(tools.node_image)]
    minor = re.search(r":v1\.(\d+)\.", tools.node_image)
    if minor and int(minor.group(1)) >= 35 and upstream.cgroup_version() == "1":
        # from 1.35 the kubelet refuses a cgroup v1 host unless told (KEP-5573); every report says so
        cfg["kubeadmConfigPatches"].append(CGROUP_V1_PATCH)
    mirror = os.environ.get("PODLIFE_REGISTRY_MIRROR")
    if mirror:  # set only by the offline rehearsal of the upstream path (podlife.provision.rehearsal)
        cfg["containerdConfigPatches"] = [MIRROR_PATCH.format(mirror=mirror)]
    return cfg


CGROUP_V1_PATCH = "kind: KubeletConfiguration\nfailCgroupV1: false\n"

LOST_NODE = (
    "podlife's own cluster evicts a lost node's pods sooner than stock Kubernetes: default tolerations "
    f"{nodes.OWN_TOLERATION_S} s (stock {nodes.STOCK_TOLERATION_S} s), a node unreachable after "
    f"{nodes.OWN_GRACE_S} s without a heartbeat (stock {nodes.STOCK_GRACE_S} s)"
)


def lost_node_patch(node_image: str) -> str:
    """How soon a lost node's pods are evicted, shortened on podlife's own cluster so that a node
    loss is measured in about two minutes (reports say so, with the stock values beside them):
    the API server's default tolerations (``not-ready``/``unreachable``, NoExecute) of
    ``nodes.OWN_TOLERATION_S`` instead of ``nodes.STOCK_TOLERATION_S``, and a node marked unreachable after
    ``nodes.OWN_GRACE_S`` without a heartbeat instead of ``nodes.STOCK_GRACE_S`` (the kubelet renews its
    lease every 10 s).  kubeadm's v1beta4 (kind renders it for Kubernetes 1.36 and later) writes
    ``extraArgs`` as a list."""
    api = {
        "default-not-ready-toleration-seconds": str(nodes.OWN_TOLERATION_S),
        "default-unreachable-toleration-seconds": str(nodes.OWN_TOLERATION_S),
    }
    manager = {"node-monitor-grace-period": f"{nodes.OWN_GRACE_S}s"}
    minor = re.search(r":v1\.(\d+)\.", node_image)
    listed = minor is not None and int(minor.group(1)) >= 36

    def extra(args: dict[str, str]) -> Any:
        return [{"name": k, "value": v} for k, v in args.items()] if listed else args

    patch = {
        "kind": "ClusterConfiguration",
        "apiServer": {"extraArgs": extra(api)},
        "controllerManager": {"extraArgs": extra(manager)},
    }
    return yaml.safe_dump(patch, sort_keys=False)


# Docker Hub's images through a mirror, in containerd 1.6's and 2.x's own config (config.toml)
MIRROR_PATCH = """[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["{mirror}"]
"""
