"""A profile's facts in words, with no markup: ``profile.md`` and ``profile.html`` each put them in
their own tables, lists and code, from the same :class:`~podlife.profiled.Profile`."""

from __future__ import annotations

from dataclasses import dataclass

from podlife.profiled import CONTAINER_RESTART, EVENTS, NODE_LOSS, POD_RECREATE, Kept, Profile

SHORT = {CONTAINER_RESTART: "restart", POD_RECREATE: "recreation", NODE_LOSS: "node loss"}
NOT_MEASURED = "not measured"


def cell(value: object) -> str:
    if value is None:
        return NOT_MEASURED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def secs(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value} s"


@dataclass(frozen=True)
class Outcome:
    """A place's data after one event: measured beside documented (None: not measured, or the event
    was not performed)."""

    text: str
    departs: bool | None  # None: nothing measured to hold


def outcome(kept: Kept, event: str) -> Outcome:
    if event not in kept.documented:
        return Outcome("not performed", None)
    seen, promised = kept.survives.get(event), kept.documented[event]
    text = (
        f"{'kept' if seen else 'lost' if seen is not None else NOT_MEASURED} (documented: {_kept(promised)})"
    )
    return Outcome(text, None if seen is None else seen != promised)


def _kept(value: bool) -> str:
    return "kept" if value else "lost"


# ---------------------------------------------------------------- the overview: one row per workload
OVERVIEW_HEAD = (
    "workload",
    "departures",
    "findings",
    "SIGKILL: restarted",
    "data kept after",
    "node loss",
    "rolling update",
)


def kill_isolation(p: Profile) -> str:
    """Whether each container's SIGKILL restarted it alone."""
    if not p.container_kill:
        return NOT_MEASURED
    alone = [c for c, k in p.container_kill.items() if k.alone(c)]
    if len(alone) == len(p.container_kill):
        return f"each container alone ({len(alone)} of {len(alone)})"
    others = [
        f"{c}: {NOT_MEASURED if k.restarted is None else cell(k.restarted)}"
        for c, k in p.container_kill.items()
        if not k.alone(c)
    ]
    return "; ".join([*(f"{c}: alone" for c in alone), *others])


def kept_per_event(p: Profile) -> list[str]:
    """Per event, in how many places the data was kept."""
    if not p.data:
        return ["no place a container writes"]
    out = []
    for event in EVENTS:
        values = [k.survives.get(event) for k in p.data.values() if event in k.documented]
        measured = [v for v in values if v is not None]
        if not measured:
            out.append(f"{SHORT[event]}: {NOT_MEASURED}")
            continue
        missing = len(values) - len(measured)
        more = f" ({missing} {NOT_MEASURED})" if missing else ""
        out.append(f"{SHORT[event]}: {sum(measured)} of {len(values)} place(s){more}")
    return out


def node_loss_short(p: Profile) -> str:
    loss = p.node_loss
    if loss is None:
        return NOT_MEASURED
    where = "replaced on another node" if loss.replaced else "not replaced while away"
    return f"{where}; Ready again {secs(loss.ready_again_s)} after the stop"


def update_short(p: Profile) -> str:
    update = p.rolling_update
    if update is None:
        why = p.unmeasured.get("rolling_update", "")
        return "not applicable" if why.startswith("not applicable") else NOT_MEASURED
    return f"{update.failed_requests} of {update.requests} requests failed"


# ---------------------------------------------------------------- a workload's section
CONTAINER_HEAD = (
    "container",
    "role",
    "started",
    "ready",
    "SIGKILL: restarted",
    "unready",
    "deleted: exit",
    "ended after (to the second)",
    "killed at grace",
)
DATA_HEAD = (
    "data in",
    "type",
    "container",
    "after a container restart",
    "after the pod's recreation",
    "after its node's loss",
)


def container_rows(p: Profile) -> list[tuple[str, list[str]]]:
    """(container, the rest of its row) in start order."""
    rows = []
    for name, c in p.start.containers.items():
        kill, stop = p.container_kill.get(name), p.graceful_stop.get(name)
        rows.append(
            (
                name,
                [
                    c.role,
                    secs(c.started_s),
                    secs(c.ready_s),
                    cell(kill.restarted) if kill else "not killed",
                    secs(kill.unready_s) if kill else "",
                    cell(stop.exit_code) if stop else "not stopped",
                    secs(stop.seconds) if stop else "",
                    cell(stop.killed_at_grace) if stop else "",
                ],
            )
        )
    return rows


def events(p: Profile) -> list[str]:
    """The pod's recreation, its node's loss and the rolling update, a sentence or two each."""
    lines = [f"Pod Ready {secs(p.start.pod_ready_s)} after it was applied ({p.start.pods} pod(s))."]
    if again := p.pod_recreate:
        lines.append(f"Deleted: replaced by {again.by}; Ready again {secs(again.ready_again_s)} later.")
    lines += lost(p)
    if update := p.rolling_update:
        fewest = (
            f"; at the fewest {update.fewest_ready} pod(s) Ready (documented: at least "
            f"{update.documented_min_ready})"
            if update.fewest_ready is not None
            else ""
        )
        lines.append(
            f"Rolling update (through {update.through}): {update.failed_requests} of {update.requests} "
            f"requests failed, the longest gap {update.longest_gap_s} s, rolled out in {update.rollout_s} s; "
            f"documented to keep serving: {cell(update.documented_keeps_serving)}{fewest}."
        )
        lines += [f"Old {x.line()}." for x in update.old_pods]
    return lines


FINDINGS_HEAD = ("workload", "observation", "measured", "mechanism", "remedy")
FINDINGS_NOTE = (
    "Requests the workload lost while Kubernetes kept what it documents: the workload's part, not a "
    "departure (they fail the run only with --fail-on findings)."
)


def lost(p: Profile) -> list[str]:
    """The node loss in two sentences: what happened to the pod, and the times that ruled it."""
    loss = p.node_loss
    if loss is None:
        return []
    toleration = "for ever" if loss.tolerated_s is None else f"{loss.tolerated_s} s"
    lines = [
        f"Node {loss.node_before} lost ({cell(loss.method)}): replaced on another node while it was away: "
        f"{cell(loss.replaced)} (documented {cell(loss.documented_replaced)}); Ready again "
        f"{secs(loss.ready_again_s)} after the stop, by {loss.by}, on {cell(loss.node_after)}.",
        f"The node was unreachable {secs(loss.node_not_ready_after_s)} after the stop; the pod tolerates "
        f"that {toleration} ({loss.toleration}; stock Kubernetes adds {loss.stock_toleration_s} s) and was "
        f"evicted {secs(loss.evicted_after_s)} after it.",
    ]
    if loss.no_replacement:
        lines.append(f"No replacement: {loss.no_replacement}.")
    if loss.cluster:
        lines.append(f"{loss.cluster}.")
    return lines


def reasons(p: Profile) -> list[tuple[str, str]]:
    """(what, why) for every place not applicable and everything not measured."""
    return [*p.not_applicable.items(), *p.unmeasured.items()]


def beside(profiles: list[Profile], workload: str) -> str:
    """The remedy measured beside a workload: each variant of it in the same run, in a few words."""
    return "".join(
        f"; measured beside it, {v.workload}: {update_short(v)}, {len(v.findings)} finding(s), "
        f"{len(v.departures)} departure(s)"
        for v in profiles
        if v.workload.startswith(workload + "+")
    )
