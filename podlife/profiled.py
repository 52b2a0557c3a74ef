"""A workload's lifecycle profile, typed: what :mod:`podlife.profile` measured, as the reports read it.

A :class:`Profile` holds one workload's observations (its containers' start, each container's
SIGKILL, their graceful stop when the pod is deleted, the pod's recreation, the data kept in each
place after each event, the rolling update, the node loss) and its :class:`Departure` s from what
Kubernetes documents.  A value that could not be measured is ``None``, with the reason in
``unmeasured`` (or the observation's own ``why``): never a guess.  The node loss is measured for every
workload of a run at once (:class:`NodeLossPhase`) and joined into each profile with
:meth:`Profile.with_node_loss`, which returns a new profile.

A profile stays typed from the measurement to the reports; it becomes JSON only to cross from a
pytest-xdist worker and in ``profile.json`` (:meth:`Profile.to_json`, :meth:`Profile.from_json`).
"""

from __future__ import annotations

import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

from podlife.findings import Finding, Leaving

CONTAINER_RESTART = "container-restart"
POD_RECREATE = "pod-recreate"
NODE_LOSS = "node-loss"
EVENTS = (CONTAINER_RESTART, POD_RECREATE, NODE_LOSS)  # after which the data in each place is looked for


@dataclass(frozen=True)
class Departure:
    """An observation that departs from what Kubernetes documents for the workload's shape."""

    observation: str
    documented: str  # what Kubernetes documents, and the page it is written on
    measured: str

    def line(self) -> str:
        return f"{self.observation}: documented {self.documented}; measured {self.measured}"


@dataclass(frozen=True)
class ContainerStart:
    """Seconds from the workload's apply to a container's start and readiness (an init container's
    end too)."""

    role: str  # init | sidecar | regular
    started_s: float | None
    ready_s: float | None
    ended_s: float | None = None  # an init container's end; None for the others


@dataclass(frozen=True)
class Start:
    containers: dict[str, ContainerStart]  # in start order
    pod_ready_s: float | None
    pods: int


@dataclass(frozen=True)
class Kill:
    """A SIGKILL of one container's main process through its node."""

    restarted: list[str] | None  # the containers that restarted; None: not measured (see why)
    unready_s: float | None  # how long the pod was unready (0.0: never)
    ready_again_s: float | None = None  # from the kill to the pod Ready again
    recovered: bool | None = None  # None: no kill was made (see why)
    why: str | None = None  # why a value is missing

    def alone(self, container: str) -> bool | None:
        """Whether the kill restarted the killed container alone (None: not measured)."""
        return None if self.restarted is None else self.restarted == [container]


@dataclass(frozen=True)
class Stop:
    """A container's end after its pod's deletion."""

    exit_code: int | None
    seconds: float | None  # from the deletion to its finishedAt (to the second)
    killed_at_grace: bool | None
    seen_after_s: float | None = None  # when the watch saw it: an upper bound
    why: str | None = None  # why a value is missing
    prestop_s: float | None = None  # a preStop hook's run: reported by neither the API nor the node


@dataclass(frozen=True)
class Recreate:
    """The pod deleted, and the pod again."""

    replaced: bool
    by: str
    ready_again_s: float | None
    node_before: str | None
    node_after: str | None


@dataclass(frozen=True)
class Kept:
    """One place a container writes (a volume, or a container's root filesystem), and whether a
    marker written there was found after each event, beside what Kubernetes documents."""

    type: str  # emptyDir | emptyDir-memory | pvc | hostPath | rootfs
    container: str
    survives: dict[str, bool | None] = field(default_factory=dict)  # event -> kept (None: not measured)
    documented: dict[str, bool] = field(default_factory=dict)

    def after(self, event: str, survives: bool | None, documented: bool) -> Kept:
        """The same place with one more event's outcome."""
        return replace(
            self,
            survives={**self.survives, event: survives},
            documented={**self.documented, event: documented},
        )


@dataclass(frozen=True)
class Baseline:
    """The requests before the first answered one (the request loop's own start): not counted."""

    requests: int
    failed: int
    errors: dict[str, int]
    until_s: float | None


