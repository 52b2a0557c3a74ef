"""Progress of a run: which scenarios wait, run, tear down or are done, and since when.

Every process of a run (pytest-xdist's workers included) appends one JSON line per change to
``reports/progress.jsonl``; the process that started the run prints a status line from it
every half minute, and at the end writes the schedule (who ran when, waited how long, on which
worker) into the report and the GitHub job summary.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podlife.claims import ALONE, OTHER, SPREADER, STOPPER

STATES = ("waiting", "running", "tearing down", "done")


def record(path: Path, test: str, state: str, **info: Any) -> None:
    """Append one change (lines shorter than PIPE_BUF land whole, whoever else appends)."""
    line = json.dumps({"at": round(time.time(), 3), "test": test, "state": state, "pid": os.getpid(), **info})
    with path.open("a") as f:
        f.write(line + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def short(test: str) -> str:
    return test.rsplit("::", 1)[-1].removeprefix("test_")


def status(entries: list[dict[str, Any]], total: int, started: float) -> str:
    """One line: time so far, done/total, what runs, what waits and for what."""
    latest: dict[str, dict[str, Any]] = {}
    for e in entries:
        latest[e["test"]] = e
    by = {s: [t for t, e in latest.items() if e["state"] == s] for s in STATES}
    waiting = [f"{short(t)} (for {latest[t].get('on', '?')})" for t in by["waiting"]]
    parts = [
        f"{time.time() - started:5.0f}s",
        f"done {len(by['done'])}/{total}",
        f"running: {', '.join(map(short, by['running'])) or '-'}",
    ]
    if waiting:
        parts.append(f"waiting: {'; '.join(waiting)}")
    if by["tearing down"]:
        parts.append(f"tearing down: {', '.join(map(short, by['tearing down']))}")
    return "[podlife] " + " · ".join(parts)


@dataclass
class Span:
    test: str
    pid: int
    queued: float
    started: float | None
    ended: float | None
    node: str | None


def spans(entries: Iterable[dict[str, Any]]) -> list[Span]:
    out: dict[str, Span] = {}
    for e in entries:
        span = out.setdefault(e["test"], Span(e["test"], e["pid"], e["at"], None, None, None))
        if e["state"] == "running":
            span.started, span.node = e["at"], e.get("node")
        elif e["state"] == "tearing down":
            span.ended = e["at"]
    return sorted(out.values(), key=lambda s: s.queued)


def schedule(entries: list[dict[str, Any]]) -> str:
    """The run as a table: when each scenario started (after waiting how long), how long it ran."""
    rows = spans(entries)
    if not rows:
        return ""
    zero = min(s.queued for s in rows)
    lines = [
        "## Schedule",
        "",
        "| scenario | process | worker | waited | started | ran |",
        "|---|---|---|---:|---:|---:|",
    ]
    for s in rows:
        waited = f"{s.started - s.queued:.0f} s" if s.started else "-"
        started = f"{s.started - zero:.0f} s" if s.started else "-"
        ran = f"{s.ended - s.started:.0f} s" if s.started and s.ended else "-"
        lines.append(f"| `{short(s.test)}` | {s.pid} | {s.node or 'any'} | {waited} | {started} | {ran} |")
    return "\n".join(lines) + "\n"


UNKNOWN_S = 60.0  # a scenario no run has timed yet


def held_spans(entries: Iterable[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """When each scenario held its share of the cluster: from running to done (its teardown
    included, unlike :func:`spans`: a stopped worker is held until it is back)."""
    start: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for e in entries:
        if e["state"] == "running":
            start[e["test"]] = e["at"]
        elif e["state"] == "done" and e["test"] in start:
            out[e["test"]] = (start[e["test"]], e["at"])
    return out


def held_for(entries: Iterable[dict[str, Any]]) -> dict[str, float]:
    """How long each scenario held its share of the cluster: from running to done."""
    return {test: round(end - begin, 1) for test, (begin, end) in held_spans(entries).items()}


def covered(intervals: Iterable[tuple[float, float]]) -> float:
    """How much time the intervals cover together (an overlap counts once)."""
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(intervals):
        total += max(0.0, end - max(begin, reach))
        reach = max(reach, end)
    return total


def chain(entries: Iterable[dict[str, Any]], kinds: dict[str, str]) -> tuple[float, str] | None:
    """The critical chain: the scenarios no two of which can run at once, one after another, as
    held in this run: every stopper (each stops or drains a worker); beside them the longest
    scenario that cannot run while a worker is stopped (a spreader; the spreaders may overlap
    one another, so one counts) or, longer, the longest other; and a scenario that takes the
    cluster to itself (nothing overlaps it).  Its length is the time those covered (parts that
    did overlap count once, so it never flatters the run), with its parts named; no stopper and
    nothing alone, None."""
    span = held_spans(entries)

    def of(*wanted: str) -> list[str]:
        return [t for t, kind in kinds.items() if kind in wanted and t in span]

    def length(tests: list[str]) -> float:
        return sum(span[t][1] - span[t][0] for t in tests)

    stoppers, alone = of(STOPPER), of(ALONE)
    if not stoppers and not alone:
        return None
    spreaders = sorted(of(SPREADER), key=lambda t: length([t]))[-1:] if stoppers else []
    longest = sorted(of(STOPPER, SPREADER, OTHER), key=lambda t: length([t]))[-1:]
    parts = [("stopper(s)", stoppers), ("the longest spreader", spreaders)]
    if length(longest) > length(stoppers + spreaders):
        parts = [("the longest scenario", longest)]
    parts.append(("alone", alone))
    total = covered(span[t] for _, tests in parts for t in tests)
    return round(total, 1), " + ".join(f"{name} {length(tests):.0f} s" for name, tests in parts if tests)


def durations(path: Path) -> dict[str, float]:
    try:
        return {k: float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}


def store_durations(path: Path, entries: list[dict[str, Any]]) -> None:
    """Merge this run's times into the file the next runs are ordered by."""
    merged = {**durations(path), **held_for(entries)}
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")


class Printer:
    """Says the status line every ``every`` seconds until stopped."""

    def __init__(
        self, path: Path, total: int = 0, every: float = 30.0, say: Callable[[str], Any] = print
    ) -> None:
        self.path, self.total, self.every, self.say = path, total, every, say
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="podlife-progress")

    def start(self) -> Printer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.say(status(read(self.path), self.total, self.started))

    def stop(self) -> None:
        self._stop.set()
