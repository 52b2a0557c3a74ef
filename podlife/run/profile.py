"""``--profile``: the manifest files (or directories) given are workloads to profile, one test each.

A workload's test holds one worker of the cluster (its pods pinned there, beside other tests), opens
a namespace of its own, runs :class:`podlife.profile.profiler.Profiler`, and fails only where the
measurement departs from what Kubernetes documents; anything that keeps it from measuring is an
error with no verdict.  Profiles run side by side under the run's scheduler like the scenarios.
A profile (:class:`podlife.profiled.Profile`) and the node loss's findings reach the process that
started the run as JSON in the test's ``user_properties``, like a claim's result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from podlife.claims import Needs, Nodes
from podlife.kube import Cluster, host_ports, shape, with_images
from podlife.profile import nodeloss
from podlife.profile.profiler import Profiler
from podlife.profile.workload import ProfileInputError, Workload, load, parse_variant, with_prestop_sleep
from podlife.profiled import NodeLossPhase, Profile
from podlife.run import frame
from podlife.run.session import connected

PROFILE_KEY = "podlife.profile"
NODE_LOSS_KEY = "podlife.node-loss"
NODE_LOSS = nodeloss.PHASE  # the test that loses a worker for every workload of the run at once
NODE_LOSS_NEEDS = Needs(nodes=Nodes.ALL, stops_node=True)
SUFFIXES = (".yml", ".yaml")


def add_options(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--profile",
        action="store_true",
        help="the manifest files or directories given are workloads to profile, one test each "
        "(python -m podlife profile PATH...)",
    )
    group.addoption(
        "--allow-privileged-subject",
        action="store_true",
        help="measure (--pod-manifest) or profile workloads with privileged settings too (privileged, "
        "hostPath, hostPID, hostNetwork, added capabilities): on a kind cluster such a pod is root "
        "on the host",
    )
    group.addoption(
        "--allow-node-disruption",
        action="store_true",
        help="lose a node (stop its kubelet through podlife's agent) on a cluster podlife did not "
        "create; without it the node-loss claims and profiles there end with an error",
    )
    group.addoption(
        "--variant",
        action="append",
        default=[],
        metavar="prestop-sleep[=SECONDS]",
        help="with --profile: profile each workload a second time with this change (prestop-sleep: a "
        "preStop sleep, default 5 s, on every container without a preStop hook), side by side",
    )
    group.addoption(
        "--fail-on",
        choices=("departures", "findings"),
        default="departures",
        help="with --profile: what fails a workload's test: departures from what Kubernetes documents "
        "(the default), or findings too (requests the workload lost while Kubernetes kept its promise)",
    )
    group.addoption(
        "--no-node-loss",
        action="store_true",
        help="with --profile: do not stop a worker (every node_loss is then null, with this reason)",
    )


class Departed(AssertionError):
    """The workload departed from what Kubernetes documents for its shape."""


class ProfileFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            workloads = load(
                [str(self.path)], allow_privileged=self.config.getoption("allow_privileged_subject")
            )
        except ProfileInputError as exc:
            raise self.CollectError(str(exc)) from None
        try:
            variants = [parse_variant(v) for v in self.config.getoption("variant")]
        except ValueError as exc:
            raise self.CollectError(str(exc)) from None
        for workload in workloads:
            yield ProfileItem.from_parent(self, name=workload.key, workload=workload)
            for _, seconds in variants:  # beside it: the same workload with the remedy, where it changes it
                changed = with_prestop_sleep(workload, seconds)
                if changed.doc != workload.doc:
                    yield ProfileItem.from_parent(self, name=changed.key, workload=changed)


class DepartingItem(pytest.Item):
    """A profile's test: a departure is reported as its lines, without a traceback."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, Departed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)  # type: ignore[arg-type]


class ProfileItem(DepartingItem):
    def __init__(self, *, workload: Workload, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workload = workload

    def runtest(self) -> None:
        out = profile(self.config, self.nodeid, self.workload)
        self.user_properties.append((PROFILE_KEY, json.dumps(out.to_json(), default=str)))
        lines = [d.line() for d in out.departures]
        if lines:
            raise Departed(
                f"{self.workload.key} departs from what Kubernetes documents:\n  " + "\n  ".join(lines)
            )
        if out.findings and self.config.getoption("fail_on") == "findings":
            found = [f.line() for f in out.findings]
            raise Departed(
                f"{self.workload.key} loses requests while Kubernetes keeps its promise (--fail-on "
                "findings):\n  " + "\n  ".join(found)
            )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"profile {self.workload.key}"


class NodeLossItem(DepartingItem):
    """Node loss, for every workload of the run at once (:mod:`podlife.profile.nodeloss`): it holds
    the worker it stops; its findings join each workload's profile in the reports."""

    def __init__(self, *, workloads: list[Workload], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workloads = workloads

    def runtest(self) -> None:
        out = node_loss(self.config, self.nodeid, self.workloads)
        self.user_properties.append((NODE_LOSS_KEY, json.dumps(out.to_json(), default=str)))
        if lines := out.lines():
            raise Departed("node loss departs from what Kubernetes documents:\n  " + "\n  ".join(lines))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"node loss of {len(self.workloads)} workload(s)"


def with_node_loss(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The run's node-loss test, first (it takes longest), for the workloads collected."""
    workloads = [i.workload for i in items if isinstance(i, ProfileItem)]
    if workloads and not config.getoption("no_node_loss"):
        session = items[0].session
        items.insert(
            0, NodeLossItem.from_parent(session, name=NODE_LOSS, nodeid=NODE_LOSS, workloads=workloads)
        )


def collect_file(config: pytest.Config, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if config.getoption("profile") and file_path.suffix in SUFFIXES:
        return ProfileFile.from_parent(parent, path=file_path)
    return None


def cluster(config: pytest.Config) -> Cluster:
    """The cluster profiled on, connected once per process, with podlife's agent for the nodes
    Docker cannot reach (a profile's container kill and kernel log on any cluster)."""
    return connected(config, "profile")


def profile(config: pytest.Config, test: str, workload: Workload) -> Profile:
    """The workload profiled on one worker it holds, in a namespace of its own, deleted afterwards."""
    on = cluster(config)
    on.can_get(workload.images(), workload.path.name)
    opened = frame.hold(config, test, on, Needs(), host_ports(workload.docs()))
    try:
        kube = opened.namespace("profile-" + workload.name, node=opened.node)
        docs = shape.pinned([with_images([workload.doc], on.image_map)[0]], opened.node or "")
        out = Profiler(kube, replace(workload, doc=docs[0])).run()
        return replace(out, manifest=_relative(workload.path), node=opened.node)
    finally:
        opened.close()


def node_loss(config: pytest.Config, test: str, workloads: list[Workload]) -> NodeLossPhase:
    """Every workload in a namespace of its own, preferring the worker this test holds (and stops).
    Host ports are removed: the workloads share the node, and no probe goes through one."""
    on = cluster(config)
    opened = frame.hold(config, test, on, NODE_LOSS_NEEDS, False)
    node = opened.node or on.workers()[-1]
    try:
        subjects = []
        for workload in workloads:
            kube = opened.namespace("nodeloss-" + workload.name, prefer=node)
            docs = shape.preferring(shape.without_host_ports(with_images([workload.doc], on.image_map)), node)
            subjects.append((kube, replace(workload, doc=docs[0])))
        return nodeloss.phase(subjects, node, on.lost_node)
    finally:
        opened.close()


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
