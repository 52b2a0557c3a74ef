"""podlife's own kind nodes: containers on this machine's Docker that carry podlife's mark for
their kind cluster, reached through Docker (:class:`DockerNode`).

podlife marks the node containers of every cluster it creates (``podlife.provision.cluster``) and
acts through Docker only on a node that carries its mark for its own kind cluster and, where the
API names one, whose ``spec.providerID`` is that very container.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass

from podlife.docker import DockerFailed, copy_out, docker
from podlife.errors import SetupError

OWNER_FILE = "/etc/podlife/owner"
KIND_LABEL = "io.x-k8s.kind.cluster"
LOSS = "docker stop of its kind node container: its kubelet, runtime and containers with it"


def container_id(raw: str) -> str:
    """A container id as the API gives it (``containerd://<64 hex>``), bare; anything else (an
    empty, short or foreign id would select other processes of the node) is a SetupError."""
    bare = raw.split("://", 1)[-1]
    if not re.fullmatch(r"[0-9a-f]{64}", bare):
        raise SetupError(f"not a container id: {raw!r} (podlife acts only on a full 64-digit id)")
    return bare


def kind_cluster_of(node: str) -> str:
    """The kind cluster the node container belongs to, by kind's own label ('' for none)."""
    return docker("inspect", "-f", f'{{{{index .Config.Labels "{KIND_LABEL}"}}}}', node).strip()


def owner(node: str) -> str | None:
    """The cluster podlife's mark on the node container names (running or stopped), or None."""
    if (tarred := copy_out(node, OWNER_FILE)) is None:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(tarred)) as tar:
            member = tar.next()
            data = tar.extractfile(member) if member else None
            return str(json.loads(data.read())["cluster"]) if data else None
    except (tarfile.TarError, ValueError, KeyError, TypeError):
        return None


def mark(node: str, cluster: str, since: str) -> None:
    """Mark a node container as one of the cluster podlife created (no shell: the note is the
    standard input of ``tee``, whatever the cluster's name holds)."""
    note = json.dumps({"cluster": cluster, "created_by": "podlife", "since": since})
    docker("exec", node, "mkdir", "-p", OWNER_FILE.rsplit("/", 1)[0])
    docker("exec", "-i", node, "tee", OWNER_FILE, stdin=note)


def own(node: str, provider_id: str | None = None) -> str:
    """The kind cluster of ``node`` when it is a container on this machine's Docker, of a kind
    cluster podlife created, and (given the API's ``spec.providerID``) the very node the API
    means: else a SetupError."""
    try:
        cluster = kind_cluster_of(node)
    except (DockerFailed, OSError) as exc:
        raise SetupError(
            f"this scenario acts on the node {node} through Docker (kind clusters only): {exc}"
        ) from exc
    marked = owner(node)
    if not cluster or marked != cluster:
        raise SetupError(
            f"node {node} is not a node of a kind cluster podlife created (its container carries no "
            f"podlife mark for {cluster or 'any kind cluster'}): podlife acts below the API only on its own"
        )
    if provider_id is not None and provider_id != f"kind://docker/{cluster}/{node}":
        raise SetupError(
            f"node {node}: the API's providerID is {provider_id!r}, not kind://docker/{cluster}/{node}: "
            "the node the API means is not this machine's container of that name"
        )
    return cluster


@dataclass(frozen=True)
class DockerNode:
    """A node of podlife's own kind cluster, acted on through this machine's Docker."""

    node: str

    def container_ids(self) -> set[str]:
        listing = json.loads(docker("exec", self.node, "crictl", "ps", "-o", "json"))
        return {c["id"] for c in listing.get("containers", [])}

    def kill_container(self, raw_id: str) -> int:
        info = json.loads(docker("exec", self.node, "crictl", "inspect", container_id(raw_id)))
        pid = int(info["info"]["pid"])
        docker("exec", self.node, "kill", "-KILL", str(pid))
        return pid

    def kernel_log(self) -> str:
        return docker("exec", self.node, "dmesg")

    def may_stop(self) -> None:
        """podlife's own node: its to stop (checked again, by identity, as it goes)."""

    def stop(self, provider_id: str | None, back_within_s: int) -> str:
        own(self.node, provider_id)  # the very node the API means, checked again before it goes
        docker("stop", "--time", "10", self.node, timeout=120)
        return LOSS

    def start(self) -> None:
        docker("start", self.node, timeout=120)
