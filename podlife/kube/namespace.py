"""What a measurement works with on Kubernetes (``m.kube``): a namespace of its own, a recorded
pod watch, probes, a request loop, and a way to reach pods over HTTP.

A :class:`Namespace` is opened per test by the framework.  Its watcher is started before
anything is applied, so its history is the scenario's timeline; every wait is a predicate
over the watched pods (with an early stop when the awaited state has become impossible).
"""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from podlife.errors import SetupError
from podlife.kube.api import leftovers, owned
from podlife.kube.api.cluster import Cluster
from podlife.kube.api.reach import PodEndpoint
from podlife.kube.api.wait import Impossible, WaitImpossible, WaitTimeout
from podlife.kube.api.watch import Watcher, wait_for
from podlife.kube.pod import endpoints, pods, timeline
from podlife.kube.pod.probe import Jobs, ProbeRun, Probes
from podlife.kube.pod.traffic import RequestLoop

START_TIMEOUT_S = 180
SERVICE_NAME = "kubernetes.io/service-name"  # the label an EndpointSlice names its Service by
TEARDOWN_GRACE_S = 1  # a scenario's pods get this long to stop once its verdict is in


@dataclass
class Namespace:
    """A scenario's own namespace, its recorded pod watch, and everything the scenario does in it."""

    cluster: Cluster
    name: str
    namespace: str = ""
    watcher: Watcher | None = None
    slices: Watcher | None = None  # the namespace's EndpointSlices: when a pod's endpoint went off
    actions: list[timeline.Entry] = field(default_factory=list)
    node: str | None = None  # the worker every pod of the scenario is pinned to, if it holds one
    prefer: str | None = None  # the worker its pods should go to first (one it may stop)

    def __post_init__(self) -> None:
        self.namespace = f"podlife-{self.name}"[:56] + f"-{secrets.token_hex(3)}"
        self.probes = Probes(self.cluster.api, self.namespace, self.cluster.probe_image, self.wait)

    # --- opened and closed by the framework ---
    def open(self) -> None:
        owned.create(self.cluster.api, self.namespace, leftovers.labels(self.cluster.run))
        self.watcher = Watcher(self.cluster.core.list_namespaced_pod, namespace=self.namespace).start()
        discovery = client.DiscoveryV1Api(self.cluster.api)
        self.slices = Watcher(discovery.list_namespaced_endpoint_slice, namespace=self.namespace).start()

    def close(self, delete: bool) -> None:
        """End the scenario: its namespace is deleted (its workloads with it, so no controller
        replaces a deleted pod) and its pods are awaited gone, unless it is kept for a look.
        The measurement is over, so its pods get TEARDOWN_GRACE_S to stop rather than their own
        grace period (up to 30 s that the scenario's share of the cluster would stay held)."""
        try:
            if delete:
                try:
                    self.cluster.core.delete_namespace(self.namespace, propagation_policy="Foreground")
                    self.cluster.core.delete_collection_namespaced_pod(
                        self.namespace, grace_period_seconds=TEARDOWN_GRACE_S
                    )
                except client.ApiException as exc:
                    if exc.status != 404:  # gone already: an interrupted run's clean-up was first
                        raise
                self.wait(lambda objects: not objects, what="the scenario's pods to be gone", timeout=300)
        finally:
            for watcher in (self.watcher, self.slices):
                if watcher:
                    watcher.stop()

    # --- applying and waiting ---
    def apply(self, docs: list[dict[str, Any]]) -> None:
        pods.apply(self.cluster.api, self.namespace, docs)

    def wait(self, predicate: Any, *, what: str, timeout: float) -> Any:
        assert self.watcher
        return self.watcher.wait(predicate, what=what, timeout=timeout, describe=pods.describe)

    def settle(
        self, docs: list[dict[str, Any]], *, timeout: float = START_TIMEOUT_S
    ) -> tuple[Any, str | None]:
        """Apply a manifest of one pod; return (pod, None) once every container is ready, or
        (pod, why) as soon as a container fails on the way.  An image the cluster cannot get
        is a set-up error, never a verdict."""
        name = pods.pod_doc(docs)["metadata"]["name"]
        self.apply(docs)
        self.act(f"applied pod {name}")
        return self.settled(name, timeout=timeout)

    def settled(self, name: str, *, timeout: float = START_TIMEOUT_S) -> tuple[Any, str | None]:
        """Wait for an applied pod: (pod, None) once ready, (pod, why) once it cannot be."""

        def settled(objects: dict[str, Any]) -> tuple[Any, str | None] | None:
            pod = objects.get(name)
            if pod is None:
                return None
            if trouble := pods.image_trouble(pod):
                raise SetupError(f"pod {name} cannot get its image ({trouble}); was the image loaded?")
            if pods.all_ready(pod):
                return pod, None
            if why := pods.terminated_badly(pod):
                return pod, why
            return None

        return self.wait(settled, what=f"pod {name} to have every container ready", timeout=timeout)

    def start(self, docs: list[dict[str, Any]], *, timeout: float = START_TIMEOUT_S) -> Any:
        """Apply a manifest of one pod and return it ready; a pod that cannot get ready is a
        set-up error (the claim is about what happens to a running pod)."""
        pod, why = self.settle(docs, timeout=timeout)
        if why:
            raise SetupError(f"pod {pod.metadata.name} never became ready: {why}")
        return pod

    def start_all(self, docs: list[dict[str, Any]], *, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        """Apply a manifest of several objects; return the pods once all expected pods (bare
        pods plus workload replicas) have every container ready."""
        expected = pods.expected_pods(docs)
        self.apply(docs)
        self.act(f"applied {len(docs)} object(s), expecting {expected} pod(s)")

        def settled(objects: dict[str, Any]) -> dict[str, Any] | None:
            live = {n: p for n, p in objects.items() if not p.metadata.deletion_timestamp}
            for pod in live.values():
                if trouble := pods.image_trouble(pod):
                    raise SetupError(f"pod {pod.metadata.name} cannot get its image ({trouble})")
                if why := pods.ended_for_good(pod):
                    raise Impossible(f"pod {pod.metadata.name} cannot start: {why}")
            if len(live) == expected and all(pods.all_ready(p) for p in live.values()):
                return dict(live)
            return None

        try:
            return self.wait(settled, what=f"{expected} pod(s) with every container ready", timeout=timeout)
        except (WaitImpossible, WaitTimeout) as exc:
            raise SetupError(str(exc)) from exc

    def observe(self, seconds: float, *, until: Any = None, what: str = "") -> Any:
        """Watch for ``seconds`` (ending early if ``until(objects)`` holds); return its value or
        None.  Checks then read what the watch recorded (see :mod:`podlife.kube.pod.timeline`)."""
        try:
            return self.wait(
                until or (lambda _: None), what=what or f"{seconds:.0f}s of watching", timeout=seconds
            )
        except WaitTimeout:
            return None

    def server_version(self) -> tuple[int, int]:
        """The API server's Kubernetes version (major, minor)."""
        info = client.VersionApi(self.cluster.api).get_code()
        return int(info.major), int("".join(ch for ch in info.minor if ch.isdigit()))

    def resize(self, name: str, container: str, resources: dict[str, Any]) -> None:
        """Patch the pod's ``resize`` subresource: the container's new requests and limits."""
        body = {"spec": {"containers": [{"name": container, "resources": resources}]}}
        self.cluster.core.patch_namespaced_pod_resize(name, self.namespace, body)

    def service_ready(self, service: str, *, ready: bool, timeout: float = 60) -> datetime:
        """When the Service's EndpointSlices (watched) first show an endpoint ready (``ready``) or
        none ready (not ``ready``); the moment is also on the timeline."""
        assert self.slices

        def reached(slices: dict[str, Any]) -> bool:
            mine = [s for s in slices.values() if (s.metadata.labels or {}).get(SERVICE_NAME) == service]
            flags = [bool(e.conditions and e.conditions.ready) for s in mine for e in s.endpoints or []]
            return any(flags) if ready else bool(mine) and not any(flags)

        state = "a ready endpoint" if ready else "no ready endpoint"
        self.slices.wait(reached, what=f"Service {service} with {state}", timeout=timeout)
        return self.act(f"Service {service}: {'an endpoint ready' if ready else 'no endpoint ready'}")

    def gone(self, name: str, *, timeout: float = 180) -> None:
        self.wait(lambda objects: name not in objects, what=f"pod {name} to be deleted", timeout=timeout)

    def delete_pod(self, name: str, *, wait: bool = True) -> None:
        self.act(f"delete pod {name}")
        self.cluster.core.delete_namespaced_pod(name, self.namespace)
        if wait:
            self.gone(name)

    # --- looking and reaching ---
    def pod(self, name: str) -> Any:
        assert self.watcher
        return self.watcher.objects.get(name)

    def history(self, name: str, uid: str | None = None) -> timeline.History:
        """Every state the watch saw of the pod ``name`` (of any uid, or of ``uid`` only), with when
        it saw it."""
        assert self.watcher
        return [
            (e.at, e.obj)
            for e in list(self.watcher.events)
            if e.obj.metadata.name == name and e.type != "DELETED" and uid in (None, e.obj.metadata.uid)
        ]

    def act(self, text: str) -> datetime:
        """Mark what the scenario does now on its timeline; return the moment."""
        now = datetime.now(UTC)
        self.actions.append(timeline.Entry(now, "podlife", text))
        return now

    def timeline(self) -> str:
        if self.watcher is None:
            return "(the scenario never opened its watch)"
        try:
            events = self.events()
        except client.ApiException:
            events = []
        return timeline.render(
            [
                *timeline.pod_entries(list(self.watcher.events)),
                *endpoints.entries(list(self.slices.events) if self.slices else []),
                *timeline.event_entries(events),
                *self.actions,
            ]
        )

    def events(self) -> list[Any]:
        """The namespace's events: the kubelet's (Killing, Started, Unhealthy …) and the controllers'."""
        return self.cluster.core.list_namespaced_event(self.namespace).items

    def said(self, reason: str) -> list[str]:
        """The namespace's events of ``reason`` (the kubelet's Unhealthy: a probe failed or timed out)."""
        mine = [e for e in self.events() if e.reason == reason]
        return [f"{e.involved_object.name}: {e.message} (x{e.count or 1})" for e in mine]

    def leavings(self, loop: RequestLoop, select: Any = lambda pod: True) -> list[endpoints.Leaving]:
        """Each pod deleted while ``loop`` ran: its way out of the Service (:mod:`.pod.endpoints`)."""
        assert self.watcher
        slices = list(self.slices.events) if self.slices else []
        mine = lambda pod: (pod.metadata.labels or {}).get("podlife") != "traffic" and select(pod)  # noqa: E731
        return endpoints.leavings(list(self.watcher.events), slices, loop.samples, loop.zero, mine)

    def probe(
        self, pod: str, target: str | None, jobs: Jobs, *, timeout: float = 120
    ) -> dict[str, dict[str, Any]]:
        """Run probe jobs in an ephemeral container of ``pod`` targeting ``target``; their results."""
        return self.probes.run(pod, target, jobs, timeout)

    def probe_start(self, pod: str, target: str | None, jobs: Jobs) -> ProbeRun:
        return self.probes.start(pod, target, jobs)

    def endpoint(self, target: str, port: int) -> PodEndpoint:
        """HTTP to ``pod/NAME`` or ``svc/NAME`` on ``port``, through the API server's port-forward."""
        return PodEndpoint(self.cluster.api, self.namespace, target, port)

    def request_loop(self, url: str, *, max_seconds: float = 300, body: str | None = None) -> RequestLoop:
        """Requests to ``url`` from a pod in the namespace: GETs, or POSTs of ``body`` (a form)."""
        return RequestLoop(
            self.cluster.api,
            self.namespace,
            self.cluster.probe_image,
            url,
            self.wait,
            self.node,
            max_seconds=max_seconds,
            body=body,
        )

    def kubectl(self, *args: str) -> str:
        """kubectl against the cluster, in the scenario's namespace: for what a person sees."""
        argv = [
            str(self.cluster.kubectl),
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "-n",
            self.namespace,
            *args,
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise SetupError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def logs(self, pod: str, container: str, *, previous: bool = False) -> str:
        return self.cluster.core.read_namespaced_pod_log(
            pod, self.namespace, container=container, previous=previous, timestamps=True
        )

    def node_ready(self, node: str, *, ready: bool, timeout: float) -> float:
        """Seconds until the node's Ready condition is ``ready``, seen through a node watch."""
        began = time.monotonic()

        def reached(objects: dict[str, Any]) -> bool:
            conds = (
                {c.type: c.status for c in objects[node].status.conditions or []} if node in objects else {}
            )
            return conds.get("Ready") == "True" if ready else conds.get("Ready") in ("False", "Unknown")

        wait_for(self.cluster.core.list_node, reached, what=f"node {node} Ready={ready}", timeout=timeout)
        return round(time.monotonic() - began, 1)
