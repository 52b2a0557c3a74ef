"""Pod-shaping: the few changes a scenario makes to a manifest, each named and each a copy.

A scenario measures the manifest as written wherever it can.  Where it must change it
(two copies of a pod may not both hold hostPort 8080 on one node; a pod must be sent to
a chosen node; the web container gets the next version of its image), it says so with
one of these, so the change is visible in the scenario and nowhere else.
"""

from __future__ import annotations

import copy
from typing import Any

from podlife.kube.pod.manifest import containers, pod_spec

Docs = list[dict[str, Any]]
HOSTNAME = "kubernetes.io/hostname"


def without_host_ports(docs: Docs) -> Docs:
    """No container binds a port of its node: any number of copies fit on one node."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        for container in containers(doc):
            for port in container.get("ports") or []:
                port.pop("hostPort", None)
    return docs


def placed(docs: Docs, *, pin: str | None, prefer: str | None, host_ports: bool) -> Docs:
    """Documents placed as a scenario's share of the cluster says: without host ports unless
    kept, required on ``pin``, else preferring ``prefer``."""
    if not host_ports:
        docs = without_host_ports(docs)
    if pin:
        return pinned(docs, pin)
    return preferring(docs, prefer) if prefer else docs


def pinned(docs: Docs, node: str, operator: str = "In") -> Docs:
    """Every pod required on ``node`` (``In``) or anywhere but there (``NotIn``)."""
    docs = copy.deepcopy(docs)
    term = {"matchExpressions": [{"key": HOSTNAME, "operator": operator, "values": [node]}]}
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            spec.setdefault("affinity", {})["nodeAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
    return docs


def preferring(docs: Docs, node: str) -> Docs:
    """Every pod preferably on ``node`` (the scheduler may still put it elsewhere)."""
    docs = copy.deepcopy(docs)
    term = {"matchExpressions": [{"key": HOSTNAME, "operator": "In", "values": [node]}]}
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            spec.setdefault("affinity", {})["nodeAffinity"] = {
                "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "preference": term}]
            }
    return docs


def with_image(docs: Docs, container: str, image: str) -> Docs:
    """The named container runs ``image`` (the next version of its own image, say)."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        for c in containers(doc):
            if c["name"] == container:
                c["image"] = image
    return docs


def with_cpu_request(docs: Docs, millicores: int) -> Docs:
    """Every container requests this much CPU."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        for c in containers(doc):
            c["resources"] = {"requests": {"cpu": f"{millicores}m"}}
    return docs


def renamed(docs: Docs, name: str) -> Docs:
    """The manifest's one Pod under another name (a fresh pod beside one still going away)."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        if doc.get("kind") == "Pod":
            doc["metadata"]["name"] = name
    return docs


def pods_only(docs: Docs) -> Docs:
    return [copy.deepcopy(d) for d in docs if d.get("kind") == "Pod"]


def split(pod: dict[str, Any]) -> Docs:
    """The pod's containers as separate pods, one container each (``<pod>-<container>``)."""
    out = []
    for container in pod["spec"]["containers"]:
        alone = copy.deepcopy(pod)
        alone["metadata"]["name"] = f"{pod['metadata']['name']}-{container['name']}"
        alone["spec"]["containers"] = [copy.deepcopy(container)]
        out.append(alone)
    return out


def as_deployment(pod: dict[str, Any], replicas: int, service_port: int) -> Docs:
    """The pod as a Deployment of ``replicas`` copies, with a Service in front of ``service_port``."""
    pod = copy.deepcopy(pod)
    name = pod["metadata"]["name"]
    labels = pod["metadata"].get("labels") or {"app": name}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod["spec"]},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": service_port, "targetPort": service_port}]},
        },
    ]


def copies(docs: Docs, n: int, spread_label: str = "podlife-copy") -> Docs:
    """``n`` copies of the manifest's pods (``<name>-<i>``), spread softly over the nodes.
    Labels that group pods (``part``) and the anti-affinity terms matching them get the copy's
    number, so each copy keeps its own grouping."""
    out = []
    for i in range(n):
        for doc in pods_only(docs):
            doc["metadata"]["name"] += f"-{i}"
            labels = doc["metadata"].setdefault("labels", {})
            labels[spread_label] = "yes"
            if "part" in labels:
                labels["part"] += f"-{i}"
            spec = doc["spec"]
            anti = spec.get("affinity", {}).get("podAntiAffinity", {})
            for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution", []):
                match = term["labelSelector"]["matchLabels"]
                if "part" in match:
                    match["part"] += f"-{i}"
            spec["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": HOSTNAME,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {spread_label: "yes"}},
                }
            ]
            out.append(doc)
    return out


def resizable(docs: Docs, container: str, resources: dict[str, Any], policy: str) -> Docs:
    """The named container with ``resources`` and a ``resizePolicy`` of ``policy`` for CPU and
    memory, where the manifest declares neither (a manifest's own are kept as written)."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        for c in containers(doc):
            if c["name"] == container and not c.get("resources") and not c.get("resizePolicy"):
                c["resources"] = copy.deepcopy(resources)
                c["resizePolicy"] = [{"resourceName": r, "restartPolicy": policy} for r in ("cpu", "memory")]
    return docs


def served(docs: Docs, name: str, port: int) -> Docs:
    """A Service ``name`` in front of the (first) pod's labels on ``port``, unless one is declared."""
    docs = copy.deepcopy(docs)
    if any(d.get("kind") == "Service" for d in docs):
        return docs
    holder = next(d for d in docs if pod_spec(d) is not None)
    meta = holder["metadata"] if holder["kind"] == "Pod" else holder["spec"]["template"]["metadata"]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": dict(meta.get("labels") or {}), "ports": [{"port": port, "targetPort": port}]},
    }
    return [*docs, service]
