"""The kind cluster the scenarios run on: one control plane, two workers.

``up`` creates the cluster or reuses a healthy one (a cluster left broken, for instance
after the container engine restarted, is deleted and created again), loads the web and
PostgreSQL images, and waits, through watches, for every node to be Ready and every
kube-system pod to be Running.  The kind calls go through pytest-kind's KindCluster,
given our own kind and kubectl so nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from pytest_kind import KindCluster

from podlife.docker import DockerFailed, docker
from podlife.kube import WaitTimeout, api_client, kind, poll_until, wait_for
from podlife.paths import cache_dir
from podlife.provision import journal, releases, room, services
from podlife.provision.engine import ensure_docker
from podlife.provision.images import Toolset, prepare
from podlife.provision.kindconfig import kind_config
from podlife.provision.loading import kind_load, load_images, local_image
from podlife.provision.lock import exclusive
from podlife.provision.steps import StepFailed, output, run, say, step
from podlife.provision.tools import resolve_any

# which cluster this process works with: PODLIFE_CLUSTER, else podlife's own for the Kubernetes
# selected (podlife.provision.releases: "podlife", "podlife-1-35"); read once, as the process starts
NAME = os.environ.get("PODLIFE_CLUSTER") or (
    f"podlife{releases.suffix(releases.selected())}{releases.runtime_suffix()}{releases.gates_suffix()}"
)
READY_TIMEOUT_S = 300


def lock_key() -> str:
    """The lock of podlife's own cluster: its name, whatever the user or cache."""
    return f"kind-{NAME}"


def cluster_dir() -> Path:
    path = cache_dir() / "cluster" / NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubeconfig_path() -> Path:
    return cluster_dir() / "kubeconfig"


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
        state = docker("inspect", "-f", "{{.State.Running}} {{.Config.Image}}", node).split()
        if state[0] != "true":
            return f"node {node} is not running"
        if state[1] != tools.node_image:
            return f"node {node} runs {state[1]}, not {tools.node_image}"
        image_id = docker("inspect", "-f", "{{.Image}}", node).strip()
        if image_id != docker("image", "inspect", "-f", "{{.Id}}", tools.node_image).strip():
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


def beside() -> dict[str, int]:
    """The other kind clusters running on this machine's Docker (cluster -> node containers up),
    whoever made them: on a machine of few cores each takes CPU from the run beside it.  Only a
    word to the user: a Docker that does not answer says nothing, and a label that is no cluster
    name (anyone's container may carry one) is printed as "?", never as it is."""
    label = kind.KIND_LABEL
    try:
        listed = docker(
            "ps", "--filter", f"label={label}", "--format", f'{{{{.Label "{label}"}}}}', timeout=20
        )
    except DockerFailed:
        return {}
    names = [n if re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,62}", n) else "?" for n in listed.split()]
    return dict(sorted(Counter(n for n in names if n != NAME).items()))


def name_beside() -> None:
    """Say which kind clusters run beside this one, if any: they share the CPU of its runs."""
    if others := beside():
        running = ", ".join(f"{name} ({count} node(s))" for name, count in others.items())
        say(
            f"beside {NAME} on this machine's Docker, kind cluster(s) {running}: they share its runs' CPU "
            "(an idle one took 0.16 of 2 cores here, docs/measured.md); podlife's own go with "
            "`python -m podlife cluster down [--kubernetes 1.3x]`"
        )


def api() -> client.CoreV1Api:
    return client.CoreV1Api(api_client(kubeconfig_path()))


