"""Long operations: show progress while they run, and fail naming the step and its log.

Every external command podlife runs goes through :func:`run`: its output goes to a
log file under the cache's ``logs/``, a heartbeat line says what is running and for
how long, and a failure raises :class:`StepFailed` naming the step and the log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from podlife.paths import log_dir

HEARTBEAT_S = 30.0


class StepFailed(RuntimeError):
    """A provisioning step failed; the message names the step and the log to read."""

    def __init__(self, step: str, detail: str, log: Path | None = None) -> None:
        self.step, self.detail, self.log = step, detail, log
        where = f"\n  log: {log}" if log else ""
        super().__init__(f"step '{step}' failed: {detail}{where}")


def say(message: str) -> None:
    print(f"[podlife] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(name: str, log: Path | None = None, *, heartbeat: bool = True) -> Iterator[None]:
    """Announce a step, print a heartbeat while it runs, report its duration."""
    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            where = f" (log: {log})" if log else ""
            say(f"  ... {name}: {time.monotonic() - started:.0f}s so far{where}")

    say(f"{name} ...")
    if heartbeat:
        threading.Thread(target=beat, daemon=True).start()
    try:
        yield
    finally:
        done.set()
    say(f"{name}: done in {time.monotonic() - started:.1f}s")


def log_path(name: str) -> Path:
    return log_dir() / f"{name}.log"


def run(
    name: str,
    argv: Sequence[str | Path],
    *,
    log: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
) -> None:
    """Run one command as a named step, its output appended to ``logs/<log>.log``."""
    path = log_path(log or name.split()[0])
    with step(name, path), path.open("ab") as out:
        out.write(f"\n$ {' '.join(map(str, argv))}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(
                [str(a) for a in argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                input=stdin,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise StepFailed(name, f"command not found: {argv[0]}", path) from exc
        except subprocess.TimeoutExpired as exc:
            raise StepFailed(name, f"no result after {timeout:.0f}s", path) from exc
    if proc.returncode != 0:
        raise StepFailed(name, f"exit status {proc.returncode}; last lines:\n{tail(path)}", path)


def output(argv: Sequence[str | Path], *, timeout: float = 120, check: bool = True) -> str:
    """A short command whose stdout we need (docker inspect, kind get ...)."""
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise StepFailed(" ".join(map(str, argv[:3])), proc.stderr.strip() or f"exit {proc.returncode}")
    return proc.stdout


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in text[-lines:])
