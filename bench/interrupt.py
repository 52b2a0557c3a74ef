"""Interrupted runs leave nothing behind (issue 21): ``python -m bench.interrupt --tries 10``.

Each try starts the main job's pytest run (``pytest scenarios -n 6``, as ``tox -e lifecycle`` does)
in a process group of its own, waits a random moment (``--earliest`` to ``--latest`` seconds after
the run reached its cluster), and sends SIGINT to the group, as Ctrl-C in a terminal does (``--signal
TERM``: SIGTERM to the run's process alone, as a CI runner cancelling a job does).  Then it measures,
on podlife's own cluster: how long the run took to end after the signal, the namespaces labelled
``podlife=scenario`` and their pods left, every node's container running and its Node Ready, and
whether the cluster lock is free.  One JSON line per try; the exit status is 1 when any try left
something or took longer than ``--limit`` seconds.  Run it with the cluster up
(``python -m podlife cluster up``) and nothing else using it.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from bench.signals import interrupt, tries
from podlife.kube import api_client, leftovers
from podlife.provision import cluster, lock

REPO = Path(__file__).resolve().parent.parent


def leftover(core: client.CoreV1Api) -> dict[str, Any]:
    """What a run left: its namespaces and their pods, nodes not Ready, node containers stopped,
    and the lock's holder."""
    spaces = [n.metadata.name for n in core.list_namespace(label_selector=leftovers.SELECTOR).items]
    pods = [f"{ns}/{p.metadata.name}" for ns in spaces for p in core.list_namespaced_pod(ns).items]
    not_ready = nodes_not_ready(core)
    names = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=io.x-k8s.kind.cluster={cluster.NAME}",
            "--format",
            "{{.Names}} {{.State}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    stopped = [line.split()[0] for line in names if line.strip() and line.split()[1] != "running"]
    return {
        "namespaces": spaces,
        "pods": pods,
        "nodes_not_ready": not_ready,
        "node_containers_stopped": stopped,
        "lock_held_by": lock.holder(cluster.lock_key()),
    }


def nodes_not_ready(core: client.CoreV1Api) -> list[str]:
    return [
        n.metadata.name
        for n in core.list_node().items
        if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]


def ready_again_s(core: client.CoreV1Api, timeout: float = 120) -> float | None:
    """Seconds until every Node is Ready again (a node started on the way out reports Ready after
    its kubelet's next status), None when not within ``timeout``."""
    began = time.monotonic()
    while nodes_not_ready(core):
        if time.monotonic() - began > timeout:
            return None
        time.sleep(1)
    return round(time.monotonic() - began, 1)


def one_try(core: client.CoreV1Api, at_s: float, sig: str, log: Path, extra: list[str]) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "scenarios",
        "-p",
        "no:cacheprovider",
        "-n",
        "6",
        "--reports",
        str(log.parent / "reports"),
        *extra,
    ]
    # the run's clock starts once it holds the cluster (its progress file appears)
    progress = log.parent / "reports" / "progress.jsonl"
    run = interrupt(argv, REPO, log, progress.exists, 600, at_s, sig, 120)
    if run.exit is None:
        return {"error": f"the run ended before its signal; see {log}"}
    left = leftover(core)  # at once: namespaces, pods, stopped node containers, the lock
    return {
        "signal": sig,
        "after_s": round(at_s, 1),
        "ended_after_s": run.ended_after_s,
        "exit": run.exit,
        **left,
        "nodes_ready_after_s": ready_again_s(core),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interrupt", description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--earliest", type=float, default=5)
    parser.add_argument("--latest", type=float, default=200)
    parser.add_argument("--limit", type=float, default=30, help="seconds a run may take to end")
    parser.add_argument("--signal", choices=("INT", "TERM"), default="INT")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "interrupt")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments (e.g. --claim ID)")
    args = parser.parse_args(argv)
    if args.tries < 1 or not 0 <= args.earliest <= args.latest:
        parser.error("--tries must be at least 1, and 0 <= --earliest <= --latest")
    rng = random.Random(args.seed)
    core = client.CoreV1Api(api_client(cluster.kubeconfig_path()))
    args.out.mkdir(parents=True, exist_ok=True)

    def one(n: int) -> dict[str, Any]:
        at = rng.uniform(args.earliest, args.latest)
        return one_try(core, at, args.signal, args.out / f"try-{n}.log", args.pytest_args)

    def clean(result: dict[str, Any]) -> bool:
        kept = ("namespaces", "pods", "node_containers_stopped", "lock_held_by", "error")
        left = any(result.get(k) for k in kept) or result.get("nodes_ready_after_s", 0) is None
        return not left and result.get("ended_after_s", 0) <= args.limit

    return tries(args.tries, one, clean)


if __name__ == "__main__":
    sys.exit(main())
