"""The chapter's Go original, built here from its source and run beside the service (never committed).

``python -m bench --against DIR`` builds the Go program in DIR (the chapter's ``012/service/web``: a
checkout of github.com/param108/kubernetes101), its modules from the Go module proxy or cache, and runs
it against the same PostgreSQL as the service, so the two are measured in turn with the same wrk load.
The original listens on 0.0.0.0:8080 (fixed) and reads db_host, db_user, db_pass, db_name; its driver
(lib/pq) takes the port from PGPORT.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

ORIGINAL_PORT = 8080


def build(source: Path, out_dir: Path) -> Path:
    """``go build`` a copy of the source (the checkout stays untouched); the binary's path."""
    if shutil.which("go") is None:
        raise RuntimeError("building the chapter's original needs a Go toolchain")
    work = Path(tempfile.mkdtemp(prefix="podlife-original-"))
    shutil.copytree(source, work / "src")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on", "CGO_ENABLED": "0"}
    binary = out_dir / "original"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=work / "src", env=env, check=True)
    shutil.rmtree(work, ignore_errors=True)
    return binary


class OriginalProcess:
    """The original, started against ``env`` (the chapter's settings) and the given PostgreSQL port."""

    url = f"http://127.0.0.1:{ORIGINAL_PORT}"

    def __init__(self, binary: Path, env: dict[str, str], pg_port: int, log: Path) -> None:
        self.binary, self.log = binary, log
        self.env = {**os.environ, **env, "PGPORT": str(pg_port)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> OriginalProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([self.binary], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)  # a process starting up: nothing to watch but its port
        self.stop()
        raise RuntimeError(f"the original did not answer on {self.url}: {self.log.read_text()[-800:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
