"""One frame for every scenario and profile: the share of the cluster is released only once every
namespace of the test has gone; one that does not go keeps it held and is recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podlife.run.frame import Frame


class Held:
    node = "podlife-worker"

    def __init__(self) -> None:
        self.released = False

    def release(self) -> None:
        self.released = True


class Space:
    def __init__(self, fails: bool = False) -> None:
        self.fails, self.closed = fails, False

    def close(self, delete: bool) -> None:
        if self.fails:
            raise TimeoutError("namespace still Terminating")
        self.closed = delete


def states(log: Path) -> list[str]:
    return [json.loads(line)["state"] for line in log.read_text().splitlines()]


def frame(tmp_path: Path, *spaces: Any) -> Frame:
    return Frame("t", object(), tmp_path / "progress.jsonl", Held(), list(spaces))  # type: ignore[arg-type]


def test_the_share_is_released_once_every_namespace_went(tmp_path: Path) -> None:
    f = frame(tmp_path, Space(), Space())
    f.close()
    assert all(s.closed for s in f.spaces) and f.held.released  # type: ignore[attr-defined]
    assert states(f.log) == ["tearing down", "done"]


def test_a_namespace_that_does_not_go_keeps_the_share_held_and_is_recorded(tmp_path: Path) -> None:
    f = frame(tmp_path, Space(), Space(fails=True))
    with pytest.raises(TimeoutError):
        f.close()
    assert not f.held.released  # type: ignore[attr-defined]
    assert states(f.log) == ["tearing down", "teardown failed"]


def test_kept_for_inspection_the_share_stays_held(tmp_path: Path) -> None:
    f = frame(tmp_path, Space())
    f.close(keep=True)
    assert not f.spaces[0].closed and not f.held.released  # type: ignore[attr-defined]
