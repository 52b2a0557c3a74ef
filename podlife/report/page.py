"""claims.html: each problem the chapter shows next to the fix it points to, with small
pictures a person reads at a glance.

- start-up order (``startup-order`` / ``ordered-start``): per run, when PostgreSQL started
  and began accepting connections, when the web app first tried and when it got through;
- updates (``update-needs-downtime`` / ``rolling-update-no-downtime``): requests per second,
  the failed ones in red, with the moment of the update;
- the storage ladder and the separated architecture's steps as small tables.

Pictures are PNG (matplotlib, Agg backend) embedded in the page, so the report is one
file.  Each is drawn from the typed picture a scenario recorded (:mod:`podlife.pictures`),
never by looking up evidence keys: a scenario and the report cannot drift apart silently.
The page is built from whatever results exist: a claim that did not run shows as "not run".
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

from podlife.claims import Result, pairs
from podlife.pictures import LadderTable, RequestSeries, StartupTimeline, StepsTable, StopTimeline
from podlife.report.where import measured_on

VERDICT_COLOUR = {"confirmed": "#1a7f37", "refined": "#9a6700", "refuted": "#cf222e"}


def moment(epoch: float | None, zero: float) -> float | None:
    return None if epoch is None else epoch - zero


# ---------------------------------------------------------------- pictures
def figure(width: float = 5.6, height: float = 2.4) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    fig, ax = pyplot.subplots(figsize=(width, height), dpi=100)
    return fig, ax


def png(fig: Any) -> str:
    from matplotlib import pyplot

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    pyplot.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="chart" src="data:image/png;base64,{data}">'


def startup_chart(picture: StartupTimeline) -> str:
    """One row per run: PostgreSQL starting then accepting; the web app waiting then answering."""
    runs = picture.runs
    fig, ax = figure(height=0.9 + 0.42 * len(runs))
    end = 0.0
    for i, run in enumerate(runs):
        zero = min(run.db_started, run.web_started)
        db, ready, web = run.db_started - zero, run.db_accepting - zero, run.web_started - zero
        answered = moment(run.web_answered, zero)
        through = answered if answered is not None else web
        last = max(ready, through) + 0.4
        end = max(end, last)
        y = len(runs) - 1 - i
        ax.broken_barh([(db, ready - db)], (y + 0.05, 0.4), color="#c8c8c8")
        ax.broken_barh([(ready, last - ready)], (y + 0.05, 0.4), color="#2da44e")
        ax.broken_barh([(web, max(through - web, 0.02))], (y - 0.45, 0.4), color="#fb8f44")
        ax.broken_barh([(through, last - through)], (y - 0.45, 0.4), color="#0969da")
    ax.set_yticks(range(len(runs)), [f"run {len(runs) - i}" for i in range(len(runs))], fontsize=7)
    ax.set_xlim(0, end * 1.18 + 0.1)
    ax.set_xlabel("seconds since the first container's process started", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    from matplotlib.patches import Patch

    legend = [
        Patch(color="#c8c8c8", label="db starting"),
        Patch(color="#2da44e", label="db accepting"),
        Patch(color="#fb8f44", label="web started, not answering"),
        Patch(color="#0969da", label="web answering"),
    ]
    ax.legend(
        handles=legend,
        fontsize=6,
        ncol=4,
        loc="upper center",
        bbox_to_anchor=(0.5, 1.0 + 1.2 / (len(runs) + 3)),
    )
    return png(fig)


def requests_chart(series: RequestSeries) -> str:
    """Requests per bin, failed ones in red, the moments marked; the requests before the first
    answered one (the loop's own start, before the subject answered) drawn apart, hatched grey, as
    the baseline that the title states beside the totals the evidence counts."""
    fig, ax = figure(width=6.6)
    width = series.bin_s
    xs = [i * width for i in range(len(series.ok))]
    before = series.baseline_ok or [0] * len(xs), series.baseline_failed or [0] * len(xs)
    base = [a + b for a, b in zip(*before, strict=True)]
    if any(base):
        ax.bar(
            xs,
            base,
            width=width,
            align="edge",
            color="#d0d7de",
            hatch="//",
            label="baseline (before the first answer)",
        )
    ax.bar(xs, series.ok, width=width, align="edge", bottom=base, color="#2da44e", label="answered")
    tops = [a + b for a, b in zip(base, series.ok, strict=True)]
    ax.bar(xs, series.failed, width=width, align="edge", bottom=tops, color="#cf222e", label="failed")
    ax.set_ylabel(f"requests per {width:g} s", fontsize=8)
    for label, at in series.marks.items():
        ax.axvline(at, color="#57606a", linestyle="--", linewidth=1)
        ax.text(at, ax.get_ylim()[1] * 0.95, f" {label}", fontsize=7, va="top", color="#57606a")
    ax.set_title(title(series), fontsize=9)
    ax.set_xlabel("seconds since the request loop began", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return png(fig)


def title(series: RequestSeries) -> str:
    requests, failed = series.counted()
    text = f"{failed} of {requests} requests failed"
    before, before_failed = series.baseline()
    return text + (f" (baseline before: {before_failed} of {before})" if before else "")


def _tone(outcome: str) -> str:
    if outcome.startswith("kept"):
        return "#dafbe1"
    if outcome.startswith("lost"):
        return "#ffebe9"
    return "#fff8c5"


def ladder_table(table: LadderTable) -> str:
    """The storage ladder: rows where the data lives, columns what happened."""
    columns = list(dict.fromkeys(c for row in table.rows.values() for c in row))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for name, cells in table.rows.items():
        tds = "".join(
            f'<td style="background:{_tone(cells[c])}">{html.escape(cells[c])}</td>'
            if c in cells
            else "<td>-</td>"
            for c in columns
        )
        rows.append(f"<tr><th>{html.escape(name)}</th>{tds}</tr>")
    return f'<table class="grid"><tr><th>data in</th>{head}</tr>{"".join(rows)}</table>'


def steps_table(table: StepsTable) -> str:
    """The separated architecture: each action and the lines read back after it."""
    rows = []
    for s in table.steps:
        read = f"{s.lines} line(s) {'intact' if s.intact else 'changed'}"
        tone = _tone("kept" if s.intact else "lost")
        cells = f'<td>{html.escape(s.step)}</td><td style="background:{tone}">{read}</td>'
        rows.append(f"<tr>{cells}<td>{s.seconds:.1f} s</td></tr>")
    return (
        f'<table class="grid"><tr><th>action</th><th>read back</th><th>took</th></tr>{"".join(rows)}</table>'
    )


def stop_chart(timeline: StopTimeline) -> str:
    """Each container from the pod's deletion to its end (red: killed, 137), the grace period, and
    the moments the evidence names."""
    fig, ax = figure(width=6.6, height=1.0 + 0.35 * len(timeline.ends))
    for y, e in enumerate(timeline.ends):
        if e.ended_s is not None:
            colour = "#cf222e" if e.exit_code == 137 else "#2da44e"
            ax.broken_barh([(0.0, max(e.ended_s, 0.05))], (y - 0.35, 0.7), color=colour)
            ax.text(e.ended_s, y, f" exit {e.exit_code}", fontsize=6, va="center")
    ax.set_yticks(range(len(timeline.ends)), [e.container for e in timeline.ends], fontsize=7)
    ax.axvline(timeline.grace_s, color="#57606a", linestyle="--", linewidth=1)
    ax.text(timeline.grace_s, len(timeline.ends) - 0.5, " grace period", fontsize=6, color="#57606a")
    for label, at in timeline.marks.items():
        ax.axvline(at, color="#8250df", linestyle=":", linewidth=1)
        ax.text(at, -0.6, f" {label.removesuffix('_after_s').replace('_', ' ')}", fontsize=6, color="#8250df")
    ax.set_xlabel("seconds after the pod's deletion (ends to the second, from the kubelet)", fontsize=8)
    ax.tick_params(labelsize=7)
    return png(fig)


DRAW: dict[type, Callable[[Any], str]] = {
    StopTimeline: stop_chart,
    StartupTimeline: startup_chart,
    RequestSeries: requests_chart,
    LadderTable: ladder_table,
    StepsTable: steps_table,
}


def picture(result: Result) -> str:
    """The result's picture, drawn by its type (a result without one has none)."""
    return DRAW[type(result.picture)](result.picture) if result.picture is not None else ""


# ---------------------------------------------------------------- the page
def card(result: Result | None, claim_id: str, role: str) -> str:
    sentence = html.escape(result.sentence if result else "")
    if result is None:
        return (
            f'<div class="card missing"><div class="role">{role}</div><h4>{claim_id}</h4>'
            f'<p class="quote">{sentence}</p><p class="note">not run in this report</p></div>'
        )
    verdict = result.verdict
    colour = VERDICT_COLOUR.get(verdict, "#57606a")
    where = html.escape(result.manifest)
    statement = f"<p>{html.escape(result.statement)}</p>" if result.statement else ""
    return (
        f'<div class="card"><div class="role">{role}</div><h4>{claim_id} '
        f'<span class="verdict" style="background:{colour}">{verdict}</span></h4>'
        f'<p class="quote">{sentence}</p>{statement}{picture(result)}'
        f'<p class="note">{result.duration_s:.0f} s · {where}</p>'
        "</div>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1f2328;max-width:1300px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-bottom:1.6em}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6em .9em;overflow-x:auto}
.card.missing{background:#f6f8fa;color:#57606a}
.role{font-size:.75em;text-transform:uppercase;color:#57606a}
h4{margin:.2em 0}
.verdict{color:#fff;border-radius:1em;padding:.05em .6em;font-size:.8em}
.quote{font-style:italic;color:#57606a}
.note{font-size:.8em;color:#57606a}
img{max-width:100%}
table.grid{border-collapse:collapse;font-size:.85em}
table.grid td,table.grid th{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
"""


def render(results: list[Result], meta: Any) -> str:
    main = {r.id: r for r in results if not r.counter_example}
    counters = [r for r in results if r.counter_example]
    body = [
        "<h1>podlife: the chapter's problems and their fixes, measured</h1>",
        f'<p class="note">Cluster: {html.escape(meta.cluster)} · run at '
        f"{html.escape(meta.started)} · {len(results)} result(s) in {meta.duration_s:.0f} s<br>"
        f"{html.escape(measured_on(getattr(meta, 'where', {})))}</p>",
        "<h2>Problems and their fixes</h2>",
    ]
    paired = pairs(results)
    if not paired:
        body.append('<p class="note">no problem or fix ran in this report</p>')
    for problem, fix in paired:
        body.append(
            f'<h3>{problem} → {fix}</h3><div class="pair">'
            f"{card(main.get(problem), problem, 'the problem')}{card(main.get(fix), fix, 'the fix')}</div>"
        )
    if counters:
        body.append("<h2>Counter-examples: each must be refuted</h2>")
        body.append(
            '<div class="pair">' + "".join(card(r, r.id, "counter-example") for r in counters) + "</div>"
        )
    shown = {i for pair in paired for i in pair}
    others = [r for r in main.values() if r.id not in shown]
    if others:
        body.append(
            '<h2>The other claims</h2><table class="grid">'
            "<tr><th>claim</th><th>verdict</th><th>measured</th></tr>"
        )
        for r in others:
            body.append(
                f"<tr><td><code>{r.id}</code></td><td>{r.verdict}</td>"
                f"<td>{html.escape(r.statement)}</td></tr>"
            )
        body.append("</table>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>podlife claims</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
