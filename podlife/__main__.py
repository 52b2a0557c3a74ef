"""Command line: ``python -m podlife cluster up|down|status|load IMAGE...|logs DIR``.

``cluster up`` prints the kubeconfig path as its last line, so scripts can do
``KUBECONFIG=$(python -m podlife cluster up | tail -n1)``.  ``cluster load`` puts images of
this machine's Docker into the nodes (your own web image, say); ``cluster logs`` writes the
nodes' logs (``kind export logs``) into a directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from podlife.kube.wait import WaitTimeout
from podlife.provision.steps import StepFailed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podlife", description=__doc__)
    sub = parser.add_subparsers(dest="area", required=True)
    cl = sub.add_parser("cluster", help="the kind cluster the scenarios run on")
    cl.add_argument("action", choices=["up", "down", "status", "load", "logs"])
    cl.add_argument("names", nargs="*", help="load: the images; logs: the directory")
    args = parser.parse_args(argv)
    if args.action in ("load", "logs") and not args.names:
        parser.error(
            f"cluster {args.action} needs {'one or more images' if args.action == 'load' else 'a directory'}"
        )

    from podlife.provision import cluster, lock

    try:
        if args.action == "up":
            print(cluster.up())
        elif args.action == "down":
            cluster.down()
        elif args.action == "load":
            cluster.load(args.names)
        elif args.action == "logs":
            cluster.export_logs(Path(args.names[0]))
        else:
            who = lock.holder(cluster.kubeconfig_path())
            if who:
                since = who.get("since")
                print(f"podlife: in use by pid {who.get('pid')} ({who.get('purpose')}) since {since}")
            print(status(cluster.kubeconfig_path()))
    except (StepFailed, WaitTimeout) as exc:
        print(f"podlife: {exc}", file=sys.stderr)
        return 1
    return 0


UP = "python -m podlife cluster up"


def status(kubeconfig: Path) -> Path:
    """Wait briefly for the cluster to be ready; say plainly when there is nothing to reach."""
    from podlife.provision import cluster

    if not kubeconfig.exists():
        raise StepFailed("cluster status", f"no kubeconfig at {kubeconfig}; `{UP}` creates one")
    try:
        cluster.wait_ready(timeout=30)
    except (ApiException, HTTPError, ConfigException) as exc:
        reason = getattr(exc, "reason", exc)
        raise StepFailed(
            "cluster status",
            f"the API server in {kubeconfig} does not answer ({reason}); `{UP}` starts it",
        ) from exc
    return kubeconfig


if __name__ == "__main__":
    sys.exit(main())
