"""Start the real ``python -m service`` process on a free loopback port, as the pod would run it.

Why a real process and not only Flask's test client: start-up order, gunicorn's workers, SIGTERM, /quit's
exit status and the logs are properties of the process. Its stdout and stderr go to one file, so a test
can read everything the service ever printed (and check that no password is in it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.pg import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent


class ServiceProcess:
    """One service process; ``start()`` returns once /ping answers (or raises with the output)."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        base = {k: v for k, v in os.environ.items() if not k.startswith("db_")}
        for name in ("PORT", "QUIT_ENABLED", "WEB_WORKERS", "WEB_THREADS", "BIND_HOST"):
            base.pop(name, None)
        self.env = {**base, "PORT": str(self.port), "BIND_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1", **env}
        self.proc: subprocess.Popen | None = None

    def spawn(self) -> None:
        """Start the process without waiting for it to serve."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.spawn()
        self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/ping", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"service did not serve within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def events(self, name: str | None = None) -> list[dict]:
        """The JSON event lines the service printed (optionally only those named ``name``)."""
        found = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if name is None or record.get("event") == name:
                        found.append(record)
        return found

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the whole process group if it does not go within 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
