"""The run's options (``pytest scenarios --help``, group "podlife"): what to measure, where the
reports go, and the cluster to measure on."""

from __future__ import annotations

import contextlib

import pytest

from podlife.paths import MANIFESTS, REPO
from podlife.provision import UPSTREAM_PROBE_IMAGE
from podlife.run import profile


def add(group: pytest.OptionGroup) -> None:
    """What to measure and where the reports go; then :func:`cluster`."""
    group.addoption(
        "--pod-manifest",
        default=str(MANIFESTS / "webpod.yml"),
        help="the chapter's pod to measure: any pod of a web container serving the chapter's API on a "
        "declared port and a PostgreSQL container (default: manifests/webpod.yml)",
    )
    group.addoption(
        "--claim", action="append", default=[], metavar="ID", help="run only this claim (repeatable)"
    )
    group.addoption("--runs", type=int, default=10, help="fresh pods for the start-up claims (default 10)")
    group.addoption("--keep-failed", action="store_true", help="keep the namespace of a failed scenario")
    group.addoption("--reports", default=str(REPO / "reports"), help="where reports go (default: reports/)")
    group.addoption(
        "--store-durations",
        action="store_true",
        help="write how long each scenario held the cluster to scenarios/durations.json "
        "(the next runs start the longest first)",
    )
    profile.add_options(group)
    cluster(group)


def cluster(group: pytest.OptionGroup) -> None:
    """The cluster to measure on, when it is not podlife's own."""
    with contextlib.suppress(ValueError):  # pytest-kind's plugin, where it is loaded, offers the same
        group.addoption(
            "--kubeconfig",
            default=None,
            metavar="PATH",
            help="an existing cluster instead of podlife's own (podlife creates only namespaces there)",
        )
    own_cluster(group)
    group.addoption(
        "--kubectl",
        default=None,
        metavar="PATH",
        help="with --kubeconfig: the kubectl to drive that cluster with (default: one on PATH that fits "
        "its version, else a download, else the one built here)",
    )
    group.addoption(
        "--probe-image",
        default=None,
        help="with --kubeconfig: the Python image for podlife's probes and request loops "
        f"(default: {UPSTREAM_PROBE_IMAGE}; podlife's own cluster holds its own)",
    )


def own_cluster(group: pytest.OptionGroup) -> None:
    """Which of podlife's own clusters: its Kubernetes, feature gates and container runtime."""
    group.addoption(
        "--kubernetes",
        default=None,
        metavar="X.Y",
        help="podlife's own cluster of this Kubernetes minor (the patch release podlife pins for it), "
        "built and brought up beside the default's",
    )
    group.addoption(
        "--feature-gates",
        default=None,
        metavar="A=true,B=false",
        help="podlife's own cluster with these feature gates beyond its version's defaults, a cluster of "
        "its own beside the version's",
    )
    group.addoption(
        "--runtime",
        default=None,
        metavar="NAME",
        help="podlife's own cluster with this container runtime in its nodes (containerd1.6, the "
        "default: Debian's; containerd2: containerd 2.3 and runc 1.3 built here), a cluster of its own",
    )
