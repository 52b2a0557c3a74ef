"""``profile.html``: the profiles as a page, written from the typed profiles (never from the Markdown):
an overview with one row per workload first, the departures from what Kubernetes documents, then a
section per workload with the picture of its events (:mod:`podlife.report.profile_charts`), its
containers, the data kept in each place after each event, and what could not be measured, and why.
Every text is escaped; the words are those of ``profile.md`` (:mod:`podlife.report.profile_facts`)."""

from __future__ import annotations

import html
import re
from typing import Any

from podlife.profiled import EVENTS, Departure, Profile
from podlife.report import profile_facts as facts
from podlife.report.page import STYLE
from podlife.report.profile_charts import events_chart
from podlife.report.where import measured_on

TONE = {True: "#ffebe9", False: "#dafbe1", None: "#fff8c5"}  # departs, holds, not measured
PAGE_STYLE = """
body{max-width:1320px}
h2{margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
h3{margin:1.2em 0 .4em}
section{margin-bottom:2.5em}
table.grid{margin:.4em 0 1em}
table.grid th{background:#f6f8fa}
td.num{text-align:right}
td.departs{background:#ffebe9;font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.95em;
background:#f6f8fa;border-radius:4px;padding:.05em .3em}
h2 code{background:none;padding:0}
ul.reasons li{margin:.2em 0}
figure{margin:.6em 0}
div.departs{background:#ffebe9;border:1px solid #ff8182;border-radius:6px;padding:.3em 1em;margin:.6em 0}
div.departs p{margin:.3em 0;font-weight:600}
figure img{width:100%;max-width:1200px;border:1px solid #eaeef2}
"""


def esc(text: object) -> str:
    return html.escape(str(text))


def code(text: str) -> str:
    return f"<code>{esc(text)}</code>"


def anchor(workload: str) -> str:
    return "w-" + re.sub(r"[^A-Za-z0-9_-]", "-", workload)


def linked(text: str) -> str:
    """A promise's text, escaped, its source ``(https://...)`` a link."""
    found = re.fullmatch(r"(.*) \((https://\S+)\)", text, flags=re.S)
    if not found:
        return esc(text)
    says, url = found.groups()
    return f'{esc(says)} (<a href="{esc(url)}">{esc(url.removeprefix("https://"))}</a>)'


def table(head: tuple[str, ...], rows: list[str], cls: str = "grid") -> str:
    ths = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def lines(texts: list[str]) -> str:
    return "<br>".join(esc(t) for t in texts)


def overview(profiles: list[Profile]) -> str:
    rows = []
    for p in profiles:
        count = len(p.departures)
        rows.append(
            f'<tr><td><a href="#{anchor(p.workload)}">{code(p.workload)}</a></td>'
            f'<td class="num{" departs" if count else ""}">{count}</td><td class="num">{len(p.findings)}</td>'
            f"<td>{esc(facts.kill_isolation(p))}</td><td>{lines(facts.kept_per_event(p))}</td>"
            f"<td{reason(p, 'node_loss')}>{esc(facts.node_loss_short(p))}</td>"
            f"<td{reason(p, 'rolling_update')}>{esc(facts.update_short(p))}</td></tr>"
        )
    return '<h2 id="overview">Overview</h2>' + table(facts.OVERVIEW_HEAD, rows, "grid overview")


def reason(p: Profile, what: str) -> str:
    """A cell's tooltip: why it was not measured."""
    why = p.unmeasured.get(what)
    return f' title="{esc(why)}"' if why else ""


def departures(profiles: list[Profile]) -> str:
    found: list[tuple[str, Departure]] = [(p.workload, d) for p in profiles for d in p.departures]
    title = "<h2>Departures from what Kubernetes documents</h2>"
    if not found:
        return title + "<p>None: every observation held to what Kubernetes documents for its shape.</p>"
    rows = [
        f'<tr><td><a href="#{anchor(w)}">{code(w)}</a></td><td>{esc(d.observation)}</td>'
        f"<td>{linked(d.documented)}</td><td>{esc(d.measured)}</td></tr>"
        for w, d in found
    ]
    return title + table(("workload", "observation", "documented", "measured"), rows)


