"""The fix for "So we lost all the data!!!!": keep the data out of the pod.

The storage ladder: where PostgreSQL's files live (the container's own filesystem, as in the
chapter; an emptyDir volume; a PersistentVolumeClaim on a node-local provisioner) against
what happens (the db container is restarted; the pod is deleted and recreated on the same
node; the pod is recreated on another node).  Every cell is measured the same way: write
three lines of its own through the app, act, read through the app, count the lines found.

A node-local volume cannot follow a pod to another node: the scheduler refuses the pod
(``volume node affinity conflict``) and it stays Pending.  That cell reports exactly that,
then lets the pod go back to its node and reads the lines there.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client

from podlife.claims import FIXES, Claim, Counter, Needs, Nodes
from podlife.errors import SetupError
from podlife.kube import Subject, Watcher, pods, shape, storage, webapp
from podlife.measure import Measurement
from podlife.paths import MANIFESTS
from podlife.pictures import LadderTable

FIX = MANIFESTS / "storage" / "webpod-pvc.yml"
EMPTYDIR = MANIFESTS / "storage" / "webpod-emptydir.yml"
RESTART, RECREATE, MOVE = (
    "db container restarted",
    "pod deleted and recreated",
    "pod recreated on another node",
)
LINES_PER_CELL = 3
READ_TIMEOUT_S = 180  # PostgreSQL initialises a fresh data directory first: slow on a busy machine
POD_TIMEOUT_S = 240
# what the scheduler says when a pod's volume lives on a node the pod may not go to
VOLUME_CONFLICTS = ("didn't match PersistentVolume's node affinity", "volume node affinity conflict")

LADDER = Claim(
    "storage-ladder",
    FIXES,
    "Shared volumes (we will learn about volumes later).",
    subject=FIX,
    fixes="delete-loses-data",
    needs=Needs(nodes=Nodes.ALL, host_ports=False),  # pods sent to chosen workers; prepared() drops them
    counters=(
        Counter(
            Path(__file__).parent / "counter" / "webpod-ephemeral-volume.yml",
            "A claim owned by the pod (generic ephemeral volume) goes with the pod: the lines are lost.",
            needs=Needs(host_ports=False),  # restarted and recreated on its node: one worker is enough
        ),
    ),
)


@LADDER.measure
def storage_ladder(m: Measurement) -> None:
    """Confirmed when the subject's storage keeps the lines through a restart of the db container
    and through the pod's recreation.  For the claim, the chapter's own pod (the container's
    filesystem) and an emptyDir are measured beside it: the ladder."""
    storage_class = storage.node_local_class(m.kube.cluster.api)
    if storage_class is None:
        raise SetupError("the cluster has no node-local StorageClass (rancher.io/local-path or podlife's)")
    rows = {} if m.counter else {"container filesystem": m.chapter(), "emptyDir": Subject.load(EMPTYDIR)}
    label = "PersistentVolumeClaim" if m.counter is None else m.subject.path.stem
    columns = (
        (RESTART, RECREATE, MOVE) if m.counter is None else (RESTART, RECREATE)
    )  # what the verdict reads
    with Ladder(m, storage_class) as ladder, ThreadPoolExecutor() as pool:  # rows side by side
        rows[label] = m.subject
        running = {name: pool.submit(ladder.row, subject, columns, name) for name, subject in rows.items()}
        cells = {name: row.result() for name, row in running.items()}
    table = {name: {col: cell["outcome"] for col, cell in row.items()} for name, row in cells.items()}
    m.draw(LadderTable(table))
    m.evidence(
        storage_class=storage_class,
        provisioner=provisioner(m.kube.cluster.api, storage_class),
        ladder=table,
        cells=cells,
    )
    kept = {col: cells[label][col]["lines_found"] == LINES_PER_CELL for col in (RESTART, RECREATE)}
    m.check(all(kept.values()), f"{label} lost lines: {table[label]}")
    m.state(
        "; ".join(
            f"{name}: " + ", ".join(f"{c} → {o}" for c, o in row.items()) for name, row in table.items()
        )
    )


class Ladder:
    """One namespace, the rows side by side (each row's pod named after its row); a claim watch
    beside the pod watch, so that a pod's own (ephemeral) claim is seen gone before the pod is
    recreated."""

    def __init__(self, m: Measurement, storage_class: str) -> None:
        self.m, self.storage_class = m, storage_class
        self.claims = Watcher(
            m.kube.cluster.core.list_namespaced_persistent_volume_claim, namespace=m.kube.namespace
        )

    def __enter__(self) -> Ladder:
        self.claims.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.claims.stop()

    def row(self, subject: Subject, columns: tuple[str, ...], row: str) -> dict[str, dict[str, Any]]:
        """Every column for one place the data can live; the pod is gone afterwards."""
        slug = "-".join(row.lower().split())
        name = f"{subject.pod}-{slug}"[:63].rstrip("-")
        docs = self.m.placed(
            shape.renamed(prepared(subject.loaded(self.m.kube.cluster.image_map), self.storage_class), name)
        )
        pod_doc, port = pods.pod_doc(docs), subject.port
        pod = self.m.kube.start(docs, timeout=POD_TIMEOUT_S)
        home, cells = pod.spec.node_name, {}
        for tag, column in enumerate(columns, 1):
            lines, began = self.write(name, port, f"{slug}-cell{tag}"), time.monotonic()
            cell: dict[str, Any] = {"node_before": pod.spec.node_name, "volume_node": self.volume_node(pod)}
            if column == RESTART:
                pod = self.restart_db(pod, subject.db, cell)
            else:
                pod = self.recreate(pod, pod_doc, home, "In" if column == RECREATE else "NotIn", cell)
            cell.update(
                node_after=pod.spec.node_name,
                lines_found=self.found(name, port, lines),
                seconds=round(time.monotonic() - began, 3),
            )
            cell["outcome"] = describe(cell)
            cells[column] = cell
        self.delete(pod)
        return cells

    def write(self, name: str, port: int, cell: str) -> list[str]:
        ep = self.m.kube.endpoint(f"pod/{name}", port)
        webapp.read_when_answering(ep, timeout=READ_TIMEOUT_S)
        lines = [f"{cell}-line{i}" for i in range(1, LINES_PER_CELL + 1)]
        for line in lines:
            webapp.write(ep, line)
        return lines

    def found(self, name: str, port: int, lines: list[str]) -> int:
        ep = self.m.kube.endpoint(f"pod/{name}", port)
        after, _ = webapp.read_when_answering(ep, timeout=READ_TIMEOUT_S)
        return len({entry["data"] for entry in after} & set(lines))

    def restart_db(self, pod: Any, db: str, cell: dict[str, Any]) -> Any:
        """PostgreSQL's immediate shutdown (SIGQUIT to the server, the db container's main process:
        a crash as far as its files are concerned), sent by a probe; the kubelet restarts it."""
        name, uid, before = pod.metadata.name, pod.metadata.uid, pods.statuses(pod)[db]
        self.m.kube.act(f"SIGQUIT to PostgreSQL in pod {name}")
        self.m.kube.probe_start(
            name, db, [("signal", {"number": int(signal.SIGQUIT)})]
        )  # ends with its target
        pod = self.m.kube.wait(
            pods.restarted(name, db, before.restart_count + 1),
            what=f"db of {name} restarted",
            timeout=POD_TIMEOUT_S,
        )
        cell.update(
            db_container_changed=pods.statuses(pod)[db].container_id != before.container_id,
            same_pod=pod.metadata.uid == uid,
        )
        return pod

    def recreate(
        self, pod: Any, pod_doc: dict[str, Any], home: str, operator: str, cell: dict[str, Any]
    ) -> Any:
        """Delete the pod and apply it again, sent to its node (``In``) or away from it (``NotIn``).
        Where it cannot go there, it comes back to its node and the lines are read there."""
        began = time.monotonic()
        cell["deletion_s"] = self.delete(pod)
        outcome, pod = self.place(pod_doc, home, operator)
        cell["scheduling"] = outcome
        if outcome != "ready":
            cell["pending_s"] = round(time.monotonic() - began, 3)
            cell["deletion_s"] += self.delete(pod)
            outcome, pod = self.place(pod_doc, home, "In")
            if outcome != "ready":
                raise SetupError(f"pod {pod.metadata.name} could not return to node {home}: {outcome}")
            cell["returned_to"] = pod.spec.node_name
        return pod

    def place(self, pod_doc: dict[str, Any], node: str, operator: str) -> tuple[str, Any]:
        """Apply the pod pinned; wait until it is ready, refused for its volume, or broken."""
        name = pod_doc["metadata"]["name"]
        self.m.kube.apply(shape.pinned([pod_doc], node, operator))

        def settled(objects: dict[str, Any]) -> tuple[str, Any] | None:
            pod = objects.get(name)
            if pod is None:
                return None
            if pods.all_ready(pod):
                return "ready", pod
            why = volume_conflict(pod) or pods.terminated_badly(pod) or pods.image_trouble(pod)
            return (f"Pending: {why}" if volume_conflict(pod) else f"broken: {why}", pod) if why else None

        return self.m.kube.wait(
            settled, what=f"pod {name} ready or refused by the scheduler", timeout=POD_TIMEOUT_S
        )

    def delete(self, pod: Any) -> float:
        """Delete the pod; wait until it and the claims it owned are gone."""
        begun, uid = time.monotonic(), pod.metadata.uid
        self.m.kube.delete_pod(pod.metadata.name)
        self.claims.wait(
            lambda claims: (
                not any(r.uid == uid for c in claims.values() for r in c.metadata.owner_references or [])
            ),
            what=f"the claims owned by pod {pod.metadata.name} to be deleted",
            timeout=POD_TIMEOUT_S,
        )
        return round(time.monotonic() - begun, 3)

    def volume_node(self, pod: Any) -> str | None:
        """The node a claim's PersistentVolume is bound to, as its node affinity says."""
        core = self.m.kube.cluster.core
        for volume in pod.spec.volumes or []:
            claim = volume.persistent_volume_claim.claim_name if volume.persistent_volume_claim else None
            claim = f"{pod.metadata.name}-{volume.name}" if volume.ephemeral else claim
            if claim:
                pv = core.read_persistent_volume(
                    core.read_namespaced_persistent_volume_claim(
                        claim, self.m.kube.namespace
                    ).spec.volume_name
                )
                required = pv.spec.node_affinity.required if pv.spec.node_affinity else None
                terms = required.node_selector_terms if required else []
                return next((v for t in terms for e in t.match_expressions or [] for v in e.values), "any")
        return None