@dataclass(frozen=True)
class RollingUpdate:
    """The image changed to the next version, with a steady request loop through a Service."""

    failed_requests: int
    requests: int
    longest_gap_s: float
    errors: list[str]
    windows_s: list[list[float]]  # [from, to] in seconds since the loop began
    rollout_s: float
    through: str
    baseline: Baseline
    documented_keeps_serving: bool
    fewest_ready: int | None = None  # the workload's pods Ready at once, fewest during the update
    documented_min_ready: int | None = None  # what the strategy documents as the fewest
    old_pods: list[Leaving] = field(default_factory=list)  # each old pod's way out of the Service


@dataclass(frozen=True)
class NodeLoss:
    """The worker the workload's pod ran on, stopped and started again."""

    node_before: str
    replaced: bool  # on another node while it was away
    documented_replaced: bool
    tolerated_s: int | None  # the pod's toleration of an unreachable node; None: for ever
    toleration: str  # whose toleration it is
    stock_toleration_s: int
    by: str  # what made the pod Ready afterwards
    node_after: str | None
    ready_again_s: float | None  # from the stop
    evicted_after_s: float | None  # from the node being unreachable
    no_replacement: str | None = None  # why none could be
    method: str | None = None  # how the node was stopped
    node_not_ready_after_s: float | None = None
    node_ready_again_after_s: float | None = None
    cluster: str = ""  # what the cluster does to a lost node's times, when podlife made it


@dataclass(frozen=True)
class NodeLossFinding:
    """One workload through the run's node loss: to be joined into its profile."""

    node_loss: NodeLoss | None  # None: not performed (the reason in unmeasured)
    data: dict[str, Kept]  # each place's outcome after the node loss alone
    departures: list[Departure]
    unmeasured: dict[str, str]


@dataclass(frozen=True)
class NodeLossPhase:
    """The run's one node loss, for every workload at once: the findings by workload key."""

    findings: dict[str, NodeLossFinding]

    def lines(self) -> list[str]:
        return [f"{key}: {d.line()}" for key, found in self.findings.items() for d in found.departures]

    def to_json(self) -> dict[str, Any]:
        return {key: asdict(found) for key, found in self.findings.items()}

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> NodeLossPhase:
        return cls({key: typed(NodeLossFinding, found) for key, found in saved.items()})


@dataclass(frozen=True)
class Profile:
    """One workload's lifecycle profile."""

    workload: str  # Kind/name
    manifest: str
    grace_s: int
    start: Start
    data: dict[str, Kept]  # by place: a volume's name, or CONTAINER:rootfs
    not_applicable: dict[str, str]  # places no probe can write, with the reason
    container_kill: dict[str, Kill]
    graceful_stop: dict[str, Stop]
    pod_recreate: Recreate | None
    node_loss: NodeLoss | None
    rolling_update: RollingUpdate | None
    unmeasured: dict[str, str]  # what could not be measured (or does not apply), with the reason
    departures: list[Departure]
    node: str | None = None  # the worker it was profiled on
    findings: list[Finding] = field(default_factory=list)  # the workload's part (not a departure)

    def with_node_loss(self, found: NodeLossFinding) -> Profile:
        """This profile with the run's node-loss findings joined in."""
        unmeasured = {k: v for k, v in self.unmeasured.items() if k != "node_loss"}
        data = dict(self.data)
        for key, seen in found.data.items():
            before = data.get(key, replace(seen, survives={}, documented={}))
            data[key] = before.after(NODE_LOSS, seen.survives.get(NODE_LOSS), seen.documented[NODE_LOSS])
        return replace(
            self,
            node_loss=found.node_loss,
            data=data,
            unmeasured={**unmeasured, **found.unmeasured},
            departures=[*self.departures, *found.departures],
        )

    def unmeasured_because(self, what: str, why: str) -> Profile:
        return replace(self, unmeasured={**self.unmeasured, what: why})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Profile:
        """The typed profile back from its JSON; a key that does not fit raises TypeError."""
        return typed(cls, saved)


def typed(kind: Any, value: Any) -> Any:
    """``value`` (parsed JSON) as ``kind``: a dataclass of this module, a dict, a list, or a plain value
    (``None`` stays ``None``)."""
    if value is None:
        return None
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        unknown = set(value) - {f.name for f in fields(kind)}
        if unknown:
            raise TypeError(f"{kind.__name__} has no {', '.join(sorted(unknown))}")
        return kind(**{k: typed(hints[k], v) for k, v in value.items()})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return typed(inner[0], value) if len(inner) == 1 else value
    if origin is dict:
        return {k: typed(args[1], v) for k, v in value.items()}
    if origin is list:
        return [typed(args[0], v) for v in value]
    return value
