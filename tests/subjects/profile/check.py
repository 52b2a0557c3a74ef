"""The reference set's profile against the values Kubernetes documents for each workload, and each
observation coming out both ways across the set (a profile that gives one answer for every shape has
proved nothing).  ``python tests/subjects/profile/check.py reports/profile.json``; exit 1 on a
mismatch, naming each."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

EXPECTED: dict[str, dict[str, Any]] = {
    "Pod/pair": {
        "data": {
            "scratch": {"container-restart": True, "pod-recreate": False, "node-loss": False},
            "handles-term:rootfs": {"container-restart": False, "pod-recreate": False, "node-loss": False},
            "ignores-term:rootfs": {"container-restart": False, "pod-recreate": False, "node-loss": False},
        },
        "restarted": {"handles-term": ["handles-term"], "ignores-term": ["ignores-term"]},
        "killed_at_grace": {"handles-term": False, "ignores-term": True},
        "replaced": False,
        "node_replaced": False,
        "keeps_serving": None,
    },
    "Deployment/cache": {
        "data": {"files": {"container-restart": True, "pod-recreate": False, "node-loss": False}},
        "restarted": {"cache": ["cache"]},
        "killed_at_grace": {"cache": False},
        "replaced": True,
        "node_replaced": True,
        "keeps_serving": None,
    },
    "StatefulSet/store": {
        "data": {"data": {"container-restart": True, "pod-recreate": True, "node-loss": True}},
        "restarted": {"store": ["store"]},
        "killed_at_grace": {"store": False},
        "replaced": True,
        "node_replaced": False,
        "keeps_serving": None,
    },
    "Pod/shipped": {
        "roles": {"shipper": "sidecar", "app": "regular"},
        "restarted": {"shipper": ["shipper"], "app": ["app"]},
        "killed_at_grace": {"shipper": False, "app": False},
        "replaced": False,
        "node_replaced": False,
        "keeps_serving": None,
    },
    "Deployment/web-surge": {"replaced": True, "node_replaced": True, "keeps_serving": True},
    "Deployment/web-no-surge": {"replaced": True, "node_replaced": True, "keeps_serving": False},
}


def measured(subject: dict[str, Any]) -> dict[str, Any]:
    update = subject.get("rolling_update")
    return {
        "data": {k: v["survives"] for k, v in subject["data"].items()},
        "roles": {c: v["role"] for c, v in (subject.get("start") or {}).get("containers", {}).items()},
        "restarted": {c: k.get("restarted") for c, k in subject["container_kill"].items()},
        "killed_at_grace": {c: g.get("killed_at_grace") for c, g in subject["graceful_stop"].items()},
        "replaced": (subject.get("pod_recreate") or {}).get("replaced"),
        "node_replaced": (subject.get("node_loss") or {}).get("replaced"),
        "keeps_serving": None if not update else update["failed_requests"] == 0,
    }


def mismatches(subjects: list[dict[str, Any]]) -> list[str]:
    by = {s["workload"]: measured(s) for s in subjects}
    out = [f"{w}: not profiled" for w in EXPECTED if w not in by]
    for workload, expected in EXPECTED.items():
        got = by.get(workload, {})
        for key, value in expected.items():
            seen = got.get(key)
            if isinstance(value, dict):
                out += [
                    f"{workload} {key} {k}: expected {v}, measured {(seen or {}).get(k)}"
                    for k, v in value.items()
                    if (seen or {}).get(k) != v
                ]
            elif workload in by and seen != value:
                out.append(f"{workload} {key}: expected {value}, measured {seen}")
    return out + one_sided(list(by.values()))


def one_sided(profiles: list[dict[str, Any]]) -> list[str]:
    """Every observation must take both values somewhere in the set."""
    seen: dict[str, set[str]] = {}
    for p in profiles:
        for events in p["data"].values():
            for event, value in events.items():
                seen.setdefault(f"data after {event}", set()).add(json.dumps(value))
        seen.setdefault("killed at grace", set()).update(json.dumps(v) for v in p["killed_at_grace"].values())
        seen.setdefault("replaced", set()).add(json.dumps(p["replaced"]))
        seen.setdefault("replaced after node loss", set()).add(json.dumps(p["node_replaced"]))
        seen.setdefault("roles", set()).update(json.dumps(r) for r in p["roles"].values())
        if p["keeps_serving"] is not None:
            seen.setdefault("keeps serving", set()).add(json.dumps(p["keeps_serving"]))
    return [f"{what}: always {sorted(values)}" for what, values in seen.items() if len(values - {"null"}) < 2]


def main(path: str) -> int:
    problems = mismatches(json.loads(Path(path).read_text())["subjects"])
    for problem in problems:
        print(f"reference profile: {problem}", file=sys.stderr)
    if not problems:
        print(f"reference profile: {len(EXPECTED)} workloads as documented, each observation both ways")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