def prepared(docs: list[dict[str, Any]], storage_class: str) -> list[dict[str, Any]]:
    """The row's documents as measured: no hostPort (the ladder places pods on chosen nodes,
    where another pod's hostPort could keep them from starting), and every claim on the
    node-local class, named, so that no other default can stand in for it."""
    docs = shape.without_host_ports(docs)
    for doc in docs:
        if doc["kind"] == "PersistentVolumeClaim":
            doc["spec"]["storageClassName"] = storage_class
        for volume in (doc["spec"].get("volumes") or []) if doc["kind"] == "Pod" else []:
            if "ephemeral" in volume:
                volume["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"] = storage_class
    return docs


def volume_conflict(pod: Any) -> str | None:
    """The scheduler's refusal because of where the pod's volume lives, if that is it."""
    for cond in pod.status.conditions or []:
        unschedulable = (
            cond.type == "PodScheduled" and cond.status == "False" and cond.reason == "Unschedulable"
        )
        if unschedulable and any(c in (cond.message or "") for c in VOLUME_CONFLICTS):
            return cond.message
    return None


def describe(cell: dict[str, Any]) -> str:
    found = cell["lines_found"]
    data = (
        "kept"
        if found == LINES_PER_CELL
        else "lost"
        if found == 0
        else f"partly kept ({found}/{LINES_PER_CELL})"
    )
    if cell.get("scheduling", "ready") != "ready":
        clauses = cell["scheduling"].replace(".", ",").replace(":", ",").split(",")
        why = next(
            (c.strip() for c in clauses if any(v in c for v in VOLUME_CONFLICTS)), cell["scheduling"][:120]
        )
        return f"pod stays Pending ({why}); recreated back on {cell['returned_to']}: data {data}"
    moved = cell["node_after"] != cell["node_before"]
    return data + (f" (moved {cell['node_before']} → {cell['node_after']})" if moved else "")


def provisioner(api: client.ApiClient, storage_class: str) -> str:
    return client.StorageV1Api(api).read_storage_class(storage_class).provisioner
