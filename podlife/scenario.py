"""What a scenario works with: a namespace of its own, a pod watch, a way to reach pods.

A :class:`Scenario` is made per test by the pytest plugin.  Its watcher is started
before anything is applied, so ``scn.timeline`` holds every status transition with the
time it was seen; waits are predicates over the watched pods.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from podlife import pods
from podlife.claims import Result
from podlife.reach import PodEndpoint
from podlife.watch import Watcher, watching


class SetupError(RuntimeError):
    """The scenario could not run as intended (image missing, API refused): no verdict."""


@dataclass
class Cluster:
    """The cluster under test, however it was reached."""

    kubeconfig: Path
    api: client.ApiClient
    kubectl: Path | str
    image_map: dict[str, str]
    description: str

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)


@dataclass
class Scenario:
    cluster: Cluster
    claim_id: str
    namespace: str = ""
    watcher: Watcher | None = None
    endpoints: list[PodEndpoint] = field(default_factory=list)
    results: list[tuple[Result, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.namespace = f"podlife-{self.claim_id}-{secrets.token_hex(3)}"[:63]

    # --- set-up and tear-down (called by the plugin) ---
    def open(self) -> None:
        self.cluster.core.create_namespace(
            client.V1Namespace(
                metadata=client.V1ObjectMeta(name=self.namespace, labels={"podlife": "scenario"})
            )
        )
        self.watcher = Watcher(self.cluster.core.list_namespaced_pod, namespace=self.namespace).start()

    def close(self, delete: bool) -> None:
        for endpoint in self.endpoints:
            endpoint.close()
        if delete:
            # Free what is cluster-wide or per node before the next scenario starts: NodePorts at
            # once, and the pods (their hostPorts, CPU requests) are awaited through the watch.
            for svc in self.cluster.core.list_namespaced_service(self.namespace).items:
                if svc.spec.type == "NodePort":
                    self.cluster.core.delete_namespaced_service(svc.metadata.name, self.namespace)
            # deleting the namespace takes the workloads with it (their controllers would
            # replace deleted pods); its pods are awaited through the watch, still running
            self.cluster.core.delete_namespace(self.namespace, propagation_policy="Foreground")
            self.wait(lambda objects: not objects, what="the scenario's pods to be gone", timeout=180)
        if self.watcher:
            self.watcher.stop()

    # --- what scenarios use ---
    def load(self, manifest: Path) -> list[dict[str, Any]]:
        return pods.load(manifest, self.cluster.image_map)

    def apply(self, docs: list[dict[str, Any]]) -> None:
        pods.apply(self.cluster.api, self.namespace, docs)

    def start(self, docs: list[dict[str, Any]], *, timeout: float = 120) -> tuple[Any, str | None]:
        """Apply the manifest; return (pod, None) once every container is ready, or
        (pod, why) as soon as a container fails on the way.  An image the cluster cannot
        get is a set-up error, never a verdict."""
        name = pods.pod_doc(docs)["metadata"]["name"]
        self.apply(docs)

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

    def start_all(self, docs: list[dict[str, Any]], *, timeout: float = 180) -> dict[str, Any]:
        """Apply a manifest of several objects; return the pods once all expected pods
        (bare pods plus workload replicas) have every container ready."""
        expected = pods.expected_pods(docs)
        self.apply(docs)

        def settled(objects: dict[str, Any]) -> dict[str, Any] | None:
            live = {n: p for n, p in objects.items() if not p.metadata.deletion_timestamp}
            for pod in live.values():
                if trouble := pods.image_trouble(pod):
                    raise SetupError(f"pod {pod.metadata.name} cannot get its image ({trouble})")
                if why := pods.terminated_badly(pod):
                    raise AssertionError(f"pod {pod.metadata.name} failed while starting: {why}")
            if len(live) == expected and all(pods.all_ready(p) for p in live.values()):
                return dict(live)
            return None

        return self.wait(settled, what=f"{expected} pod(s) with every container ready", timeout=timeout)

    def quiet(self, name: str, *, keep: list[str], seconds: float) -> list[str]:
        """Watch the pod for ``seconds``; return the changes seen to containers other than
        ``keep`` (restarts, new container ids, a new pod).  Chaos scenarios call this to
        prove that exactly the intended container changed."""
        pod = self.pod(name)
        base = {c: (s.container_id, s.restart_count) for c, s in pods.statuses(pod).items() if c not in keep}
        uid = pod.metadata.uid

        def changed(objects: dict[str, Any]) -> list[str] | None:
            now = objects.get(name)
            if now is None or now.metadata.uid != uid:
                return [f"pod {name} was replaced"]
            seen = {c: (s.container_id, s.restart_count) for c, s in pods.statuses(now).items() if c in base}
            diff = [f"{c}: {base[c]} -> {seen.get(c)}" for c in base if seen.get(c) != base[c]]
            return diff or None

        try:
            return self.wait(changed, what=f"no change to {sorted(base)} for {seconds:.0f}s", timeout=seconds)
        except TimeoutError:
            return []

    def node_port_free(self, port: int, *, timeout: float = 120) -> None:
        """Wait until no Service in the cluster holds this NodePort (one of a failed or
        still-deleting scenario, say) before a scenario creates its own."""
        with watching(self.cluster.core.list_service_for_all_namespaces) as services:
            services.wait(
                lambda objs: not any(p.node_port == port for s in objs.values() for p in s.spec.ports or []),
                what=f"NodePort {port} to be free",
                timeout=timeout,
            )

    def gone(self, name: str, *, timeout: float = 120) -> None:
        self.wait(lambda objects: name not in objects, what=f"pod {name} to be deleted", timeout=timeout)

    def pod(self, name: str) -> Any:
        assert self.watcher
        return self.watcher.objects.get(name)

    def wait(self, predicate: Any, *, what: str, timeout: float) -> Any:
        assert self.watcher
        return self.watcher.wait(predicate, what=what, timeout=timeout, describe=pods.describe)

    def endpoint(self, pod: str, port: int) -> PodEndpoint:
        ep = PodEndpoint(self.cluster.kubectl, self.cluster.kubeconfig, self.namespace, pod, port)
        self.endpoints.append(ep)
        return ep

    def delete_pod(self, name: str) -> None:
        self.cluster.core.delete_namespaced_pod(name, self.namespace)

    def kubectl(self, *args: str) -> str:
        """kubectl against the cluster, in the scenario's namespace: for what a person sees."""
        proc = subprocess.run(
            [
                str(self.cluster.kubectl),
                "--kubeconfig",
                str(self.cluster.kubeconfig),
                "-n",
                self.namespace,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise SetupError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def logs(self, pod: str, container: str, *, previous: bool = False) -> str:
        return self.cluster.core.read_namespaced_pod_log(
            pod, self.namespace, container=container, previous=previous, timestamps=True
        )

    def history(self, name: str) -> list[tuple[datetime, str, Any]]:
        """Every event seen for the pod ``name``: (time received, type, pod)."""
        assert self.watcher
        return [(e.at, e.type, e.obj) for e in list(self.watcher.events) if e.obj.metadata.name == name]

    def record(self, result: Result, *, counter: bool = False) -> Result:
        self.results.append((result, counter))
        return result