def findings(profiles: list[Profile]) -> str:
    found = [(p.workload, f) for p in profiles for f in p.findings]
    title = f'<h2>Findings: the workload\'s part</h2><p class="note">{esc(facts.FINDINGS_NOTE)}</p>'
    if not found:
        return title + "<p>None: no workload lost requests while Kubernetes kept its promises.</p>"
    rows = [
        f'<tr><td><a href="#{anchor(w)}">{code(w)}</a></td><td>{esc(f.observation)}</td>'
        f"<td>{esc(f.measured)}</td><td>{esc(f.mechanism)}</td>"
        f"<td>{linked(f.remedy)}{esc(facts.beside(profiles, w))}</td></tr>"
        for w, f in found
    ]
    return title + table(facts.FINDINGS_HEAD, rows)


def containers(p: Profile) -> str:
    rows = [
        f"<tr><td>{code(name)}</td>" + "".join(f"<td>{esc(c)}</td>" for c in rest) + "</tr>"
        for name, rest in facts.container_rows(p)
    ]
    return "<h3>Containers</h3>" + table(facts.CONTAINER_HEAD, rows)


def data(p: Profile) -> str:
    if not p.data:
        return "<h3>Data</h3><p>No place a container writes.</p>"
    rows = []
    for key, kept in p.data.items():
        cells = []
        for event in EVENTS:
            seen = facts.outcome(kept, event)
            tone = "" if seen.text == "not performed" else f' style="background:{TONE[seen.departs]}"'
            cells.append(f"<td{tone}>{esc(seen.text)}</td>")
        rows.append(
            f"<tr><td>{code(key)}</td><td>{esc(kept.type)}</td><td>{code(kept.container)}</td>{''.join(cells)}</tr>"
        )
    return "<h3>Data kept in each place</h3>" + table(facts.DATA_HEAD, rows)


def reasons(p: Profile) -> str:
    found = facts.reasons(p)
    if not found:
        return ""
    items = "".join(f"<li>{code(what)}: {esc(why)}</li>" for what, why in found)
    return f'<h3>Not measured, or not applicable</h3><ul class="reasons">{items}</ul>'


def section(p: Profile) -> str:
    count = len(p.departures)
    verdict = f"{count} departure(s)" if count else "as documented"
    if p.findings:
        verdict += f"; {len(p.findings)} finding(s): the workload's part"
    head = (
        f'<section id="{anchor(p.workload)}"><h2>{code(p.workload)}</h2>'
        f'<p class="note">{esc(p.manifest)}, on {esc(p.node or "?")} · {esc(verdict)}</p>'
    )
    chart = events_chart(p).replace('alt="chart"', f'alt="the events of {esc(p.workload)}"')
    figure = f"<figure>{chart}</figure>" if chart else ""
    events = "<h3>Events</h3>" + "".join(f"<p>{esc(s)}</p>" for s in facts.events(p))
    return head + departed(p) + figure + containers(p) + data(p) + events + reasons(p) + "</section>"


def departed(p: Profile) -> str:
    """The workload's departures, at the top of its section."""
    if not p.departures:
        return ""
    items = "".join(
        f"<li><strong>{esc(d.observation)}</strong>: documented {linked(d.documented)}; measured "
        f"{esc(d.measured)}</li>"
        for d in p.departures
    )
    return f'<div class="departs"><p>Departs from what Kubernetes documents:</p><ul>{items}</ul></div>'


def render(profiles: list[Profile], meta: Any) -> str:
    body = [
        "<h1>podlife: lifecycle profiles</h1>",
        f'<p class="note">Cluster: {esc(meta.cluster)} · run at {esc(meta.started)} · '
        f"{len(profiles)} workload(s), {meta.duration_s:.0f} s<br>"
        f"{esc(measured_on(getattr(meta, 'where', {})))}</p>",
        overview(profiles),
        departures(profiles),
        findings(profiles),
        *(section(p) for p in profiles),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>podlife profiles</title>'
        f"<style>{STYLE}{PAGE_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
