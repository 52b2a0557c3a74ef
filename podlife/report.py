"""Reports a person reads first: claims.json, claims.md (each problem next to its fix, then
every claim), claims.html (the same pairs with pictures) and the GitHub job summary."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from podlife import html_report
from podlife.claims import SECTIONS

VERDICT_MARK = {"confirmed": "✅ confirmed", "refined": "🔎 refined", "refuted": "❌ refuted"}


def ordered(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims first, in the chapter's order (section, then as the suite declares them); then
    the counter-examples in the same order."""
    section = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(
        results, key=lambda r: (r["counter_example"], section.get(r["section"], 99), r.get("order", 0))
    )


def write(results: list[dict[str, Any]], reports: Path, meta: dict[str, Any], schedule: str = "") -> None:
    """claims.json, claims.md (with the run's schedule), claims.html, and the GitHub job summary."""
    results = ordered(results)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "claims.json").write_text(json.dumps({"meta": meta, "claims": results}, indent=2, default=str))
    table = markdown(results, meta) + ("\n" + schedule if schedule else "")
    (reports / "claims.md").write_text(table)
    html_report.write(results, reports, meta)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as out:
            out.write(table + "\n")


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# podlife: the chapter's claims, measured",
        "",
        f"Cluster: {meta.get('cluster', '?')} · run at {meta.get('started', '?')} · "
        f"{len(results)} claim(s) in {meta.get('duration_s', 0):.0f} s",
        "",
    ]
    lines += problems_and_fixes(results)
    section = None
    for r in results:
        title = "Counter-examples: each must be refuted" if r.get("counter_example") else r["section"]
        if title != section:
            section = title
            lines += [
                "",
                f"## {section}",
                "",
                "| claim | the chapter says | verdict | evidence | time |",
                "|---|---|---|---|---|",
            ]
        statement = f"<br>**measured:** {r['statement']}" if r.get("statement") else ""
        lines.append(
            f"| `{r['id']}` | {r['sentence']}{statement} | {VERDICT_MARK.get(r['verdict'], r['verdict'])} "
            f"| {evidence_cell(r['evidence'])} | {r['duration_s']:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def evidence_cell(evidence: dict[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, default=str)
            if len(value) > 160:
                value = value[:157] + "…"
        parts.append(f"{key}: {value}")
    return "<br>".join(p.replace("|", "\\|") for p in parts)


def problems_and_fixes(results: list[dict[str, Any]]) -> list[str]:
    """Each problem the chapter shows beside the fix it points to (CLAIMS' ``fixes``)."""
    paired = html_report.pairs(results)
    if not paired:
        return []
    main = {r["id"]: r for r in results if not r.get("counter_example")}

    def verdict(claim_id: str) -> str:
        r = main.get(claim_id)
        return VERDICT_MARK.get(r["verdict"], r["verdict"]) if r else "not run"

    lines = [
        "",
        "## Problems and their fixes",
        "",
        "| problem | verdict | fix | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{p}` | {verdict(p)} | `{f}` | {verdict(f)} |" for p, f in paired]
    return lines
