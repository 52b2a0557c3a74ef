"""A run killed with ``kill -9`` on a cluster podlife did not create leaves no agent behind and every
node as it was (issue 32): ``python -m bench.kill9 --kubeconfig K --tries 5 -- --probe-image IMAGE``.

Each try starts the main job's pytest run on that cluster (``--kubeconfig K --allow-node-disruption
-n 6``) in a process group of its own, waits a random moment (``--earliest`` to ``--latest`` seconds
after the run reached its cluster) and sends SIGKILL to the whole group: nothing of podlife's runs on
this machine afterwards.  Then it watches the cluster for ``--within`` seconds: when no podlife agent
pod is running any more, when every node is Ready and not cordoned by podlife, and what namespaces
the run left; then, once the run's Lease has been silent for two minutes, what the next run's first
step collects (:func:`podlife.kube.api.leftovers.collect`, as on any cluster podlife does not own).
One JSON line per try; exit status 1 when any try left an agent running or a node down or cordoned
past ``--within``, or a namespace after that.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from bench.signals import interrupt, tries
from podlife.kube import api_client, drain, lease, leftovers

REPO = Path(__file__).resolve().parent.parent
AGENTS = "app=podlife-agent"


def state(core: client.CoreV1Api) -> dict[str, list[str]]:
    """Agent pods running, nodes not Ready, nodes cordoned by podlife, and podlife's namespaces."""
    agents = [
        f"{p.metadata.namespace}/{p.metadata.name}"
        for p in core.list_pod_for_all_namespaces(label_selector=AGENTS).items
        if p.status.phase == "Running"
    ]
    nodes = core.list_node().items
    return {
        "agents_running": agents,
        "nodes_not_ready": [
            n.metadata.name
            for n in nodes
            if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ],
        "nodes_cordoned_by_podlife": [
            n.metadata.name for n in nodes if drain.CORDONED_BY in (n.metadata.annotations or {})
        ],
        "namespaces": [n.metadata.name for n in core.list_namespace(label_selector=leftovers.SELECTOR).items],
    }


def watched(core: client.CoreV1Api, within_s: float) -> dict[str, Any]:
    """Seconds after the kill until no agent runs and every node is Ready and uncordoned (None: not
    within ``within_s``), and what was there at that moment (or at the end)."""
    began = time.monotonic()
    while True:
        now = state(core)
        clean = not (now["agents_running"] or now["nodes_not_ready"] or now["nodes_cordoned_by_podlife"])
        if clean or time.monotonic() - began > within_s:
            return {"clean_after_s": round(time.monotonic() - began, 1) if clean else None, **now}
        time.sleep(2)


def one_try(
    core: client.CoreV1Api, kubeconfig: str, at_s: float, log: Path, extra: list[str], within_s: float
) -> dict[str, Any]:
    reports = log.parent / f"{log.stem}-reports"
    argv = [sys.executable, "-m", "pytest", "scenarios", "-p", "no:cacheprovider", "-n", "6"]
    argv += ["--kubeconfig", kubeconfig, "--allow-node-disruption", "--reports", str(reports), *extra]
    run = interrupt(argv, REPO, log, (reports / "progress.jsonl").exists, 600, at_s, "KILL", 30)
    if run.exit is None:
        return {"error": f"the run ended before its signal; see {log}"}
    killed = time.monotonic()
    seen = watched(core, within_s)
    # what the next run does first: its Lease silent for DEAD_AFTER_S, the killed run's namespaces go
    time.sleep(max(0.0, lease.DEAD_AFTER_S + 5 - (time.monotonic() - killed)))
    said: list[str] = []
    collected = leftovers.collect(kubeconfig, said.append, delete=False)
    left = [n.metadata.name for n in core.list_namespace(label_selector=leftovers.SELECTOR).items]
    return {"killed_after_s": round(at_s, 1), **seen, "collected_by_the_next_run": collected, "left": left}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kill9", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--earliest", type=float, default=5)
    parser.add_argument("--latest", type=float, default=200)
    parser.add_argument("--within", type=float, default=120)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "kill9")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments (--probe-image ...)")
    args = parser.parse_args(argv)
    if args.tries < 1 or not 0 <= args.earliest <= args.latest:
        parser.error("--tries must be at least 1, and 0 <= --earliest <= --latest")
    rng = random.Random(args.seed)
    core = client.CoreV1Api(api_client(args.kubeconfig))
    args.out.mkdir(parents=True, exist_ok=True)

    def one(n: int) -> dict[str, Any]:
        at = rng.uniform(args.earliest, args.latest)
        return one_try(core, args.kubeconfig, at, args.out / f"try-{n}.log", args.pytest_args, args.within)

    return tries(
        args.tries, one, lambda result: result.get("clean_after_s") is not None and not result["left"]
    )


if __name__ == "__main__":
    sys.exit(main())
