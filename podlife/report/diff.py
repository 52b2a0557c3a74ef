"""``python -m podlife diff A B``: two runs side by side (two Kubernetes versions, two runtimes, a
committed baseline and this change), what changed first.

Both files are ``claims.json`` or both ``profile.json``.  For claims: first the claims whose verdict
changed (the exit status is 1 when any did, so a pipeline can gate on it), then the claims only one
run has, then the rest (same verdict).  For profiles: first the observations held to what Kubernetes
documents that changed (data kept, what a SIGKILL restarted, replaced or not, kept serving), the
departures and findings that appeared or went (exit status 1 for any), then the timings side by side.
Timings are listed, never judged: one run of each gives no run-to-run spread, and podlife does not
guess one.  Where each run measured (Kubernetes, runtime, cgroup mode, gates) heads the report.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podlife.report.page import STYLE
from podlife.report.where import measured_on


class DiffInputError(ValueError):
    """Files podlife cannot compare; the message is one line naming them."""


@dataclass
class Diff:
    kind: str  # "claims" | "profiles"
    where: tuple[str, str]
    changed: list[dict[str, Any]] = field(default_factory=list)  # what fails the gate
    only: list[dict[str, Any]] = field(default_factory=list)  # in one run only
    timings: list[dict[str, Any]] = field(default_factory=list)  # listed, not judged
    same: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DiffInputError(f"{path}: not a podlife report ({exc})") from None
    if not isinstance(saved, dict) or not ({"claims", "subjects"} & set(saved)):
        raise DiffInputError(f"{path}: neither a claims.json nor a profile.json")
    return saved


def diff(a: Path, b: Path) -> Diff:
    left, right = load(a), load(b)
    if ("claims" in left) != ("claims" in right):
        raise DiffInputError(f"{a} and {b}: one is a claims.json, the other a profile.json")
    where = (
        measured_on((left.get("meta") or {}).get("where") or {}),
        measured_on((right.get("meta") or {}).get("where") or {}),
    )
    return claims(left, right, where) if "claims" in left else profiles(left, right, where)


def claims(left: dict[str, Any], right: dict[str, Any], where: tuple[str, str]) -> Diff:
    a = {r["test"] or r["id"]: r for r in left["claims"]}
    b = {r["test"] or r["id"]: r for r in right["claims"]}
    out = Diff("claims", where)
    for test in sorted(set(a) | set(b)):
        x, y = a.get(test), b.get(test)
        if x is None or y is None:
            out.only.append({"test": test, "in": "B" if x is None else "A", "verdict": (x or y)["verdict"]})
        elif x["verdict"] != y["verdict"]:
            out.changed.append(
                {
                    "test": test,
                    "id": x["id"],
                    "A": x["verdict"],
                    "B": y["verdict"],
                    "A_says": x.get("statement", ""),
                    "B_says": y.get("statement", ""),
                    "explained": x.get("kep") or y.get("kep") or "",
                }
            )
        else:
            out.same += 1
            out.timings.append({"what": test, "A": x.get("duration_s"), "B": y.get("duration_s")})
    return out


def observations(subject: dict[str, Any]) -> dict[str, Any]:
    """What a profile holds to Kubernetes' documentation, flat: the values a version may change."""
    update = subject.get("rolling_update")
    flat: dict[str, Any] = {
        f"data {k} after {e}": v for k, kept in subject["data"].items() for e, v in kept["survives"].items()
    }
    flat |= {f"SIGKILL of {c}: restarted": k.get("restarted") for c, k in subject["container_kill"].items()}
    flat |= {
        f"graceful stop of {c}: killed at grace": s.get("killed_at_grace")
        for c, s in subject["graceful_stop"].items()
    }
    flat["pod deleted: replaced"] = (subject.get("pod_recreate") or {}).get("replaced")
    flat["node loss: replaced"] = (subject.get("node_loss") or {}).get("replaced")
    flat["rolling update: no request failed"] = None if not update else update["failed_requests"] == 0
    flat["departures"] = sorted(d["observation"] for d in subject.get("departures") or [])
    flat["findings"] = sorted(f["observation"] for f in subject.get("findings") or [])
    return flat


def timings(subject: dict[str, Any]) -> dict[str, Any]:
    out = {"pod Ready after apply (s)": (subject.get("start") or {}).get("pod_ready_s")}
    out |= {f"SIGKILL of {c}: unready (s)": k.get("unready_s") for c, k in subject["container_kill"].items()}
    out |= {f"graceful stop of {c} (s)": s.get("seconds") for c, s in subject["graceful_stop"].items()}
    return out


def profiles(left: dict[str, Any], right: dict[str, Any], where: tuple[str, str]) -> Diff:
    a = {s["workload"]: s for s in left["subjects"]}
    b = {s["workload"]: s for s in right["subjects"]}
    out = Diff("profiles", where)
    for workload in sorted(set(a) | set(b)):
        x, y = a.get(workload), b.get(workload)
        if x is None or y is None:
            out.only.append({"test": workload, "in": "B" if x is None else "A"})
            continue
        ox, oy = observations(x), observations(y)
        moved = [
            {"test": workload, "what": k, "A": ox.get(k), "B": oy.get(k)}
            for k in sorted(set(ox) | set(oy))
            if ox.get(k) != oy.get(k)
        ]
        out.changed += moved
        out.same += not moved
        tx, ty = timings(x), timings(y)
        out.timings += [
            {"what": f"{workload}: {k}", "A": tx.get(k), "B": ty.get(k)} for k in sorted(set(tx) | set(ty))
        ]
    return out


def markdown(d: Diff, a: str, b: str) -> str:
    lines = [f"# podlife diff: {d.kind}", "", f"- A: `{a}`: {d.where[0]}", f"- B: `{b}`: {d.where[1]}", ""]
    title = "Verdicts that changed" if d.kind == "claims" else "Observations that changed"
    lines += [f"## {title} ({len(d.changed)})", ""]
    if d.changed:
        keys = [k for k in d.changed[0] if k not in ("A_says", "B_says")]
        lines += [f"| {' | '.join(keys)} |", f"|{'---|' * len(keys)}"]
        lines += [f"| {' | '.join(cell(row.get(k)) for k in keys)} |" for row in d.changed]
    else:
        lines.append("None.")
    lines += ["", f"## In one run only ({len(d.only)})", ""]
    lines += [f"- `{o['test']}`: only in {o['in']}" for o in d.only] or ["None."]
    lines += [
        "",
        f"## The rest: {d.same} the same",
        "",
        "Timings, side by side (one run each: no spread measured, so listed, not judged):",
        "",
        "| what | A | B |",
        "|---|---|---|",
    ]
    lines += [f"| {cell(t['what'])} | {cell(t['A'])} | {cell(t['B'])} |" for t in d.timings]
    return "\n".join(lines) + "\n"


def cell(value: Any) -> str:
    return ("—" if value is None else str(value)).replace("|", "\\|")


def page(text: str) -> str:
    """The markdown as a plain HTML page (pre-formatted: nothing of the input is interpreted)."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>podlife diff</title>'
        f"<style>{STYLE}</style></head><body><pre>{html.escape(text)}</pre></body></html>\n"
    )


def write(d: Diff, a: str, b: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(d, a, b)
    (out / "diff.md").write_text(text)
    (out / "diff.html").write_text(page(text))
    (out / "diff.json").write_text(json.dumps({"A": a, "B": b, **d.to_json()}, indent=1, default=str))
