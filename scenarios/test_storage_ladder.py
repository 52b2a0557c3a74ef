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

import copy
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from podlife import pods, storage, webapp
from podlife.claims import CLAIMS, Result, Stopwatch, Verdict, expect_refuted, require
from podlife.paths import MANIFESTS
from podlife.reach import PodEndpoint
from podlife.scenario import Scenario
from podlife.watch import Watcher

FIX = MANIFESTS / "storage" / "webpod-pvc.yml"
EMPTYDIR = MANIFESTS / "storage" / "webpod-emptydir.yml"
COUNTER = Path(__file__).parent / "counter" / "webpod-ephemeral-volume.yml"

CONTAINER_FS, EMPTY_DIR, PVC = "container filesystem", "emptyDir", "PersistentVolumeClaim"
RESTART, RECREATE, MOVE = (
    "db container restarted",
    "pod deleted and recreated",
    "pod recreated on another node",
)
COLUMNS = (RESTART, RECREATE, MOVE)
HOSTNAME = "kubernetes.io/hostname"
LINES_PER_CELL = 3
READ_TIMEOUT_S = 180  # PostgreSQL initialises a fresh data directory first: slow on a busy machine
POD_TIMEOUT_S = 240


# ---------------------------------------------------------------- manifests
def prepared(docs: list[dict[str, Any]], storage_class: str) -> list[dict[str, Any]]:
    """The row's documents as measured: no hostPort (the ladder places pods on chosen nodes,
    where another pod's hostPort could keep them from starting), and every claim on the
    node-local class, named, so that no other default can stand in for it."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        if doc["kind"] == "PersistentVolumeClaim":
            doc["spec"]["storageClassName"] = storage_class
        if doc["kind"] == "Pod":
            for container in pods.containers_of(doc):
                for port in container.get("ports", []):
                    port.pop("hostPort", None)
            for volume in doc["spec"].get("volumes", []):
                if "ephemeral" in volume:
                    volume["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"] = storage_class
    return docs


def pinned(pod: dict[str, Any], node: str, operator: str) -> dict[str, Any]:
    """The pod with a required node affinity: ``In`` its node, or ``NotIn`` it (another node)."""
    pod = copy.deepcopy(pod)
    term = {"matchExpressions": [{"key": HOSTNAME, "operator": operator, "values": [node]}]}
    pod["spec"]["affinity"] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
    }
    return pod


# ---------------------------------------------------------------- observations
# what the scheduler says when a pod's volume lives on a node the pod may not go to
VOLUME_CONFLICTS = ("didn't match PersistentVolume's node affinity", "volume node affinity conflict")


def volume_conflict(pod: Any) -> str | None:
    """The scheduler's refusal because of where the pod's volume lives, if that is it.
    Other refusals (an ephemeral claim not created yet) pass: the wait goes on."""
    for cond in pod.status.conditions or []:
        if cond.type == "PodScheduled" and cond.status == "False" and cond.reason == "Unschedulable":
            message = cond.message or ""
            if any(c in message for c in VOLUME_CONFLICTS):
                return message
    return None


def settle(scn: Scenario, name: str) -> tuple[str, Any]:
    """Wait until the pod is ready, refused by the scheduler, or broken."""

    def settled(objects: dict[str, Any]) -> tuple[str, Any] | None:
        pod = objects.get(name)
        if pod is None:
            return None
        if pods.all_ready(pod):
            return "ready", pod
        if why := volume_conflict(pod):
            return f"Pending: {why}", pod
        if why := pods.terminated_badly(pod) or pods.image_trouble(pod):
            return f"broken: {why}", pod
        return None

    return scn.wait(settled, what=f"pod {name} ready or refused by the scheduler", timeout=POD_TIMEOUT_S)


class Ladder:
    """One namespace, one pod name, the rows one after another; a claim watch beside the pod
    watch, so that a pod's own (ephemeral) claim is seen gone before the pod is recreated."""

    def __init__(self, scn: Scenario, storage_class: str) -> None:
        self.scn, self.storage_class = scn, storage_class
        self.claims = Watcher(
            scn.cluster.core.list_namespaced_persistent_volume_claim, namespace=scn.namespace
        ).start()
        self.tag = 0

    def close(self) -> None:
        self.claims.stop()

    def endpoint(self, name: str) -> PodEndpoint:
        return self.scn.endpoint(name, 8080)

    def write(self, ep: PodEndpoint) -> list[str]:
        self.tag += 1
        webapp.read_when_answering(ep, timeout=READ_TIMEOUT_S)
        lines = [f"cell{self.tag}-line{i}" for i in range(1, LINES_PER_CELL + 1)]
        for line in lines:
            webapp.write(ep, line)
        return lines

    def found(self, ep: PodEndpoint, lines: list[str]) -> int:
        after, _ = webapp.read_when_answering(ep, timeout=READ_TIMEOUT_S)
        present = {entry["data"] for entry in after}
        return sum(line in present for line in lines)

    def volume_node(self, pod: Any) -> str | None:
        """The node a claim's PersistentVolume is bound to, as its node affinity says."""
        for volume in pod.spec.volumes or []:
            claim = volume.persistent_volume_claim.claim_name if volume.persistent_volume_claim else None
            if volume.ephemeral:
                claim = f"{pod.metadata.name}-{volume.name}"
            if not claim:
                continue
            pvc = self.scn.cluster.core.read_namespaced_persistent_volume_claim(claim, self.scn.namespace)
            pv = self.scn.cluster.core.read_persistent_volume(pvc.spec.volume_name)
            affinity = pv.spec.node_affinity
            terms = affinity.required.node_selector_terms if affinity and affinity.required else []
            return next((v for t in terms for e in t.match_expressions or [] for v in e.values), "any")
        return None

    def delete(self, pod: Any) -> float:
        """Delete the pod; wait until it and the claims it owned are gone."""
        begun = time.monotonic()
        name, uid = pod.metadata.name, pod.metadata.uid
        self.scn.delete_pod(name)
        self.scn.gone(name, timeout=POD_TIMEOUT_S)
        self.claims.wait(
            lambda claims: (
                not any(ref.uid == uid for c in claims.values() for ref in c.metadata.owner_references or [])
            ),
            what=f"the claims owned by pod {name} to be deleted",
            timeout=POD_TIMEOUT_S,
        )
        return round(time.monotonic() - begun, 3)

    def restart_db(self, name: str) -> dict[str, Any]:
        """PostgreSQL's immediate shutdown (SIGQUIT to the container's PID 1, the server: a
        crash as far as its files are concerned); the kubelet restarts the db container."""
        before = pods.statuses(self.scn.pod(name))["db"]
        begun = time.monotonic()
        subprocess.run(
            [
                str(self.scn.cluster.kubectl),
                "--kubeconfig",
                str(self.scn.cluster.kubeconfig),
                "-n",
                self.scn.namespace,
                "exec",
                name,
                "-c",
                "db",
                "--",
                "sh",
                "-c",
                "kill -QUIT 1",
            ],
            capture_output=True,
            timeout=60,
            check=False,  # the exec may end with the container: the restart is what we observe
        )

        def restarted(objects: dict[str, Any]) -> Any:
            pod = objects.get(name)
            if pod is None:
                return None
            db = pods.statuses(pod)["db"]
            return pod if db.restart_count > before.restart_count and pods.all_ready(pod) else None

        pod = self.scn.wait(restarted, what=f"db container of {name} restarted", timeout=POD_TIMEOUT_S)
        db = pods.statuses(pod)["db"]
        last = db.last_state.terminated
        return {
            "pod": pod,
            "db_restart_count": db.restart_count,
            "db_last_exit_code": last.exit_code if last else None,
            "db_container_changed": db.container_id != before.container_id,
            "restart_s": round(time.monotonic() - begun, 3),
        }

    # ------------------------------------------------------------ one row
    def row(self, docs: list[dict[str, Any]], columns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        scn = self.scn
        pod_doc = pods.pod_doc(docs)
        name = pod_doc["metadata"]["name"]
        pod, broken = scn.start(docs, timeout=POD_TIMEOUT_S)
        if broken:
            raise AssertionError(f"pod {name} never became ready: {broken}")
        home = pod.spec.node_name
        cells: dict[str, dict[str, Any]] = {}
        for column in columns:
            ep = self.endpoint(name)
            lines = self.write(ep)
            began = time.monotonic()
            cell: dict[str, Any] = {"node_before": pod.spec.node_name, "volume_node": self.volume_node(pod)}
            if column == RESTART:
                uid = pod.metadata.uid
                done = self.restart_db(name)
                pod = done.pop("pod")
                cell.update(done, same_pod=pod.metadata.uid == uid)
            else:
                cell["deletion_s"] = self.delete(pod)
                ep.close()
                outcome, pod = self.recreate(pod_doc, home, "In" if column == RECREATE else "NotIn")
                cell["scheduling"] = outcome
                if outcome != "ready":
                    # the pod cannot go where it was sent: let it back onto its node and look there
                    cell["pending_s"] = round(time.monotonic() - began, 3)
                    cell["deletion_s"] += self.delete(pod)
                    outcome, pod = self.recreate(pod_doc, home, "In")
                    if outcome != "ready":
                        raise AssertionError(f"pod {name} could not return to node {home}: {outcome}")
                    cell["returned_to"] = pod.spec.node_name
                ep = self.endpoint(name)
            found = self.found(ep, lines)
            ep.close()
            cell.update(
                node_after=pod.spec.node_name,
                lines_written=len(lines),
                lines_found=found,
                seconds=round(time.monotonic() - began, 3),
            )
            cell["outcome"] = describe_cell(cell)
            cells[column] = cell
        self.delete(pod)
        return cells

    def recreate(self, pod_doc: dict[str, Any], node: str, operator: str) -> tuple[str, Any]:
        self.scn.apply([pinned(pod_doc, node, operator)])
        return settle(self.scn, pod_doc["metadata"]["name"])


def describe_cell(cell: dict[str, Any]) -> str:
    found, written = cell["lines_found"], cell["lines_written"]
    data = "kept" if found == written else "lost" if found == 0 else f"partly kept ({found}/{written})"
    if cell.get("scheduling", "ready") != "ready":
        return (
            f"pod stays Pending ({conflict(cell['scheduling'])}); "
            f"recreated back on {cell['returned_to']}: data {data}"
        )
    moved = cell["node_after"] != cell["node_before"]
    return f"{data}" + (f" (moved {cell['node_before']} → {cell['node_after']})" if moved else "")


def conflict(message: str) -> str:
    """The scheduler's clause about the volume, out of its whole message."""
    clauses = message.replace(".", ",").replace(":", ",").split(",")
    return next((c.strip() for c in clauses if any(v in c for v in VOLUME_CONFLICTS)), message[:120])


# ---------------------------------------------------------------- the claim
def storage_ladder(
    scn: Scenario,
    manifest: Path,
    *,
    row: str = PVC,
    baselines: dict[str, Path] | None = None,
    columns: tuple[str, ...] = COLUMNS,
) -> Result:
    """Confirmed when data kept where ``manifest`` puts it survives both a restart of the db
    container and the pod's deletion and recreation.  ``baselines`` are measured for the
    ladder (container filesystem, emptyDir) and do not decide the verdict."""
    clock = Stopwatch()
    storage_class = storage.for_podlife_cluster(scn.cluster.kubeconfig)
    provisioner = client.StorageV1Api(scn.cluster.api).read_storage_class(storage_class).provisioner
    ladder = Ladder(scn, storage_class)
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        for label, path in [*(baselines or {}).items(), (row, manifest)]:
            rows[label] = ladder.row(prepared(scn.load(path), storage_class), columns)
    finally:
        ladder.close()
    fix = rows[row]
    holds = all(fix[c]["lines_found"] == fix[c]["lines_written"] for c in (RESTART, RECREATE) if c in fix)
    evidence = {
        "storage_class": storage_class,
        "provisioner": provisioner,
        "ladder": {r: {c: cell["outcome"] for c, cell in cells.items()} for r, cells in rows.items()},
        "cells": rows,
    }
    summary = "; ".join(
        f"{r}: " + ", ".join(f"{c} → {cell['outcome']}" for c, cell in cells.items())
        for r, cells in rows.items()
    )
    if holds:
        statement = f"{row} keeps the lines through a db restart and the pod's recreation. {summary}"
    else:
        statement = f"{row} lost lines. {summary}"
    verdict = Verdict.CONFIRMED if holds else Verdict.REFUTED  # a confirmed ladder keeps its summary
    return Result(CLAIMS["storage-ladder"], verdict, evidence, statement, clock.elapsed(), str(manifest))


@pytest.mark.claim("storage-ladder")
def test_storage_ladder(scn: Scenario, manifest: Path) -> None:
    """Every cell: the chapter's pod (container filesystem), emptyDir, and the claim."""
    result = storage_ladder(scn, FIX, baselines={CONTAINER_FS: manifest, EMPTY_DIR: EMPTYDIR})
    require(scn.record(result))


@pytest.mark.claim("storage-ladder")
def test_storage_ladder_counter_example(scn: Scenario) -> None:
    """A claim owned by the pod (generic ephemeral volume) goes with the pod: lines lost."""
    result = scn.record(
        storage_ladder(scn, COUNTER, row="generic ephemeral volume", columns=(RESTART, RECREATE)),
        counter=True,
    )
    expect_refuted(result)
