"""``profile.html``: the profile's Markdown as a page (its tables as tables), with one picture per
workload of its events: each container's start (started, then ready), the pod's unready time after
each container's SIGKILL, each container's end after the pod's deletion against its grace period, and
the pod after its node was stopped."""

from __future__ import annotations

import html
from typing import Any

from podlife.report.page import STYLE, figure, png

COLOURS = {"ok": "#2da44e", "killed": "#cf222e", "wait": "#c8c8c8", "unready": "#fb8f44"}


def events_chart(p: dict[str, Any]) -> str:
    """Three rows of bars per container: start, SIGKILL (pod unready), deletion (to the end)."""
    containers = list(((p.get("start") or {}).get("containers") or {}).items())
    if not containers:
        return ""
    loss = p.get("node_loss")
    fig, _ = figure(width=6.6, height=1.2 + 0.9 * len(containers) + (0.9 if loss else 0))
    fig.clf()
    lanes = [
        ("start", start_bars),
        ("after its SIGKILL: the pod unready", kill_bars),
        ("after the deletion", stop_bars),
    ]
    for i, (title, bars) in enumerate(lanes):
        ax = fig.add_subplot(len(lanes) + bool(loss), 1, i + 1)
        for y, (name, _c) in enumerate(containers):
            for start, width, colour in bars(p, name):
                ax.broken_barh([(start, max(width, 0.05))], (y - 0.35, 0.7), color=colour)
        ax.set_yticks(range(len(containers)), [n for n, _ in containers], fontsize=7)
        ax.set_title(title, fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        if i == 2 and p.get("grace_s") is not None:
            ax.axvline(p["grace_s"], color="#57606a", linestyle="--", linewidth=1)
            ax.text(p["grace_s"], len(containers) - 0.5, " grace period", fontsize=6, color="#57606a")
    if loss:
        node_lane(fig.add_subplot(len(lanes) + 1, 1, len(lanes) + 1), loss)
    fig.supxlabel("seconds", fontsize=7)
    return png(fig)


def node_lane(ax: Any, loss: dict[str, Any]) -> None:
    """After its node was stopped: unreachable (grey), tolerated until the eviction (orange), then
    until a pod of the workload was Ready again (green)."""
    unreachable, evicted = loss.get("node_not_ready_after_s"), loss.get("evicted_after_s")
    ready = loss.get("ready_again_s")
    marks = [(0.0, unreachable, COLOURS["wait"])] if unreachable is not None else []
    if unreachable is not None and evicted is not None:
        marks.append((unreachable, evicted, COLOURS["unready"]))
        if ready is not None and ready > unreachable + evicted:
            marks.append((unreachable + evicted, ready - unreachable - evicted, COLOURS["ok"]))
    for start, width, colour in marks:
        ax.broken_barh([(start, max(width, 0.05))], (-0.35, 0.7), color=colour)
    ax.set_yticks([0], ["pod"], fontsize=7)
    ax.set_title("after its node was stopped: unreachable, tolerated, Ready again", fontsize=8, loc="left")
    ax.tick_params(axis="x", labelsize=7)


def start_bars(p: dict[str, Any], name: str) -> list[tuple[float, float, str]]:
    c = p["start"]["containers"][name]
    started, ready = c.get("started_s"), c.get("ready_s")
    if started is None:
        return []
    bars = [(0.0, started, COLOURS["wait"])]
    return bars + (
        [(started, ready - started, COLOURS["ok"])] if ready is not None and ready > started else []
    )


def kill_bars(p: dict[str, Any], name: str) -> list[tuple[float, float, str]]:
    unready = (p.get("container_kill") or {}).get(name, {}).get("unready_s")
    return [(0.0, unready, COLOURS["unready"])] if unready is not None else []


def stop_bars(p: dict[str, Any], name: str) -> list[tuple[float, float, str]]:
    stop = (p.get("graceful_stop") or {}).get(name, {})
    if stop.get("seconds") is None:
        return []
    return [(0.0, stop["seconds"], COLOURS["killed"] if stop.get("killed_at_grace") else COLOURS["ok"])]


def tables(markdown: str) -> str:
    """Our own Markdown (headings, tables, list items, paragraphs) as HTML."""
    out, rows = [], []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-", ":", " "} for c in cells):
                rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if rows:
            out.append('<table class="grid">' + "".join(rows) + "</table>")
            rows = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    return "".join(out)


def render(profiles: list[dict[str, Any]], markdown: str) -> str:
    """The page: the Markdown report's sections, each workload's picture after its heading."""
    sections = markdown.split("\n## ")
    body = [tables(sections[0])]
    by_heading = {f"`{p['workload']}`": p for p in profiles}
    for section in sections[1:]:
        body.append(tables("## " + section))
        heading = section.split(" ", 1)[0]
        if heading in by_heading:
            body.append(events_chart(by_heading[heading]))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>podlife profiles</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
