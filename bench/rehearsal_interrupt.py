"""A rehearsal killed mid-way leaves the host's Docker as found (issue 21):
``python -m bench.rehearsal_interrupt --tries 3`` (in the rehearsal's environment:
``.tox/rehearse-upstream/bin/python -m bench.rehearsal_interrupt``).

Each try starts ``python -m podlife.provision.rehearsal`` in a process group of its own, waits until it
has made its registry Docker Hub's mirror (``/etc/docker/daemon.json`` changed), then a random moment
more (``--earliest`` to ``--latest`` seconds: pushing, ``cluster up``, the claims), and sends SIGINT to
the group as Ctrl-C does (``--signal TERM``: SIGTERM to the rehearsal's process alone, as a CI runner
cancelling a job does; ``--signal KILL``: SIGKILL to the whole group, no clean-up at all, and then
``python -m podlife cluster up``, the next run, which puts back what the host journal recorded).
Then it compares with before: ``daemon.json`` byte for byte, the daemon's live mirrors (``docker
info``), the image tags, kind's clusters, the registries' processes.  One JSON line per try; exit
status 1 when any try left something.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.signals import interrupt
from podlife.provision.engine import DAEMON_JSON
from podlife.provision.rehearsal import CLUSTER

REPO = Path(__file__).resolve().parent.parent


def out(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout


def host() -> dict[str, Any]:
    """What the rehearsal may change on the host, as it stands."""
    data = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
    info = json.loads(out(["docker", "info", "--format", "{{json .RegistryConfig.Mirrors}}"]) or "null")
    tags = {
        t
        for t in out(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]).split()
        if "<none>" not in t
    }
    kind = str(Path.home() / ".cache" / "podlife" / "bin" / "tools" / "kind")
    clusters = out([kind if os.path.exists(kind) else "kind", "get", "clusters"]).split()
    registries = [
        line for line in out(["ps", "-eo", "pid,args"]).splitlines() if " registry serve " in f"{line} "
    ]
    return {
        "daemon_json_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
        "mirrors": info or [],
        "tags": tags,
        "clusters": clusters,
        "registries": registries,
    }


def one_try(at_s: float, sig: str, log: Path) -> dict[str, Any]:
    before = host()
    argv = [sys.executable, "-m", "podlife.provision.rehearsal"]
    sha = before["daemon_json_sha256"]

    def mirrored() -> bool:  # the rehearsal has written daemon.json (the build may come first)
        current = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
        return (hashlib.sha256(current).hexdigest() if current is not None else None) != sha

    run = interrupt(argv, REPO, log, mirrored, 1800, at_s, sig, 600)
    if run.exit is None:
        return {"error": f"the rehearsal ended before its signal; see {log}"}
    restored = ""
    if sig == "KILL":  # no finally ran: the next `cluster up` puts back what the journal recorded
        up = [sys.executable, "-m", "podlife", "cluster", "up"]
        said = subprocess.run(up, cwd=REPO, capture_output=True, text=True, timeout=1800, check=False)
        restored = "; ".join(line for line in said.stderr.splitlines() if "put back" in line)
    after = host()
    changed = {
        k: {
            "before": sorted(v) if isinstance(v, set) else v,
            "after": sorted(after[k]) if isinstance(after[k], set) else after[k],
        }
        for k, v in before.items()
        if after[k] != v
    }
    return {
        "signal": sig,
        "after_mirror_s": round(at_s, 1),
        "mirror_after_start_s": run.reached_s,
        "ended_after_s": run.ended_after_s,
        "exit": run.exit,
        "daemon_json_identical": after["daemon_json_sha256"] == before["daemon_json_sha256"],
        "put_back_by_the_next_cluster_up": restored,
        "changed": changed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.rehearsal_interrupt", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--earliest", type=float, default=0)
    parser.add_argument("--latest", type=float, default=180)
    parser.add_argument("--signal", choices=("INT", "TERM", "KILL"), default="INT")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "rehearsal-interrupt")
    args = parser.parse_args(argv)
    if args.tries < 1 or not 0 <= args.earliest <= args.latest:
        parser.error("--tries must be at least 1, and 0 <= --earliest <= --latest")
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for n in range(1, args.tries + 1):
        result = {
            "try": n,
            **one_try(rng.uniform(args.earliest, args.latest), args.signal, args.out / f"try-{n}.log"),
        }
        result["clean"] = not result.get("error") and not result.get("changed")
        bad += not result["clean"]
        print(json.dumps(result), flush=True)
    print(json.dumps({"tries": args.tries, "clean": args.tries - bad, "cluster": CLUSTER}), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
