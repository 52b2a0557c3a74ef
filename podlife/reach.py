"""The one way podlife reaches a pod or a Service from this machine: ``kubectl port-forward``
on 127.0.0.1, as a person follows the chapter with curl.

Works on any cluster a kubeconfig reaches, keeps traffic on loopback, and survives the
container restarts the scenarios cause: when a restart breaks the forwarder, the next
request starts a new one (for a Service, to whichever of its pods kubectl picks then).
Every request is single-shot with a timeout; callers that need to wait for an answer use
:func:`podlife.wait.poll_until`, bounded in time.
"""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import requests

FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


class PodEndpoint:
    """HTTP to a pod's (``pod/NAME``) or Service's (``svc/NAME``) port through a (re)started
    port-forward."""

    def __init__(self, kubectl: Path | str, kubeconfig: Path, namespace: str, target: str, port: int) -> None:
        self.kubectl, self.kubeconfig = str(kubectl), kubeconfig
        self.namespace, self.target, self.port = namespace, target, port
        self._proc: subprocess.Popen[str] | None = None
        self._local: int | None = None
        self._lock = threading.Lock()
        self.session = requests.Session()

    def _ensure(self) -> int:
        with self._lock:
            if self._proc and self._proc.poll() is None and self._local:
                return self._local
            self.close()
            self._proc = subprocess.Popen(
                [
                    self.kubectl,
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "-n",
                    self.namespace,
                    "port-forward",
                    "--address",
                    "127.0.0.1",
                    self.target,
                    f":{self.port}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            first = self._first_line()
            match = FORWARDING.search(first or "")
            if not match:
                self.close()
                raise ConnectionError(
                    f"port-forward to {self.namespace}/{self.target}:{self.port} did not start: {first!r}"
                )
            self._local = int(match.group(1))
            threading.Thread(target=self._drain, daemon=True).start()
            return self._local

    def _first_line(self, timeout: float = 30) -> str | None:
        line: list[str] = []
        proc = self._proc
        assert proc and proc.stdout
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        return line[0].strip() if line else None

    def _drain(self) -> None:
        proc = self._proc
        if proc and proc.stdout:
            for _ in proc.stdout:
                pass

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._ensure()}{path}"

    def request(self, method: str, path: str, *, timeout: float = 5, **kwargs: Any) -> requests.Response:
        """One request; a broken forwarder is replaced before the next one."""
        try:
            return self.session.request(method, self.url(path), timeout=timeout, **kwargs)
        except requests.RequestException:
            with self._lock:
                if self._proc and self._proc.poll() is None:
                    self._proc.kill()  # a half-dead forwarder: start afresh next time
            raise

    def close(self) -> None:
        if self._proc:
            self._proc.kill()
            self._proc.wait(10)
            self._proc, self._local = None, None

    def __enter__(self) -> PodEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
