"""``profile.md`` (and the GitHub job summary): an overview with one row per workload, the
departures from what Kubernetes documents, then one section per workload, written from the typed
profiles (:mod:`podlife.report.profile_facts` holds the words the page shares)."""

from __future__ import annotations

from typing import Any

from podlife.profiled import EVENTS, Profile
from podlife.report import profile_facts as facts
from podlife.report.where import measured_on


def render(profiles: list[Profile], meta: Any) -> str:
    lines = [
        "# podlife: lifecycle profiles",
        "",
        f"Cluster: {meta.cluster} · run at {meta.started} · "
        f"{len(profiles)} workload(s), {meta.duration_s:.0f} s",
        "",
        measured_on(getattr(meta, "where", {})) + ".",
        "",
        "## Overview",
        "",
        *table(facts.OVERVIEW_HEAD, [overview_row(p) for p in profiles]),
        "",
        "## Departures from what Kubernetes documents",
        "",
    ]
    departures = [(p.workload, d) for p in profiles for d in p.departures]
    if departures:
        rows = [[code(w), d.observation, d.documented, d.measured] for w, d in departures]
        lines += table(("workload", "observation", "documented", "measured"), rows)
    else:
        lines.append("None: every observation held to what Kubernetes documents for its shape.")
    lines += ["", "## Findings: the workload's part", "", facts.FINDINGS_NOTE, ""]
    found = [(p.workload, f) for p in profiles for f in p.findings]
    if found:
        rows = [
            [code(w), f.observation, f.measured, f.mechanism, f.remedy + facts.beside(profiles, w)]
            for w, f in found
        ]
        lines += table(facts.FINDINGS_HEAD, rows)
    else:
        lines.append("None: no workload lost requests while Kubernetes kept its promises.")
    for p in profiles:
        lines += ["", *section(p)]
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """A table cell's text: a ``|`` would end the cell."""
    return text.replace("|", "\\|")


def code(text: str) -> str:
    return f"`{text}`"


def table(head: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(escape(c) for c in cells) + " |"

    return [row(list(head)), row(["---"] * len(head)), *(row(r) for r in rows)]


def overview_row(p: Profile) -> list[str]:
    return [
        code(p.workload),
        str(len(p.departures)),
        str(len(p.findings)),
        facts.kill_isolation(p),
        "; ".join(facts.kept_per_event(p)),
        facts.node_loss_short(p),
        facts.update_short(p),
    ]


def section(p: Profile) -> list[str]:
    lines = [f"## {code(p.workload)} ({p.manifest}, on {p.node or '?'})", ""]
    if p.departures:
        lines += ["Departs from what Kubernetes documents:", "", *(f"- {d.line()}" for d in p.departures), ""]
    if p.findings:
        lines += ["Findings (the workload's part):", "", *(f"- {f.line()}" for f in p.findings), ""]
    lines += table(facts.CONTAINER_HEAD, [[code(name), *rest] for name, rest in facts.container_rows(p)])
    lines += ["", *table(facts.DATA_HEAD, [data_row(key, p) for key in p.data])]
    for sentence in facts.events(p):
        lines += ["", sentence]
    if reasons := facts.reasons(p):
        lines += ["", "Not measured, or not applicable:", ""]
        lines += [f"- {code(what)}: {why}" for what, why in reasons]
    return lines


def data_row(key: str, p: Profile) -> list[str]:
    kept = p.data[key]
    return [code(key), kept.type, code(kept.container), *(facts.outcome(kept, e).text for e in EVENTS)]
