"""podlife.run.schedule: which process runs which scenario next, with pytest-xdist's nodes faked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from podlife.paths import REPO
from podlife.run.schedule import ALONE, OTHER, SPREADER, STOPPER, ClaimScheduling, kinds_of


class Node:
    def __init__(self, name: str) -> None:
        self.name, self.sent, self.shutting_down = name, [], False
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.name


class Config:
    def __init__(self, workers: int) -> None:
        self.workers = workers

    def getvalue(self, name: str) -> Any:
        return {"tx": [f"{self.workers}*popen"]}[name]

    def getoption(self, name: str) -> Any:
        return {"maxschedchunk": None}[name]


# collection order: podlife sorts stoppers first, the others longest first, spreaders last
TESTS = {"stop": STOPPER, "stop-counter": STOPPER, "a": OTHER, "b": OTHER, "c": OTHER}
TESTS |= {"d": OTHER, "spread-long": SPREADER, "spread-short": SPREADER}


def started(workers: int, tests: dict[str, str] = TESTS) -> tuple[ClaimScheduling, list[Node]]:
    sched = ClaimScheduling(Config(workers), None, lambda ids: {t: tests[t] for t in ids})
    nodes = [Node(f"gw{i}") for i in range(workers)]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, list(tests))
    sched.schedule()
    return sched, nodes


def names(sched: ClaimScheduling, node: Node) -> list[str]:
    assert sched.collection is not None
    return [sched.collection[i] for i in node.sent]


def complete(sched: ClaimScheduling, node: Node, test: str) -> None:
    assert sched.collection is not None
    sched.mark_test_complete(node, sched.collection.index(test))


def test_stoppers_run_in_turn_on_the_first_process_then_the_longest_spreader() -> None:
    sched, (chain, one, two) = started(3)
    assert names(sched, chain) == ["stop", "stop-counter"]
    assert names(sched, one) == ["a", "c"] and names(sched, two) == ["b", "d"]  # one each, then a second
    complete(sched, chain, "stop")
    assert names(sched, chain)[-1] == "spread-long"


def test_no_spreader_while_a_stopper_runs_unless_nothing_else_is_left() -> None:
    sched, (chain, one, two) = started(3)
    complete(sched, one, "a")
    assert names(sched, one)[-1] == "spread-short"  # only spreaders are left
    complete(sched, chain, "stop")
    complete(sched, chain, "stop-counter")
    complete(sched, two, "b")
    assert two.shutting_down and not sched.pending  # nothing left for anyone: it ends after d


def test_spreaders_go_first_once_no_stopper_is_left() -> None:
    tests = {
        "stop": STOPPER,
        **dict.fromkeys("abcdef", OTHER),
        "s1": SPREADER,
        "s2": SPREADER,
        "s3": SPREADER,
    }
    sched, (chain, one, two) = started(3, tests)
    assert names(sched, chain) == ["stop", "s1"]
    complete(sched, one, "a")
    assert names(sched, one)[-1] == "e"  # a stopper runs: no spreader yet
    complete(sched, chain, "stop")
    assert names(sched, chain)[-1] == "s2"
    complete(sched, two, "b")
    assert names(sched, two)[-1] == "s3"  # before f


def test_the_run_ends_only_when_the_chain_has_run() -> None:
    sched, (chain, one, two) = started(3)
    for node, test in [(one, "a"), (two, "b"), (one, "c"), (two, "d"), (one, "spread-short")]:
        complete(sched, node, test)
    assert not sched.tests_finished and sched.has_pending
    for test in ["stop", "stop-counter", "spread-long"]:
        complete(sched, chain, test)
    assert sched.tests_finished and chain.shutting_down


def test_a_crashed_chain_process_gives_its_tests_back() -> None:
    sched, (chain, *_) = started(3)
    assert sched.remove_node(chain) == "stop"  # the crashed test is reported
    assert sched.collection is not None
    assert [sched.collection[i] for i in sched.pending[:2]] == ["stop-counter", "spread-long"]


def test_one_process_runs_everything_in_collection_order() -> None:
    sched, (only,) = started(1)
    for test in list(TESTS)[:-1]:
        complete(sched, only, test)
    assert names(sched, only) == list(TESTS) and only.shutting_down


def test_kinds_come_from_the_claims_declared() -> None:
    files = ["scenarios/test_architecture.py", "scenarios/test_storage_ladder.py"]
    kinds = kinds_of(REPO, [f"{f}::x" for f in files])
    assert kinds["scenarios/test_architecture.py::test_bare_pod_not_rescheduled"] == STOPPER
    assert kinds["scenarios/test_architecture.py::test_bare_pod_not_rescheduled_counter_example"] == STOPPER
    assert kinds["scenarios/test_storage_ladder.py::test_storage_ladder"] == SPREADER
    assert kinds["scenarios/test_architecture.py::test_update_needs_downtime"] == OTHER


def test_a_profile_runs_node_loss_as_the_worker_stopper_it_is() -> None:
    kinds = kinds_of(REPO, ["node-loss", "tests/subjects/profile/bare-pod.yml::Pod/pair"])
    assert kinds["node-loss"] == STOPPER and "tests/subjects/profile/bare-pod.yml::Pod/pair" not in kinds


def test_a_scenario_alone_goes_to_whoever_asks_once_nothing_else_is_left() -> None:
    tests = {"stop": STOPPER, **dict.fromkeys("abcdef", OTHER), "s": SPREADER, "alone": ALONE}
    sched, (chain, one, two) = started(3, tests)
    complete(sched, one, "a")
    complete(sched, two, "b")
    sent = names(sched, chain) + names(sched, one) + names(sched, two)
    assert "alone" not in sent and {"e", "f"} <= set(sent)
    complete(sched, one, "c")  # two and the chain still have a test each queued: `one` is let go
    assert "alone" not in names(sched, one) and one.shutting_down
    complete(sched, two, "d")
    assert "alone" not in names(sched, two) and two.shutting_down  # the chain: "s" behind "stop"
    complete(sched, chain, "stop")
    assert names(sched, chain)[-2:] == ["s", "alone"]  # nothing else left to start anywhere: the last


def test_a_process_with_a_test_queued_is_never_let_go_while_a_scenario_alone_waits() -> None:
    # measured 2026-12-07 18:20: two processes with a test queued behind their running one let each
    # other go, and then the chain's process too; startup-within-slo was never run ("no active workers")
    tests = {"stop": STOPPER, **dict.fromkeys("abcde", OTHER), "alone": ALONE}
    sched, (chain, one, two) = started(3, tests)
    assert [len(names(sched, n)) for n in (chain, one, two)] == [2, 2, 2]
    assert not one.shutting_down and not two.shutting_down  # each has a second test queued
    complete(sched, chain, "stop")
    assert chain.shutting_down  # it asked while the others still had a test queued
    complete(sched, one, names(sched, one)[0])
    assert one.shutting_down and "alone" not in names(sched, one)  # `two` still has one queued
    complete(sched, two, names(sched, two)[0])
    assert names(sched, two)[-1] == "alone"  # the last one that asks runs it (and then goes)
