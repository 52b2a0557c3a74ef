"""podlife.run.resources and podlife.run.progress: what scenarios hold of the cluster, checked across real
processes (as pytest-xdist's workers are), and the run's progress and schedule."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from podlife.claims import Needs
from podlife.errors import SetupError
from podlife.kube.api.wait import poll_until
from podlife.report import Meta
from podlife.report.markdown import chain_line
from podlife.run import progress, resources

WORKERS = ["w1", "w2"]


FORK = multiprocessing.get_context("fork")  # before this process holds a lock: none is inherited


def hold_in_another_process(
    base: Path, needs: Needs, seconds: float, *, go: Any = None, workers: list[str] = WORKERS
) -> tuple[Any, Any]:
    """A second process takes ``needs`` (once ``go`` is set, if given) and keeps it ``seconds``."""
    ready = FORK.Event()

    def hold() -> None:
        if go is not None:
            go.wait(10)
        held = resources.acquire(base, "other", needs, True, workers, timeout=10)
        ready.set()
        time.sleep(seconds)  # holding, as a scenario does while it runs
        held.release()

    proc = FORK.Process(target=hold, daemon=True)
    proc.start()
    return proc, ready


def test_scenarios_on_one_worker_share_it_and_host_ports_go_one_per_worker(tmp_path: Path) -> None:
    a = resources.acquire(tmp_path, "a", Needs(), True, WORKERS)
    b = resources.acquire(tmp_path, "b", Needs(), True, WORKERS)
    assert {a.node, b.node} == {"w1", "w2"}  # the host port of each worker is taken once
    c = resources.acquire(tmp_path, "c", Needs(host_ports=False), False, WORKERS)
    assert c.node in WORKERS  # without host ports it shares a worker
    with pytest.raises(SetupError, match="hostport-w"):
        resources.acquire(tmp_path, "d", Needs(), True, WORKERS, timeout=0.5)
    a.release()
    assert resources.acquire(tmp_path, "d", Needs(), True, WORKERS, timeout=5).node == a.node


def test_a_worker_being_stopped_is_nobody_elses(tmp_path: Path) -> None:
    proc, ready = hold_in_another_process(tmp_path, Needs(stops_node=True), 3)
    assert ready.wait(10)
    held = json.loads((tmp_path / "ledger.json").read_text())["other"]
    stopped = held["node"]
    assert held["exclusive"] == [f"node-{stopped}", f"hostport-{stopped}"]
    one = resources.acquire(tmp_path, "one", Needs(), True, WORKERS, timeout=1)
    assert one.node != stopped
    waited: list[str] = []
    began = time.monotonic()
    spread = resources.acquire(tmp_path, "all", Needs(nodes="all"), False, WORKERS, waiting=waited.append)
    assert time.monotonic() - began > 1  # it waited for the stopper to finish
    assert waited and f"node-{stopped} (other)" in waited[0]
    assert spread.node is None and sorted(spread.names) == ["node-w1", "node-w2"]
    proc.join(5)


def test_a_stopper_that_waits_reserves_its_worker(tmp_path: Path) -> None:
    go = FORK.Event()
    proc, stopping = hold_in_another_process(tmp_path, Needs(stops_node=True), 0, go=go, workers=["w1"])
    first = resources.acquire(tmp_path, "first", Needs(), True, ["w1"])
    go.set()
    poll_until(
        "the stopper's reservation", lambda: resources.reserved(tmp_path, ["w1"], set()) == {"w1"}, timeout=10
    )
    newcomer = resources.acquire(tmp_path, "newcomer", Needs(host_ports=False), False, WORKERS, timeout=2)
    assert newcomer.node == "w2"  # the reserved worker takes no new scenario
    first.release()
    assert stopping.wait(10)
    proc.join(10)


def test_cpu_is_held_by_one_measurement_at_a_time(tmp_path: Path) -> None:
    held = resources.acquire(tmp_path, "a", Needs(nodes="all", cpu=True), False, WORKERS)
    with pytest.raises(SetupError, match="cpu"):
        resources.acquire(tmp_path, "b", Needs(nodes="all", cpu=True), False, WORKERS, timeout=0.3)
    held.release()


def test_progress_status_and_schedule(tmp_path: Path) -> None:
    log = tmp_path / "progress.jsonl"
    progress.record(log, "s.py::test_a", "running", node="w1")
    progress.record(log, "s.py::test_b", "waiting", on="hostport-w1 (test_a)")
    progress.record(log, "s.py::test_a", "tearing down")
    progress.record(log, "s.py::test_a", "done")
    entries = progress.read(log)
    line = progress.status(entries, 2, entries[0]["at"])
    assert "done 1/2" in line and "waiting: b (for hostport-w1 (test_a))" in line
    table = progress.schedule(entries)
    assert "| `a` |" in table and "| w1 |" in table
    durations = tmp_path / "durations.json"
    progress.store_durations(durations, entries)
    assert set(progress.durations(durations)) == {"s.py::test_a"}


def held(*spans: tuple[str, float, float]) -> list[dict[str, object]]:
    """Progress entries: each test running from its start to its end."""
    out = [{"at": a, "test": t, "state": "running"} for t, a, _ in spans]
    out += [{"at": b, "test": t, "state": "done"} for t, _, b in spans]
    return sorted(out, key=lambda e: e["at"])  # type: ignore[arg-type, return-value]


def test_the_critical_chain_is_what_cannot_overlap_one_after_another() -> None:
    kinds = {"stop": "stopper", "drain": "stopper", "spread": "spreader", "spread2": "spreader"}
    kinds |= {"other": "other", "alone": "alone"}
    entries = held(("stop", 0, 40), ("other", 1, 50), ("drain", 41, 71), ("spread", 71, 91))
    entries += held(("spread2", 72, 82), ("alone", 95, 105))
    # every stopper, the longest spreader (no spreader runs while a worker is stopped), the alone one
    assert progress.chain(entries, kinds) == (
        100.0,
        "stopper(s) 70 s + the longest spreader 20 s + alone 10 s",
    )
    # an other scenario longer than all of those together: it alone cannot overlap the alone one
    long_other = held(("stop", 0, 10), ("other", 0, 60), ("alone", 60, 70))
    assert progress.chain(long_other, kinds) == (70.0, "the longest scenario 60 s + alone 10 s")
    # no stopper: the spreaders overlap anything but the alone one
    assert progress.chain(held(("spread", 0, 5), ("alone", 5, 9)), kinds) == (
        9.0,
        "the longest scenario 5 s + alone 4 s",
    )
    assert progress.chain(held(("spread", 0, 5), ("other", 0, 9)), kinds) is None
    # parts that did overlap count once: the chain is never longer than the time they covered
    overlapping = held(("stop", 0, 40), ("spread", 30, 50), ("alone", 50, 60))
    assert progress.chain(overlapping, kinds) == (
        60.0,
        "stopper(s) 40 s + the longest spreader 20 s + alone 10 s",
    )
    meta = Meta(cluster="c", started="s", duration_s=91.0, chain_s=70.0, chain_parts="stopper(s) 70 s")
    assert chain_line(meta) == "91 s (critical chain 70 s = stopper(s) 70 s: 1.30 times)"
    assert chain_line(Meta(cluster="c", started="s", duration_s=91.0)) == "91 s"


def test_a_scenario_alone_holds_every_worker_and_waits_in_the_chain(tmp_path: Path) -> None:
    assert Needs(nodes="all", alone=True).kind == "alone"
    alone = resources.acquire(tmp_path, "alone", Needs(nodes="all", alone=True), False, WORKERS)
    assert alone.node is None and sorted(alone.names) == ["node-w1", "node-w2"]
    with pytest.raises(SetupError, match="node-w"):
        resources.acquire(tmp_path, "one", Needs(), False, WORKERS, timeout=0.3)
    alone.release()
    shared = resources.acquire(tmp_path, "one", Needs(), False, WORKERS)
    with pytest.raises(SetupError):
        resources.acquire(tmp_path, "alone", Needs(nodes="all", alone=True), False, WORKERS, timeout=0.3)
    assert resources.reserved(tmp_path, WORKERS, set()) == set()  # its reservations go when it gives up
    shared.release()
