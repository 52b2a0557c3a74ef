"""The reference set's profile against the values Kubernetes documents for each workload, and each
observation coming out both ways across the set (a profile that gives one answer for every shape has
proved nothing).  ``python tests/subjects/profile/check.py reports/profile.json [...]``; exit 1 on
a mismatch, naming each (and its file, when there are several).  ``--strangers`` holds
``tests/subjects/strangers/``'s profile to its values instead (BusyBox's programs as Debian builds
them: what Kubernetes documents for their shapes, and complete; the both-ways rule is the reference
set's)."""

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
    # a server that exits at once on SIGTERM: Kubernetes keeps two pods Ready (no departure); the
    # requests it may lose are a finding whose mechanism is measured (how many varies run to run)
    "Deployment/web-exits": {
        "replaced": True,
        "node_replaced": True,
        "departures": 0,
        "findings_explained": True,
    },
    # the same with a preStop sleep: it loses none
    "Deployment/web-exits-prestop": {
        "replaced": True,
        "node_replaced": True,
        "keeps_serving": True,
        "departures": 0,
        "findings_explained": True,
    },
}

# BusyBox 1.35.0's httpd and sleep (tests/subjects/strangers/).  Neither installs a handler for
# SIGTERM, and a container's PID 1 without one does not get it (the kernel drops it): both are killed
# at their grace period.  The Deployment's default strategy with one replica surges (25 % rounds up
# to one extra pod) and keeps none unavailable (25 % rounds down to 0): it keeps serving.
STRANGERS: dict[str, dict[str, Any]] = {
    "Deployment/httpd": {
        "data": {
            "scratch": {"container-restart": True, "pod-recreate": False, "node-loss": False},
            "httpd:rootfs": {"container-restart": False, "pod-recreate": False, "node-loss": False},
        },
        "restarted": {"httpd": ["httpd"]},
        "killed_at_grace": {"httpd": True},
        "replaced": True,
        "node_replaced": True,
        "keeps_serving": True,
    },
    "Deployment/httpd-exits": {
        "restarted": {"httpd": ["httpd"]},
        "killed_at_grace": {"httpd": False},
        "replaced": True,
        "node_replaced": True,
        "departures": 0,
        "findings_explained": True,
    },
    # the remedy measured beside it (--variant prestop-sleep): the kubelet waits 5 s before SIGTERM
    "Deployment/httpd-exits+prestop-sleep-5s": {
        "replaced": True,
        "node_replaced": True,
        "keeps_serving": True,
        "departures": 0,
        "findings_explained": True,
    },
    "Pod/sleeper": {
        "data": {
            "work": {"container-restart": True, "pod-recreate": False, "node-loss": False},
            "sleep:rootfs": {"container-restart": False, "pod-recreate": False, "node-loss": False},
        },
        "restarted": {"sleep": ["sleep"]},
        "killed_at_grace": {"sleep": True},
        "replaced": False,
        "node_replaced": False,
        "keeps_serving": None,
    },
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
        "departures": len(subject.get("departures") or []),
        # requests lost while Kubernetes kept its promise: each with the old pods' way out that explains it
        "findings_explained": all(
            not f["mechanism"].startswith("no old pod") for f in subject.get("findings") or []
        ),
    }


def mismatches(
    subjects: list[dict[str, Any]], want: dict[str, dict[str, Any]] = EXPECTED, both_ways: bool = True
) -> list[str]:
    by = {s["workload"]: measured(s) for s in subjects}
    out = [f"{w}: not profiled" for w in want if w not in by]
    for workload, expected in want.items():
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
    return out + (one_sided(list(by.values())) if both_ways else [])


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


def unmeasured(subjects: list[dict[str, Any]]) -> list[str]:
    """A complete profile: nothing the profile could not measure (an event that does not apply to a
    shape, such as a bare pod's rolling update, is listed with its reason and is not missing)."""
    return [
        f"{s['workload']}: {what} not measured: {why}"
        for s in subjects
        for what, why in (s.get("unmeasured") or {}).items()
        # a preStop hook's run is reported by neither the API nor the node: a limit, said, not a gap
        if not str(why).startswith("not applicable") and not what.endswith(" preStop")
    ]


def main(args: list[str]) -> int:
    strangers = "--strangers" in args
    paths = [a for a in args if a != "--strangers"]
    if not paths:
        print("usage: check.py [--strangers] PROFILE_JSON...", file=sys.stderr)
        return 2
    return max(check(Path(p), strangers, many=len(paths) > 1) for p in paths)


def check(path: Path, strangers: bool, many: bool) -> int:
    name, expected = ("strangers' profile", STRANGERS) if strangers else ("reference profile", EXPECTED)
    name += f" ({path})" if many else ""
    try:  # a version whose profile never ran (tox -e matrix goes on past it): one line, and the rest
        subjects = json.loads(path.read_text())["subjects"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{name}: {path} is not a profile.json ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    problems = mismatches(subjects, expected, both_ways=not strangers) + unmeasured(subjects)
    for problem in problems:
        print(f"{name}: {problem}", file=sys.stderr)
    if not problems:
        both = "" if strangers else ", each observation both ways"
        print(f"{name}: {len(expected)} workloads as documented, complete{both}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
