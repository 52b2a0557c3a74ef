"""Below the API on any cluster: a privileged agent pod on the node, as LitmusChaos's helper pods
and Chaos Mesh's chaos-daemon reach a node.

The agent is podlife's probe image (plain Python) in a pod pinned to the node (``nodeName``), with
the host's PID namespace and ``privileged``: it sees the node's processes and their cgroups in
``/proc`` and the kernel's log in ``/dev/kmsg``.  Each action is a short Python program run in it
through the API server's exec (:mod:`podlife.kube.api.execs`), so it needs nothing of the node but a
kubelet, and works wherever privileged pods are allowed.  Its pods live in a namespace of their own,
labelled as every podlife namespace is (an interrupted run's clean-up and the next run's collection
find it), and go when the run ends.

A node loss stops the node's kubelet (``systemctl stop kubelet`` in the mount namespace of the
node's PID 1), and an exec needs that kubelet.  So the agent's main process is a small HTTP
server (``onnode serve``) reached through the API server's pod proxy, which goes from the API server
to the pod's IP and not through the kubelet: ``stop`` first arms a dead-man's switch on the node
itself (a systemd timer that starts the kubelet again after the given seconds whatever becomes of
podlife, its agent pod or this machine), then stops the kubelet; ``start`` starts it and disarms
the switch.  The node's containers go on running meanwhile: the node is lost to the API, not
powered off (kind's ``docker stop`` takes them with it).

:mod:`podlife.kube.node.nodes` uses it for a node it cannot reach through Docker (any cluster but
podlife's own kind cluster).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from typing import Any

from kubernetes import client

from podlife.errors import SetupError
from podlife.kube import helpers
from podlife.kube.api import leftovers, owned
from podlife.kube.api.execs import run_in
from podlife.kube.api.watch import wait_for
from podlife.kube.helpers import onnode
from podlife.kube.helpers.onnode import TOKEN_ENV

READY_S = 120
PORT = 8099  # the agent's server, in its pod's network namespace
PRIVILEGED_NAMESPACE = "pod-security.kubernetes.io/enforce"  # its namespace admits privileged pods
HEARTBEAT_S = 60  # an agent that hears nothing of its run this long restores its node and exits
PING_S = 10  # how often the run tells its agents it is there
DEADLINE_S = 4 * 3600  # no agent pod runs longer than this, whatever happens (activeDeadlineSeconds)


class Agent:
    """Agent pods, one per node, created on first use."""

    def __init__(self, api: client.ApiClient, image: str, run: str) -> None:
        self.api, self.image, self.run = api, image, run
        self.namespace = f"podlife-agent-{secrets.token_hex(3)}"
        self.token = secrets.token_urlsafe(24)  # what the agents answer to: this run, and no one else
        self.pods: dict[str, str] = {}
        self.created = False
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.pinger: threading.Thread | None = None

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def python(self, node: str, action: str, *args: str, timeout: float = 60) -> str:
        """Run ``action`` of :mod:`podlife.kube.helpers.onnode` on the node; its standard output,
        or a SetupError."""
        pod = self.pod(node)
        argv = helpers.command(onnode, action, *args)
        ran = run_in(self.api, self.namespace, pod, "agent", argv, timeout=timeout)
        if ran.code != 0:
            raise SetupError(f"the agent on {node} failed (exit {ran.code}): {ran.err.strip()[-300:]}")
        return ran.out

    def pod(self, node: str) -> str:
        with self.lock:
            if node not in self.pods:
                self.pods[node] = self._start(node)
            return self.pods[node]

    def _start(self, node: str) -> str:
        core = self.core
        if not self.created:
            labels = {**leftovers.labels(self.run), PRIVILEGED_NAMESPACE: "privileged"}
            owned.create(self.api, self.namespace, labels)
            self.created = True  # from here on, close() deletes it, whatever becomes of its pods
        name = f"agent-{len(self.pods)}"
        try:
            core.create_namespaced_pod(self.namespace, manifest(name, node, self.image, self.token))
        except client.ApiException as exc:
            raise SetupError(
                f"no agent on {node}: the cluster refused its privileged pod ({exc.reason})"
            ) from exc
        wait_for(
            core.list_namespaced_pod,
            lambda pods: (p := pods.get(name)) is not None and ready(p),
            what=f"podlife's agent on {node} to be ready",
            timeout=READY_S,
            describe=lambda pods: {n: p.status.phase for n, p in pods.items()},
            namespace=self.namespace,
        )
        if self.pinger is None:
            self.pinger = threading.Thread(target=self.ping, daemon=True, name="podlife-agent-ping")
            self.pinger.start()
        return name

    def ping(self) -> None:
        """Tell every agent this run is there, every PING_S, until the run closes (an agent that
        hears nothing for HEARTBEAT_S restores its node and exits)."""
        while not self.closed.wait(PING_S):
            for node, pod in list(self.pods.items()):
                # one missed ping (refused, timed out, a connection dropped): the next one comes; the
                # thread must outlive any of them, or the agents would end in the middle of the run
                with contextlib.suppress(Exception):
                    ask(self.core, self.namespace, pod, f"{self.token}/alive", node, timeout=PING_S)

    def close(self) -> None:
        """Its namespace deleted (its pods with it), without waiting, whenever it was created."""
        self.closed.set()
        if self.created:
            try:
                self.core.delete_namespace(self.namespace, grace_period_seconds=0)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
            self.created = False
            self.pods.clear()

    # --- what podlife.kube.node.nodes asks of a node ---
    def kill_container(self, node: str, container_id: str) -> int:
        return int(self.python(node, "kill", container_id.split("://", 1)[-1]).strip())

    def container_ids(self, node: str) -> set[str]:
        return set(json.loads(self.python(node, "ids")))

    def kernel_log(self, node: str) -> str:
        return self.python(node, "kmsg")

    def stop_kubelet(self, node: str, back_within_s: int) -> dict[str, Any]:
        """The node's kubelet stopped, a switch on the node armed to start it again after
        ``back_within_s`` whatever happens; first the way back (the pod proxy) is tried."""
        pod = self.pod(node)
        said = self.ask(node, pod, "kubelet")
        if said.get("kubelet") != "active":
            raise SetupError(f"no node loss on {node}: its kubelet.service is not active ({said})")
        return self.ask(node, pod, f"stop/{int(back_within_s)}")

    def start_kubelet(self, node: str) -> dict[str, Any]:
        return self.ask(node, self.pod(node), "start")

    def ask(self, node: str, pod: str, path: str) -> dict[str, Any]:
        return ask(self.core, self.namespace, pod, f"{self.token}/{path}", node)


def ask(
    core: client.CoreV1Api, namespace: str, pod: str, path: str, node: str = "", timeout: float = 90
) -> dict[str, Any]:
    """The agent's answer to GET /``path`` (its run's secret first), through the API server's pod
    proxy; a SetupError when it cannot be reached or says it failed."""
    try:
        text = core.connect_get_namespaced_pod_proxy_with_path(
            f"{pod}:{PORT}", namespace, path, _request_timeout=timeout, _preload_content=False
        ).data.decode(errors="replace")
    except client.ApiException as exc:
        body = (exc.body or "")[-300:] if isinstance(exc.body, str) else ""
        raise SetupError(
            f"podlife's agent on {node or pod} not reached through the API server's pod proxy "
            f"(GET {path.split('/', 1)[-1]}: {exc.status} {exc.reason} {body})"  # never the secret
        ) from exc
    try:
        said = json.loads(text)
    except ValueError as exc:
        asked = path.split("/", 1)[-1]  # never the secret
        raise SetupError(f"podlife's agent on {node or pod} answered {text!r} to {asked}") from exc
    if "error" in said:
        raise SetupError(f"podlife's agent on {node or pod}: {said['error']}")
    return said


def restore(api: client.ApiClient, run: str) -> list[str]:
    """After an interrupted run: every kubelet this run's agents stopped started again (an agent
    that stopped none answers and does nothing); the nodes whose agent could not be asked.  The
    secret each answers to is in its pod's spec (the run's workers made them)."""
    core = client.CoreV1Api(api)
    missed = []
    selector = f"{leftovers.RUN_LABEL}={run}"
    for ns in core.list_namespace(label_selector=selector).items:
        for pod in core.list_namespaced_pod(ns.metadata.name, label_selector=f"app={APP}").items:
            token = next(
                (e.value for c in pod.spec.containers for e in c.env or [] if e.name == TOKEN_ENV), ""
            )
            try:
                ask(core, ns.metadata.name, pod.metadata.name, f"{token}/restore", pod.spec.node_name)
            except SetupError:
                missed.append(pod.spec.node_name)
    return missed


def ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


APP = "podlife-agent"


def manifest(name: str, node: str, image: str, token: str) -> dict[str, Any]:
    """The agent's pod: on ``node`` whatever its taints, the host's PIDs, privileged, serving
    ``onnode serve`` to its run alone (ready once it listens), for DEADLINE_S at most."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": APP}},
        "spec": {
            "nodeName": node,
            "hostPID": True,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": DEADLINE_S,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "agent",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": helpers.command(onnode, "serve", str(PORT), str(HEARTBEAT_S)),
                    "env": [{"name": TOKEN_ENV, "value": token}],
                    "ports": [{"containerPort": PORT, "name": "agent"}],
                    "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 1},
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }
