"""Command line: ``python -m podlife cluster up|down|status``.

``cluster up`` prints the kubeconfig path as its last line, so scripts can do
``KUBECONFIG=$(python -m podlife cluster up | tail -n1)``.
"""

from __future__ import annotations

import argparse
import sys

from podlife.steps import StepFailed
from podlife.wait import WaitTimeout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podlife", description=__doc__)
    sub = parser.add_subparsers(dest="area", required=True)
    cl = sub.add_parser("cluster", help="the kind cluster the scenarios run on")
    cl.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)

    from podlife import cluster, lock

    try:
        if args.action == "up":
            print(cluster.up())
        elif args.action == "down":
            cluster.down()
        else:
            who = lock.holder(cluster.kubeconfig_path())
            if who:
                since = who.get("since")
                print(f"podlife: in use by pid {who.get('pid')} ({who.get('purpose')}) since {since}")
            cluster.wait_ready(timeout=30)
            print(cluster.kubeconfig_path())
    except (StepFailed, WaitTimeout) as exc:
        print(f"podlife: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
