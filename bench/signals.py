"""One interruption, shared by ``bench.interrupt`` and ``bench.rehearsal_interrupt``: start a command in
a process group of its own, wait until it has reached the point of interest, a chosen moment more, then
send the signal as a terminal's Ctrl-C (SIGINT to the group), a CI runner's cancel (SIGTERM to the
process) or ``kill -9`` of the whole group (SIGKILL) does, and time how long it takes to end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Interrupted:
    exit: int | None  # None: the command ended before its signal
    reached_s: float  # from the start to the point of interest
    ended_after_s: float | None  # from the signal to the end


def as_in_a_terminal() -> None:
    """In the child: SIGINT as a terminal's foreground job has it.  Started from a background job of a
    non-interactive shell (``cmd &``, nohup, a CI step), this process and so its children inherit
    SIGINT *ignored*, and Python then installs no KeyboardInterrupt: the signal would measure
    nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(
    argv: list[str],
    cwd: Path,
    log: Path,
    reached: Callable[[], bool],
    reach_limit_s: float,
    at_s: float,
    sig: str,
    end_limit_s: float,
) -> Interrupted:
    """Run ``argv``; once ``reached()`` (or after ``reach_limit_s``), wait ``at_s`` and send ``sig``."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=as_in_a_terminal,
        )
        began = time.monotonic()
        while proc.poll() is None and not reached() and time.monotonic() - began < reach_limit_s:
            time.sleep(0.5)
        at = time.monotonic()
        while proc.poll() is None and time.monotonic() - at < at_s:
            time.sleep(0.2)
        if proc.poll() is not None:
            return Interrupted(None, round(at - began, 1), None)
        sent = time.monotonic()
        if sig == "INT":
            os.killpg(proc.pid, signal.SIGINT)
        elif sig == "KILL":  # the whole group at once, as an OOM killer or `kill -9 -PGID` does
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=end_limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return Interrupted(proc.returncode, round(at - began, 1), round(time.monotonic() - sent, 1))


def tries(count: int, one: Callable[[int], dict[str, Any]], clean: Callable[[dict[str, Any]], bool]) -> int:
    """``count`` tries, one JSON line each (its ``clean`` added) and a last line counting the clean
    ones; exit status 1 when any was not."""
    bad = 0
    for n in range(1, count + 1):
        result = {"try": n, **one(n)}
        result["clean"] = clean(result)
        bad += not result["clean"]
        print(json.dumps(result), flush=True)
    print(json.dumps({"tries": count, "clean": count - bad}), flush=True)
    return 1 if bad else 0
