"""Command line: ``python -m podlife cluster up|down|status|load IMAGE...|logs DIR`` and
``python -m podlife profile PATH... [-n N] [--reports DIR] [--kubeconfig FILE] [--no-node-loss]``.

``profile`` checks its input first (every file YAML, a workload in each, kinds podlife can
profile, every image somewhere) and says what is wrong in one line before any cluster work; then
it runs one pytest test per workload, side by side, and writes reports/profile.{json,md,html}.

``cluster up`` prints the kubeconfig path as its last line, so scripts can do
``KUBECONFIG=$(python -m podlife cluster up | tail -n1)``.  ``cluster load`` puts images of
this machine's Docker into the nodes (your own web image, say); ``cluster logs`` writes the
nodes' logs (``kind export logs``) into a directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from podlife.docker import DockerFailed
from podlife.kube import WaitTimeout
from podlife.provision import releases
from podlife.provision.steps import StepFailed
from podlife.report import compare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m podlife", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="area", metavar="{cluster,profile,diff,matrix}")
    cluster_options(sub.add_parser("cluster", help="the kind cluster the scenarios run on"))
    profile_options(sub.add_parser("profile", help="the lifecycle profile of your own workloads"))
    compare.add(sub)
    args = parse(parser, argv)
    try:  # before the cluster module is read: it names the cluster after the Kubernetes selected
        if args.area == "cluster":
            releases.select(args.kubernetes or releases.asked_in(args.for_run or []))
            gates = args.feature_gates or releases.asked_in(args.for_run or [], "--feature-gates")
            releases.select_gates(gates)
            releases.select_runtime(args.runtime or releases.asked_in(args.for_run or [], "--runtime"))
        elif args.area == "profile":
            releases.select_for(args.kubernetes, args.kubeconfig)
            releases.select_gates(args.feature_gates, args.kubeconfig)
            releases.select_runtime(args.runtime, args.kubeconfig)
    except releases.UnknownVersion as exc:
        parser.error(str(exc))
    if args.area is None:  # no area: what podlife does and how to ask it, not a bare usage error
        parser.print_help(sys.stderr)
        return 2
    if args.area == "profile":
        return profile(args)
    if args.area in compare.AREAS:
        return compare.run(args)
    if args.action in ("up", "down", "status") and args.names:
        parser.error(
            f"cluster {args.action} takes no names ({' '.join(args.names)}): it acts on podlife's own "
            "cluster (PODLIFE_CLUSTER names it)"
        )
    if args.action in ("load", "logs") and not args.names:
        parser.error(
            f"cluster {args.action} needs {'one or more images' if args.action == 'load' else 'a directory'}"
        )
    return cluster_command(args)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments; images or a directory named after an option (``cluster load --kubernetes 1.35
    IMAGE...``, which argparse alone refuses) are names too."""
    args, extra = parser.parse_known_args(argv)
    named = args.area == "cluster" and args.for_run is None and not any(e.startswith("-") for e in extra)
    if extra and named:
        args.names += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


GATES_HELP = (
    "podlife's own cluster with these feature gates beyond its version's defaults (every component), "
    "a cluster of its own beside the version's"
)
RUNTIME_HELP = (
    "podlife's own cluster with this container runtime in its nodes, a cluster of its own: "
    + "; ".join(f"{name}: {what}" for name, what in releases.RUNTIMES.items())
)


def cluster_options(cl: argparse.ArgumentParser) -> None:
    cl.add_argument("action", choices=["up", "down", "status", "load", "logs"])
    cl.add_argument("names", nargs="*", help="load: the images; logs: the directory")
    cl.add_argument(
        "--for-run",
        nargs=argparse.REMAINDER,
        default=None,
        metavar="ARGS",
        help="up: the arguments of the run it is for (tox's environments); when they name --kubeconfig, "
        "the run is on that cluster and nothing is brought up on this machine",
    )
    cl.add_argument(
        "--kubernetes",
        default=None,
        metavar="X.Y",
        help="podlife's own cluster of this Kubernetes minor (the patch release podlife pins for it: "
        f"{', '.join(releases.known())}), its own beside the default's",
    )
    cl.add_argument("--feature-gates", default=None, metavar="A=true,B=false", help=GATES_HELP)
    cl.add_argument("--runtime", default=None, metavar="NAME", help=RUNTIME_HELP)


def profile_options(pr: argparse.ArgumentParser) -> None:
    pr.add_argument("paths", nargs="+", metavar="PATH", help="manifest files or directories")
    pr.add_argument("-n", dest="workers", default="4", help="workloads side by side (0: one after another)")
    pr.add_argument("--reports", default="reports", help="where profile.json, .md and .html go")
    pr.add_argument("--kubeconfig", default=None, help="an existing cluster instead of podlife's own")
    pr.add_argument(
        "--kubernetes", default=None, metavar="X.Y", help="podlife's own cluster of this Kubernetes minor"
    )
    pr.add_argument("--feature-gates", default=None, metavar="A=true,B=false", help=GATES_HELP)
    pr.add_argument("--runtime", default=None, metavar="NAME", help=RUNTIME_HELP)
    pr.add_argument(
        "--probe-image",
        default=None,
        help="with --kubeconfig: the Python image for podlife's probes and request loops, one the "
        "cluster's nodes can get",
    )
    pr.add_argument(
        "--allow-privileged-subject",
        action="store_true",
        help="profile workloads with privileged settings too (privileged, hostPath, hostPID, hostNetwork, "
        "added capabilities): on a kind cluster such a pod is root on the host",
    )
    pr.add_argument(
        "--allow-node-disruption",
        action="store_true",
        help="with --kubeconfig: lose a worker by stopping its kubelet through podlife's agent "
        "(started again afterwards, or by a timer on the node)",
    )
    pr.add_argument(
        "--no-node-loss",
        action="store_true",
        help="stop no worker: every workload's node_loss is then null, with this reason",
    )
    remedies(pr)