def wait_ready(timeout: float = READY_TIMEOUT_S) -> None:
    """Every node Ready, then every kube-system pod Running with all containers ready."""
    core = api()

    def node_ready(node: Any) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    wait_for(
        core.list_node,
        lambda found: len(found) == 3 and all(map(node_ready, found.values())),
        what="3 nodes Ready",
        timeout=timeout,
        describe=lambda found: {n: node_ready(o) for n, o in found.items()},
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


# The toolset the last ``up`` of this process used: ``cluster load`` and the run's image map ask
# for it after ``up`` returned a kubeconfig path (the command line's contract).
_TOOLS: list[Toolset] = []


def current_tools() -> Toolset:
    """The toolset the last ``up`` used (images, binaries, image map)."""
    if not _TOOLS:
        raise RuntimeError("cluster.up() has not run in this process")
    return _TOOLS[-1]


def up() -> Path:
    """Create or reuse the cluster; return the kubeconfig path.  Holds the cluster's
    lock: a suite running on it makes this fail rather than recreate it underneath."""
    with exclusive(lock_key(), "cluster up"):
        return _bring_up()


def _bring_up() -> Path:
    ensure_docker()
    journal.restore_left(say)  # what a rehearsal killed with kill -9 left on this machine's Docker
    tools = prepare()
    _TOOLS.append(tools)
    cluster = kind_cluster(tools)
    if exists(tools):
        refuse_unless_ours(node_containers(tools), "cluster up")
        start_stopped_nodes(tools)
        reason = healthy(tools)
        if reason is None:
            say(f"reusing cluster {NAME}")
        else:
            say(f"cluster {NAME} cannot be reused ({reason}): recreating it")
            with step(f"kind delete cluster {NAME}"):
                cluster.delete()
    if not exists(tools):
        create(tools, cluster)
    load_images(tools, NAME, list(tools.load))
    services.check(api().api_client, tools)
    name_beside()
    return kubeconfig_path()


def refuse_unless_ours(containers: list[str], purpose: str) -> None:
    """podlife reuses, recreates, stops or deletes only a kind cluster it created: every node
    container carries its mark for this cluster (written by :func:`create`)."""
    strangers = [n for n in containers if kind.owner(n) != NAME]
    if strangers:
        raise StepFailed(
            purpose,
            f"kind cluster {NAME} was not created by podlife (without podlife's mark: "
            f"{', '.join(strangers)}): "
            f"podlife neither reuses, recreates nor deletes it. Name another with PODLIFE_CLUSTER, or "
            f"delete it yourself if it is yours to delete: kind delete cluster --name {NAME}",
        )


def start_stopped_nodes(tools: Toolset) -> None:
    """A node left stopped (a run killed while a scenario had stopped its worker, Docker restarted)
    is started again, not the cluster rebuilt; ``healthy`` then decides whether it can be reused."""
    for node in node_containers(tools):
        running = docker("inspect", "-f", "{{.State.Running}}", node).strip()
        if running != "true":
            with step(f"start node {node} again (left stopped)"):
                docker("start", node)


def create(tools: Toolset, cluster: KindCluster) -> None:
    """A new cluster, its nodes Ready and kube-system Running."""
    if short := room.shortfall() or room.disk_shortfall():
        raise StepFailed("kind create cluster", short)
    cfg_path = cluster_dir() / "kind.yaml"
    cfg_path.write_text(yaml.safe_dump(kind_config(tools), sort_keys=False))
    logs = f"the nodes' logs: {tools.kind} export logs --name {NAME}"
    with step(f"kind create cluster {NAME} ({tools.node_image})"):
        try:
            cluster.create(config_file=cfg_path)  # pytest-kind, with our kind: nothing downloaded
        except subprocess.CalledProcessError as exc:
            raise StepFailed("kind create cluster", f"exit status {exc.returncode}; {logs}") from exc
    with step("mark the node containers as podlife's"):
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for node in node_containers(tools):
            kind.mark(node, NAME, since)
    with step("wait for nodes Ready and kube-system Running"):
        try:
            # kind's API server can drop the first connections after ``kind create`` returns (seen
            # 2026-12-07: three TLS handshakes cut short right after creation); it must answer first
            poll_until("the API server to answer", lambda: api().list_node(limit=1), timeout=READY_TIMEOUT_S)
            wait_ready()
        except WaitTimeout as exc:
            raise StepFailed("cluster readiness", f"{exc}\n  {logs}") from exc


def load(images: list[str]) -> None:
    """``python -m podlife cluster load IMAGE...``: images of this machine's Docker into the nodes."""
    missing = [i for i in images if not local_image(i)]
    if missing:
        raise StepFailed("cluster load", f"not in this machine's Docker: {', '.join(missing)}")
    with exclusive(lock_key(), "cluster load"):
        kind_load(resolve_any("kind", cache_dir() / "bin" / "tools" / "kind"), NAME, images)


def export_logs(dest: Path) -> None:
    kind = resolve_any("kind", cache_dir() / "bin" / "tools" / "kind")
    run(f"kind export logs {dest}", [kind, "export", "logs", str(dest), "--name", NAME], log="kind-logs")


def down() -> None:
    """Delete the cluster (building nothing: any kind can delete a cluster)."""
    kind = resolve_any("kind", cache_dir() / "bin" / "tools" / "kind")
    with exclusive(lock_key(), "cluster down"):
        refuse_unless_ours(output([str(kind), "get", "nodes", "--name", NAME]).split(), "cluster down")
        with step(f"kind delete cluster {NAME}"):
            KindCluster(NAME, kubeconfig=kubeconfig_path(), kind_path=kind).delete()
