"""``claims.md``: every verdict, each problem beside its fix, the evidence in a table."""

from __future__ import annotations

import json
from typing import Any

from podlife.claims import Result, pairs
from podlife.report.where import measured_on

VERDICT_MARK = {
    "confirmed": "✅ confirmed",
    "refined": "🔎 refined",
    "refuted": "❌ refuted",
    "not applicable": "⚪ not applicable",
}


def render(results: list[Result], meta: Any) -> str:
    lines = [
        "# podlife: the chapter's claims, measured",
        "",
        f"Cluster: {meta.cluster} · run at {meta.started} · {len(results)} claim(s) in {chain_line(meta)}",
        "",
        measured_on(getattr(meta, "where", {})) + ".",
        "",
    ]
    lines += problems_and_fixes(results)
    section = None
    for r in results:
        title = "Counter-examples: each must be refuted" if r.counter_example else r.section
        if title != section:
            section = title
            lines += [
                "",
                f"## {section}",
                "",
                "| claim | the chapter says | verdict | evidence | time |",
                "|---|---|---|---|---|",
            ]
        statement = f"<br>**measured:** {r.statement}" if r.statement else ""
        lines.append(
            f"| `{r.id}` | {r.sentence}{statement} | {VERDICT_MARK.get(r.verdict, r.verdict)} "
            f"| {evidence_cell(r.evidence)} | {r.duration_s:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def chain_line(meta: Any) -> str:
    """The run's time, and beside it its critical chain when the run had one."""
    chain_s = getattr(meta, "chain_s", None)
    if not chain_s:
        return f"{meta.duration_s:.0f} s"
    ratio = meta.duration_s / chain_s
    parts = getattr(meta, "chain_parts", "")
    of = f" = {parts}" if parts else ""
    return f"{meta.duration_s:.0f} s (critical chain {chain_s:.0f} s{of}: {ratio:.2f} times)"


def evidence_cell(evidence: dict[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, default=str)
            if len(value) > 160:
                value = value[:157] + "…"
        parts.append(f"{key}: {value}")
    return "<br>".join(p.replace("|", "\\|") for p in parts)


def problems_and_fixes(results: list[Result]) -> list[str]:
    """Each problem the chapter shows beside the fix it points to (a claim's ``fixes``)."""
    paired = pairs(results)
    if not paired:
        return []
    main = {r.id: r for r in results if not r.counter_example}

    def verdict(claim_id: str) -> str:
        r = main.get(claim_id)
        return VERDICT_MARK.get(r.verdict, r.verdict) if r else "not run"

    lines = [
        "",
        "## Problems and their fixes",
        "",
        "| problem | verdict | fix | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{p}` | {verdict(p)} | `{f}` | {verdict(f)} |" for p, f in paired]
    return lines