def remedies(pr: argparse.ArgumentParser) -> None:
    """The profile's options about the workload's part: a remedy measured beside it, and whether its
    findings fail the run."""
    pr.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="prestop-sleep[=SECONDS]",
        help="profile each workload a second time with this change, side by side (prestop-sleep: a "
        "preStop sleep, default 5 s, on every container without a preStop hook)",
    )
    pr.add_argument(
        "--fail-on",
        choices=("departures", "findings"),
        default="departures",
        help="what fails a workload: departures from what Kubernetes documents (default), or findings "
        "too (requests it lost while Kubernetes kept its promise)",
    )


def cluster_command(args: argparse.Namespace) -> int:
    from podlife.provision import cluster, lock

    try:
        if args.action == "up" and args.for_run is not None and named_kubeconfig(args.for_run):
            print(
                "podlife: the run names --kubeconfig: nothing is brought up on this machine", file=sys.stderr
            )
        elif args.action == "up":
            print(UP_SAYS, file=sys.stderr)
            print(cluster.up())
        elif args.action == "down":
            cluster.down()
        elif args.action == "load":
            cluster.load(args.names)
        elif args.action == "logs":
            cluster.export_logs(Path(args.names[0]))
        else:
            who = lock.holder(cluster.lock_key())
            if who:
                since = who.get("since")
                print(f"podlife: in use by pid {who.get('pid')} ({who.get('purpose')}) since {since}")
            print(status(cluster.kubeconfig_path()))
    except (StepFailed, WaitTimeout, DockerFailed) as exc:
        print(f"podlife: {exc}", file=sys.stderr)
        return 1
    return 0


PLUGIN = "podlife.run.plugin"  # the pytest run: this command is one of its two entry points


def profile(args: argparse.Namespace) -> int:
    """Bad input is one line before any cluster work; then the workloads' tests, side by side."""
    import pytest

    from podlife.profile.workload import ProfileInputError, load, parse_variant
    from podlife.provision.loading import nowhere

    try:
        for variant in args.variant:
            parse_variant(variant)
        workloads = load(args.paths, allow_privileged=args.allow_privileged_subject)
        images = {i: p for w in workloads for i, p in w.images().items()}
        # podlife's own cluster gets its images from this machine; on yours they are its business
        # (the run asks every worker up front whether it can get them)
        if not args.kubeconfig and (missing := nowhere(images)):
            raise ProfileInputError("; ".join(f"image {i}: {why}" for i, why in missing.items()))
    except ProfileInputError as exc:
        print(f"podlife profile: {exc}", file=sys.stderr)
        return 2
    print(f"podlife profile: {len(workloads)} workload(s): {', '.join(w.key for w in workloads)}")
    return int(pytest.main(pytest_argv(args)))


def pytest_argv(args: argparse.Namespace) -> list[str]:
    """The profile's pytest run: one test per workload (and variant), side by side."""
    reports = Path(args.reports)
    argv = [
        "-p",
        PLUGIN,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:pytest-kind",
        "--profile",
        *args.paths,
        "--reports",
        str(reports),
    ]
    argv += ["--junitxml", str(reports / "profile-junit.xml"), "-rA", "-n", str(args.workers)]
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]  # pytest-kind, imported by the checks above
    argv += ["--kubeconfig", args.kubeconfig] if args.kubeconfig else []
    argv += ["--kubernetes", args.kubernetes] if args.kubernetes else []
    argv += ["--feature-gates", args.feature_gates] if args.feature_gates else []
    argv += ["--runtime", args.runtime] if args.runtime else []
    argv += ["--probe-image", args.probe_image] if args.probe_image else []
    argv += ["--allow-privileged-subject"] if args.allow_privileged_subject else []
    argv += ["--allow-node-disruption"] if args.allow_node_disruption else []
    argv += ["--no-node-loss"] if args.no_node_loss else []
    argv += [f"--variant={v}" for v in args.variant] + ["--fail-on", args.fail_on]
    return argv


UP = "python -m podlife cluster up"
UP_SAYS = (
    "podlife: bringing up podlife's own kind cluster on this machine (Docker; where none answers, as "
    "root on Debian, podlife installs docker.io; a cold first build of Kubernetes takes 13-25 min)"
)


def named_kubeconfig(run_args: list[str]) -> bool:
    return any(a == "--kubeconfig" or a.startswith("--kubeconfig=") for a in run_args)


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
    try:
        code = main()
        sys.stdout.flush()  # a pipe buffers: what the reader never took fails here, not at exit
    except BrokenPipeError:  # `podlife diff A B | head -1`: the reader left; no traceback, 128 + SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    sys.exit(code)
