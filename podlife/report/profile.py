"""A profile's reports: ``profile.json`` (what CI and other tools read), ``profile.md`` (the
departures from what Kubernetes documents first, then one table per workload and event),
``profile.html`` (the same as a page) and the GitHub job summary."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from podlife.report import profile_page, summary


def write(profiles: list[dict[str, Any]], reports: Path, meta: Any) -> None:
    profiles = sorted(profiles, key=lambda p: p["workload"])
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "profile.json").write_text(json.dumps({"meta": asdict(meta), "subjects": profiles}, indent=2))
    text = markdown(profiles, meta)
    (reports / "profile.md").write_text(text)
    (reports / "profile.html").write_text(profile_page.render(profiles, text))
    summary.append(text)


def cell(value: Any) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)


def markdown(profiles: list[dict[str, Any]], meta: Any) -> str:
    departures = [(p["workload"], d) for p in profiles for d in p.get("departures", [])]
    lines = [
        "# podlife: lifecycle profiles",
        "",
        f"Cluster: {meta.cluster} · run at {meta.started} · "
        f"{len(profiles)} workload(s), {meta.duration_s:.0f} s",
        "",
        "## Departures from what Kubernetes documents",
        "",
    ]
    if departures:
        lines += ["| workload | observation | documented | measured |", "|---|---|---|---|"]
        lines += [
            f"| `{w}` | {d['observation']} | {d['documented']} | {d['measured']} |" for w, d in departures
        ]
    else:
        lines.append("None: every observation held to what Kubernetes documents for its shape.")
    for p in profiles:
        lines += ["", *workload_tables(p)]
    return "\n".join(lines) + "\n"


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


CONTAINER_HEAD = ("container", "role", "started", "ready", "SIGKILL: restarted", "unready", "deleted: exit")
DATA_HEAD = (
    "data in",
    "type",
    "container",
    "survives a container restart",
    "survives the pod's recreation",
    "survives its node's loss",
)


def workload_tables(p: dict[str, Any]) -> list[str]:
    lines = [f"## `{p['workload']}` ({p['manifest']}, on {p.get('node') or '?'})", ""]
    start = p.get("start") or {}
    head = (*CONTAINER_HEAD, "ended after (to the second)", "killed at grace")
    lines += [row(*head), row(*("---" for _ in head))]
    for name, c in (start.get("containers") or {}).items():
        kill, stop = p["container_kill"].get(name, {}), p["graceful_stop"].get(name, {})
        lines.append(
            row(
                f"`{name}`",
                c["role"],
                f"{cell(c['started_s'])} s",
                f"{cell(c['ready_s'])} s",
                cell(kill.get("restarted")),
                f"{cell(kill.get('unready_s'))} s",
                cell(stop.get("exit_code")),
                f"{cell(stop.get('seconds'))} s",
                cell(stop.get("killed_at_grace")),
            )
        )
    lines += ["", f"Pod Ready {cell(start.get('pod_ready_s'))} s after it was applied.", ""]
    lines += [row(*DATA_HEAD), row(*("---" for _ in DATA_HEAD))]
    for key, d in p["data"].items():
        s, doc = d["survives"], d["documented"]
        lines.append(
            row(
                f"`{key}`",
                d["type"],
                f"`{d['container']}`",
                f"{cell(s.get('container-restart'))} (documented {cell(doc.get('container-restart'))})",
                f"{cell(s.get('pod-recreate'))} (documented {cell(doc.get('pod-recreate'))})",
                f"{cell(s.get('node-loss'))} (documented {cell(doc.get('node-loss'))})",
            )
        )
    return [*lines, *recreated(p)]


def recreated(p: dict[str, Any]) -> list[str]:
    again = p.get("pod_recreate") or {}
    lines = [
        "",
        f"Deleted: replaced by {cell(again.get('by'))}; "
        f"Ready again {cell(again.get('ready_again_s'))} s later.",
    ]
    lines += lost(p.get("node_loss"))
    if update := p.get("rolling_update"):
        lines.append(
            f"Rolling update (through {update['through']}): {update['failed_requests']} of "
            f"{update['requests']} requests failed, the longest gap {update['longest_gap_s']} s, "
            f"rolled out in {update['rollout_s']} s; "
            f"documented to keep serving: {cell(update['documented_keeps_serving'])}."
        )
    for key, why in {**p.get("not_applicable", {}), **p.get("unmeasured", {})}.items():
        lines.append(f"- `{key}`: {why}")
    return lines


def lost(loss: dict[str, Any] | None) -> list[str]:
    """The node loss in two sentences: what happened to the pod, and the times that ruled it."""
    if not loss:
        return []
    toleration = loss.get("tolerated_s")
    lines = [
        f"Node {loss['node_before']} lost ({loss.get('method')}): replaced on another node while it was "
        f"away: {cell(loss.get('replaced'))} (documented {cell(loss.get('documented_replaced'))}); "
        f"Ready again {cell(loss.get('ready_again_s'))} s after the stop, by {cell(loss.get('by'))}, "
        f"on {cell(loss.get('node_after'))}.",
        f"The node was unreachable {cell(loss.get('node_not_ready_after_s'))} s after the stop; the pod "
        f"tolerates that {'for ever' if toleration is None else f'{toleration} s'} "
        f"({loss.get('toleration')}; stock Kubernetes adds {loss.get('stock_toleration_s')} s) and was "
        f"evicted {cell(loss.get('evicted_after_s'))} s after it.",
    ]
    if loss.get("cluster"):
        lines.append(f"{loss['cluster']}.")
    return lines
