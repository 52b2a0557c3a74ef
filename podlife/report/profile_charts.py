"""A workload's events as one picture, drawn from its typed profile: each container's start (started,
then ready), the pod's unready time after each container's SIGKILL, each container's end after the
pod's deletion against its grace period, and the pod after its node was stopped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podlife.profiled import NodeLoss, Profile
from podlife.report.page import figure, png

COLOURS = {"ok": "#2da44e", "killed": "#cf222e", "wait": "#afb8c1", "unready": "#fb8f44"}
WIDTH_IN = 12.0  # at 100 dpi: as wide as the page's column
LANE_IN = 0.6  # per container, per lane
FONT = 10

Bars = list[tuple[float, float, str, str]]  # (from, width, colour, what its end is)


def start_bars(p: Profile, name: str) -> Bars:
    c = p.start.containers[name]
    if c.started_s is None:
        return []
    bars = [(0.0, c.started_s, COLOURS["wait"], "started")]
    if c.ready_s is not None and c.ready_s > c.started_s:
        bars.append((c.started_s, c.ready_s - c.started_s, COLOURS["ok"], "ready"))
    return bars


def kill_bars(p: Profile, name: str) -> Bars:
    kill = p.container_kill.get(name)
    if kill is None or kill.unready_s is None:
        return []
    return [(0.0, kill.unready_s, COLOURS["unready"], "unready")]


def stop_bars(p: Profile, name: str) -> Bars:
    stop = p.graceful_stop.get(name)
    if stop is None or stop.seconds is None:
        return []
    colour = COLOURS["killed"] if stop.killed_at_grace else COLOURS["ok"]
    return [(0.0, stop.seconds, colour, f"exit {stop.exit_code}")]


LANES: list[tuple[str, Callable[[Profile, str], Bars]]] = [
    ("start: applied → started (grey) → ready (green)", start_bars),
    ("after its SIGKILL: the pod unready (orange)", kill_bars),
    ("after the pod's deletion: until the container ended (red: killed at the grace period)", stop_bars),
]


def events_chart(p: Profile) -> str:
    """One lane per event, one row of bars per container; the node loss as a last lane."""
    names = list(p.start.containers)
    if not names:
        return ""
    count = len(LANES) + (p.node_loss is not None)
    height = 0.6 + sum(0.7 + LANE_IN * len(names) for _ in LANES) + (1.2 if p.node_loss else 0)
    fig, _ = figure(width=WIDTH_IN, height=height)
    fig.clf()
    ratios = [len(names)] * len(LANES) + ([1.3] if p.node_loss else [])
    grid = fig.add_gridspec(count, 1, height_ratios=ratios)
    for i, (title, bars) in enumerate(LANES):
        ax = fig.add_subplot(grid[i])
        for y, name in enumerate(reversed(names)):
            _draw(ax, y, bars(p, name))
        ax.set_yticks(range(len(names)), list(reversed(names)), fontsize=FONT)
        ax.set_ylim(-0.75, len(names) - 0.25)
        _style(ax, title)
        if bars is stop_bars:
            _grace(ax, p.grace_s, len(names))
    if p.node_loss is not None:
        node_lane(fig.add_subplot(grid[len(LANES)]), p.node_loss)
    fig.supxlabel("seconds", fontsize=FONT)
    return png(fig)


def _draw(ax: Any, y: float, bars: Bars) -> None:
    """A row of bars, each end named with its moment (the labels alternate above and below)."""
    for i, (start, width, colour, what) in enumerate(bars):
        ax.broken_barh([(start, max(width, 0.05))], (y - 0.2, 0.4), color=colour)
        end = round(start + width, 2)
        above = i % 2 == 0
        ax.text(
            end,
            y + (0.24 if above else -0.24),
            f" {what}: {end:g} s",
            fontsize=FONT - 2,
            ha="left",
            va="bottom" if above else "top",
            color="#1f2328",
        )


def _style(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=FONT + 1, loc="left")
    ax.tick_params(axis="x", labelsize=FONT - 1)
    ax.set_xlim(0, max(ax.dataLim.x1, 0.1) * 1.18)  # room for the last end's name
    ax.grid(axis="x", color="#eaeef2", linewidth=0.8)
    ax.set_axisbelow(True)


def _grace(ax: Any, grace_s: float, rows: int) -> None:
    ax.set_xlim(0, max(ax.get_xlim()[1], grace_s * 1.25))
    ax.axvline(grace_s, color="#57606a", linestyle="--", linewidth=1)
    ax.text(grace_s, rows - 0.5, f" grace period {grace_s:g} s", fontsize=FONT - 2, color="#57606a", va="top")


def node_lane(ax: Any, loss: NodeLoss) -> None:
    """After its node was stopped: unreachable (grey), tolerated until the eviction (orange), then
    until a pod of the workload was Ready again (green)."""
    unreachable, evicted, ready = loss.node_not_ready_after_s, loss.evicted_after_s, loss.ready_again_s
    marks = [(0.0, unreachable, COLOURS["wait"], "unreachable")] if unreachable is not None else []
    if unreachable is not None and evicted is not None:
        marks.append((unreachable, evicted, COLOURS["unready"], "evicted"))
        if ready is not None and ready > unreachable + evicted:
            marks.append((unreachable + evicted, ready - unreachable - evicted, COLOURS["ok"], "Ready"))
    _draw(ax, 0, marks)
    ax.set_yticks([0], ["pod"], fontsize=FONT)
    ax.set_ylim(-0.75, 0.75)
    _style(
        ax, "after its node was stopped: unreachable (grey), tolerated (orange), until Ready again (green)"
    )
