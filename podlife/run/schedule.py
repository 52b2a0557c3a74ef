"""Which process of a parallel run (pytest-xdist, ``--dist load``) runs which scenario next.

pytest-xdist hands tests out in collection order (podlife sorts it longest first) and cannot
know what :mod:`podlife.run.resources` knows: while a scenario stops a worker, a scenario that
spreads its pods over every worker can only wait, holding a process that could be measuring
something else.  So:

- the scenarios that stop a worker run one after another on the first process, and the
  longest spreader right behind them (it starts the moment the worker is back);
- every other process takes the next test in collection order, but no spreader while a
  stopper has not finished (unless only spreaders are left);
- a scenario that needs the cluster to itself goes to whoever asks once nothing else is left to
  start: while another process still has a test queued behind its running one, the process that
  asks is let go instead (that queued test would otherwise wait out the whole scenario); one with a
  test of its own queued is not asking, and is never let go so (two such let each other go, and
  nobody was left to run it);
- each process begins with one of the first tests (one each, then a second each: a process
  runs a test once it knows the next one).

A process that crashes gives its tests back: the next processes to ask run them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from xdist.scheduler import LoadScheduling

from podlife.claims import ALONE, OTHER, SPREADER, STOPPER
from podlife.profile.nodeloss import PHASE
from podlife.run.registry import declared


def kinds_of(root: Path, ids: Iterable[str]) -> dict[str, str]:
    """Each test id's kind (:attr:`podlife.claims.Needs.kind`), from the claims its file declares; a
    profile run's node-loss test stops a worker, its workloads' tests are ``other``."""
    ids = list(ids)
    files = sorted({i.split("::")[0] for i in ids if i.split("::")[0].endswith(".py")})
    return {i: STOPPER for i in ids if i == PHASE} | {
        f"{file}::{name}": claim.needs_of(counter).kind
        for file in files
        for claim in declared([root / file])
        for name, counter in claim.tests()
    }


class ClaimScheduling(LoadScheduling):
    """pytest-xdist's load scheduling, told which tests stop a worker and which spread."""

    def __init__(self, config: Any, log: Any, kinds: Callable[[list[str]], dict[str, str]]) -> None:
        super().__init__(config, log)
        self.kinds_of = kinds
        self.kinds: list[str] = []
        self.chain: list[int] = []  # for the first process, in order
        self.chain_node: Any = None
        self.stoppers_left: set[int] = set()  # stoppers not finished yet

    @property
    def tests_finished(self) -> bool:
        return not self.chain and super().tests_finished

    @property
    def has_pending(self) -> bool:
        return bool(self.chain) or super().has_pending

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        known = self.kinds_of(self.collection)
        self.kinds = [known.get(test, OTHER) for test in self.collection]
        stoppers = [i for i, k in enumerate(self.kinds) if k == STOPPER]
        spreaders = [i for i, k in enumerate(self.kinds) if k == SPREADER]
        self.stoppers_left = set(stoppers)
        self.chain = stoppers + spreaders[:1] if stoppers and len(self.nodes) > 1 else []
        self.pending[:] = [i for i in range(len(self.collection)) if i not in self.chain]
        others = self.nodes
        if self.chain:
            self.chain_node, others = others[0], others[1:]
            self.check_schedule(self.chain_node)
        for _ in range(2):  # one each, then a second each
            for node in others:
                if self.pending and len(self.node2pending[node]) < 2 and not self.queued_elsewhere(node):
                    self.send_next(node)
        for node in others:
            self.check_schedule(node)

    def send_next(self, node: Any) -> None:
        """Send ``node`` its next test: from its chain, else the next one for anyone."""
        if node is self.chain_node and self.chain:
            index = self.chain.pop(0)
        else:
            index = self.next_for_anyone()
            self.pending.remove(index)
        self.node2pending[node].append(index)
        node.send_runtest_some([index])

    def next_for_anyone(self) -> int:
        if self.chain_node is None:  # one process (or its chain's process crashed): in order
            return self.pending[0]
        rest = [i for i in self.pending if self.kinds[i] != ALONE] or self.pending  # alone: last
        if self.stoppers_left:
            return next((i for i in rest if self.kinds[i] != SPREADER), rest[0])
        return next((i for i in rest if self.kinds[i] == SPREADER), rest[0])

    def check_schedule(self, node: Any, duration: float = 0) -> None:
        if node.shutting_down:
            return
        mine = self.chain if node is self.chain_node else []
        while len(self.node2pending[node]) < 2 and (
            mine or (self.pending and not self.queued_elsewhere(node))
        ):
            self.send_next(node)
        asking = len(self.node2pending[node]) < 2  # one with a test queued is not let go: it may be the last
        if not mine and (not self.pending or (asking and self.queued_elsewhere(node))):
            node.shutdown()

    def queued_elsewhere(self, node: Any) -> bool:
        """Only scenarios alone are left to send, and another process has a test not yet started."""
        return all(self.kinds[i] == ALONE for i in self.pending) and any(
            len(queue) > 1 for other, queue in self.node2pending.items() if other is not node
        )

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.stoppers_left.discard(item_index)
        super().mark_test_complete(node, item_index, duration)

    def remove_node(self, node: Any) -> str | None:
        pending = self.node2pending.get(node, [])
        if pending:
            self.stoppers_left.discard(pending[0])  # the crashed test is reported, not run again
        if node is self.chain_node:  # what it had left goes to whoever asks next, in order
            self.pending[:0] = pending[1:] + self.chain
            del pending[1:]
            self.chain, self.chain_node = [], None
        return super().remove_node(node)
