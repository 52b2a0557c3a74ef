"""What a scenario holds of the one cluster while it runs, so that scenarios run side by side
and never disturb each other.

Scenarios share one cluster.  What they really share is declared (:class:`podlife.claims.Needs`)
and held here, through file locks that every process of a run sees (pytest-xdist's workers
included), keyed by the cluster's kubeconfig:

- ``node-<worker>``: a scenario that keeps its pods on one worker holds that worker shared, and
  its pods are pinned there; one that spreads or moves pods holds every worker shared; one
  that stops a worker holds it exclusively (nothing else runs there meanwhile).
- ``hostport-<worker>``: the chapter's pod binds hostPort 8080, so one such pod per worker.
- ``cpu``: a scenario that measures the workers' free CPU and requests most of it.

A scenario takes all it needs at once or nothing (under one gate, so two never deadlock),
and waits, bounded, while another holds what it needs.  A worker stopper that has to wait
reserves its worker: new scenarios go elsewhere meanwhile, so it is not starved.  The
ledger file says who holds what, for the progress report and for a timeout's message.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from podlife.claims import Needs
from podlife.errors import SetupError
from podlife.paths import cache_dir

WAIT_S = 1800.0


@dataclass
class Allocation:
    """What one scenario holds; released (its locks closed) once its pods are gone."""

    who: str
    node: str | None  # the worker its pods are pinned to ("one"), or preferred (a stopper of "all")
    names: list[str]
    files: list[IO[bytes]] = field(default_factory=list, repr=False)
    ledger: Path | None = None

    def release(self) -> None:
        for f in self.files:
            f.close()
        self.files.clear()
        if self.ledger:
            with gate(self.ledger.parent):
                update(self.ledger, lambda held: held.pop(self.who, None))


def lock_dir(kubeconfig: Path) -> Path:
    key = hashlib.sha256(str(Path(kubeconfig).resolve()).encode()).hexdigest()[:16]
    path = cache_dir() / "locks" / f"{key}.resources"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def gate(base: Path) -> Iterator[None]:
    with (base / "gate").open("ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def take(base: Path, name: str, exclusive: bool) -> IO[bytes] | None:
    """The lock ``name``, at once, or None when another holds it in a conflicting way."""
    f = (base / name).open("ab")
    try:
        fcntl.flock(f, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def update(ledger: Path, change: object) -> dict[str, dict[str, object]]:
    try:
        held = json.loads(ledger.read_text())
    except (OSError, ValueError):
        held = {}
    held = {k: v for k, v in held.items() if alive(int(v.get("pid", 0)))}
    change(held)  # type: ignore[operator]
    ledger.write_text(json.dumps(held))
    return held


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


Lock = tuple[str, bool]  # (name, exclusive)


def plans(
    needs: Needs, host_ports: bool, workers: list[str], held: dict[str, dict[str, object]]
) -> list[tuple[str | None, list[Lock]]]:
    """Every way to satisfy ``needs``, best first: the scenario's worker, and the locks that
    takes.  The last worker is the one a scenario stops: a stopper tries it first, everyone
    else last, so a stopper seldom waits for a worker to empty."""
    load = {w: sum(1 for h in held.values() if h.get("node") == w) for w in workers}
    stoppable = workers[-1]
    order = sorted(workers, key=lambda w: ((w == stoppable) != needs.stops_node, load[w], w))
    cpu = [("cpu", True)] if needs.cpu else []
    if needs.alone:
        return [(None, [*((f"node-{w}", True) for w in workers), *cpu])]
    if needs.nodes == "all":
        ports = [(f"hostport-{w}", True) for w in workers] if host_ports else []
        targets: list[str | None] = list(order) if needs.stops_node else [None]
        return [(t, [*((f"node-{w}", w == t) for w in workers), *ports, *cpu]) for t in targets]

    def port(w: str) -> list[Lock]:
        return [(f"hostport-{w}", True)] if host_ports else []

    return [(w, [(f"node-{w}", needs.stops_node), *port(w), *cpu]) for w in order]


def reserved(base: Path, workers: list[str], mine: set[str]) -> set[str]:
    """Workers another waiting stopper has reserved: no new scenario may go there."""
    out = set()
    for w in sorted(set(workers) - mine):
        probe = take(base, f"reserve-{w}", exclusive=False)
        if probe is None:
            out.add(w)
        else:
            probe.close()
    return out


def blocking(
    options: list[tuple[str | None, list[Lock]]], held: dict[str, dict[str, object]], barred: set[str]
) -> str:
    """Who holds what the scenario's first choice needs, in a conflicting way."""
    out = [f"{w} (reserved by a scenario that stops it)" for w in sorted(barred)]
    for name, exclusive in options[0][1] if options else []:
        holders = [
            who
            for who, h in held.items()
            if name in (h.get("locks") if exclusive else h.get("exclusive")) or []
        ]
        out += [f"{name} ({', '.join(who.rsplit('::', 1)[-1] for who in holders)})"] if holders else []
    return "; ".join(out)


def take_all(base: Path, locks: list[Lock]) -> list[IO[bytes]] | None:
    """Every lock at once, or none (whatever was taken is let go again)."""
    got = []
    for name, exclusive in locks:
        f = take(base, name, exclusive)
        if f is None:
            for g in got:
                g.close()
            return None
        got.append(f)
    return got


def first_free(
    base: Path, ledger: Path, who: str, options: list[tuple[str | None, list[Lock]]], barred: set[str]
) -> Allocation | None:
    """The first of ``options`` whose locks are all free (none on a reserved worker), taken and
    entered in the ledger; None when every one conflicts."""
    for node, locks in options:
        if any(name.removeprefix("node-") in barred for name, _ in locks):
            continue
        got = take_all(base, locks)
        if got is not None:
            names = [name for name, _ in locks]
            exclusive = [name for name, ex in locks if ex]
            entry = {"pid": os.getpid(), "node": node, "locks": names, "exclusive": exclusive}
            update(ledger, lambda h, e=entry: h.update({who: e}))
            return Allocation(who, node, names, got, ledger)
    return None


def acquire(
    base: Path,
    who: str,
    needs: Needs,
    host_ports: bool,
    workers: list[str],
    *,
    timeout: float = WAIT_S,
    waiting: Callable[[str], None] | None = None,
) -> Allocation:
    """Hold all a scenario needs, waiting (bounded) while others hold it; ``waiting(text)`` is
    told who holds it, each time that changes."""
    ledger, deadline, said, pause = base / "ledger.json", time.monotonic() + timeout, "", 0.05
    mine: dict[str, IO[bytes]] = {}  # this scenario's reservation, while it waits to stop a worker
    try:
        while True:
            with gate(base):
                held = update(ledger, lambda h: None)
                barred = reserved(base, workers, set(mine))
                options = plans(needs, host_ports, workers, held)
                if got := first_free(base, ledger, who, options, barred):
                    return got
                if (needs.stops_node or needs.alone) and not mine:
                    for target in workers if needs.alone else [options[0][0] or workers[0]]:
                        if (f := take(base, f"reserve-{target}", exclusive=True)) is not None:
                            mine[target] = f
                text = blocking(options, held, barred)
            if text != said and waiting:
                waiting(text or "a worker another scenario reserved")
                said = text
            if time.monotonic() > deadline:
                raise SetupError(
                    f"waited {timeout:.0f}s for what this scenario needs ({needs}); held: {text}"
                )
            time.sleep(pause)  # a lock another process holds: nothing to watch but the lock itself
            pause = min(pause * 2, 1.0)
    finally:
        for f in mine.values():
            f.close()
