"""The programs podlife's agent (:mod:`podlife.kube.node.agent`) runs on a node: plain Python of the
probe image, each run with the host's PIDs (``hostPID``) and ``privileged``, so that ``/proc``,
``/dev/kmsg`` and, through ``nsenter -t 1 -m``, the node's own systemd are the node's.

Run as ``python3 -c <this source> ACTION [ARG]``: ``kill CONTAINER_ID``, ``ids``, ``kmsg`` or
``serve PORT HEARTBEAT_S`` (the agent's main process).  The standard library only.

The server answers only its run: every path starts with the run's secret (``TOKEN_ENV``, given to
the agent's pod by the run that made it; a stranger's request changes nothing and is told
``forbidden``), and it answers only while its run is there: a run pings it (``/alive``) every few
seconds, and after ``HEARTBEAT_S`` without a word from its run it starts the kubelet it stopped and
exits (a run killed with ``kill -9`` leaves no agent behind for long).
"""

from __future__ import annotations

import hmac
import http.server
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MAX_SWITCH_S = 900  # no stop arms a switch longer than this (a stranger's /stop/99999999 is refused)
TOKEN_ENV = "PODLIFE_AGENT_TOKEN"  # the run's secret, in the agent pod's environment


def kill(cid: str) -> int:
    """SIGKILL the container's main process, found by its cgroup (the container id is in its path
    under both cgroup drivers) as the one whose parent is not in the container; its pid."""
    mine = {int(pid) for pid, cgroups in cgroups_by_pid() if cid in cgroups}

    def ppid(pid: int) -> int:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line.split()[1] for line in status if line.startswith("PPid:")))

    main = min((p for p in mine if ppid(p) not in mine), default=None)
    if main is None:
        sys.exit(f"no process of container {cid} on this node")
    os.kill(main, 9)
    return main


def ids() -> list[str]:
    """Every container id in the node's process cgroups (64 hex digits)."""
    return sorted({cid for _, cgroups in cgroups_by_pid() for cid in re.findall(r"[0-9a-f]{64}", cgroups)})


def cgroups_by_pid() -> list[tuple[str, str]]:
    """Every process of the node and its ``/proc/PID/cgroup`` (those gone meanwhile left out)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found.append((pid, Path(f"/proc/{pid}/cgroup").read_text()))
        except OSError:
            continue
    return found


def kmsg() -> str:
    """The kernel's log as it stands (each record's text), read without waiting for more."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    lines = []
    while True:
        try:
            record = os.read(fd, 8192).decode(errors="replace")
        except BlockingIOError:
            break
        except OSError:  # a record overwritten while reading: go on
            continue
        lines.append(record.split(";", 1)[-1].rstrip())
    return "\n".join(lines)


class Kubelet:
    """The node's kubelet stopped and started on request, through ``systemctl`` in the node's own
    mount namespace; a stop first arms a dead-man's switch (a systemd timer)."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"stopped": False, "switch": None}

    @staticmethod
    def node(*argv: str) -> tuple[int, str]:
        ran = subprocess.run(
            ["nsenter", "-t", "1", "-m", "--", *argv], capture_output=True, text=True, timeout=60
        )
        return ran.returncode, (ran.stdout + ran.stderr).strip()

    def active(self) -> str:
        return self.node("systemctl", "is-active", "kubelet")[1]

    def start(self) -> dict[str, Any]:
        code, said = self.node("systemctl", "start", "kubelet")
        if code != 0:
            return {"error": "systemctl start kubelet: " + said}
        if self.state["switch"]:
            self.node("systemctl", "stop", self.state["switch"] + ".timer")
        self.state.update(stopped=False, switch=None)
        return {"kubelet": self.active()}

    def stop(self, seconds: int) -> dict[str, Any]:
        if not 1 <= seconds <= MAX_SWITCH_S:
            return {"error": f"a switch of {seconds} s: podlife arms 1 to {MAX_SWITCH_S} s"}
        if self.state["stopped"]:
            return {"error": "the kubelet is stopped already"}
        if self.active() != "active":
            return {"error": "no active kubelet.service on this node: " + self.active()}
        unit = "podlife-kubelet-back-" + secrets.token_hex(4)
        armed = (
            "systemd-run",
            "--unit",
            unit,
            "--on-active",
            f"{seconds}s",
            "--timer-property=AccuracySec=1s",
        )
        code, said = self.node(*armed, "systemctl", "start", "kubelet")
        if code != 0:
            return {"error": "no dead-man's switch (systemd-run): " + said}
        self.state.update(stopped=True, switch=unit)
        code, said = self.node("systemctl", "stop", "kubelet")
        if code != 0:
            return {"error": "systemctl stop kubelet: " + said, **self.start()}
        return {"kubelet": self.active(), "switch": unit, "back_within_s": seconds}

    def answer(self, path: str) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts[0] == "kubelet":
            return {"kubelet": self.active(), **self.state}
        if parts[0] == "stop" and len(parts) == 2 and parts[1].isdigit():
            return self.stop(int(parts[1]))
        if parts[0] == "start":
            return self.start()
        if parts[0] == "restore":
            return self.start() if self.state["stopped"] else {"kubelet": self.active(), "restored": False}
        return {"error": "unknown: " + path}


class Run:
    """What the agent knows of its run: the secret its requests carry, and when it last spoke."""

    def __init__(self, token: str, heartbeat_s: float) -> None:
        self.token, self.heartbeat_s, self.heard = token, heartbeat_s, time.monotonic()

    def authorised(self, path: str) -> str | None:
        """The path after the run's secret, or None for a request without it."""
        secret, _, rest = path.strip("/").partition("/")
        if not self.token or not hmac.compare_digest(secret.encode(), self.token.encode()):
            return None
        self.heard = time.monotonic()
        return rest

    def gone(self) -> bool:
        return time.monotonic() - self.heard > self.heartbeat_s


def answer(kubelet: Kubelet, run: Run, path: str) -> tuple[int, dict[str, Any]]:
    rest = run.authorised(path)
    if rest is None:
        return 403, {"error": "forbidden"}
    out = {"alive": True} if rest == "alive" else kubelet.answer(rest)
    return (500 if "error" in out else 200), out


def outlive_no_run(kubelet: Kubelet, run: Run, every_s: float = 5) -> None:
    """Once the run is gone (no word for its heartbeat), the kubelet it stopped started, and out."""
    while not run.gone():
        time.sleep(every_s)
    if kubelet.state["stopped"]:
        kubelet.start()
    os._exit(0)


def serve(port: int, heartbeat_s: float) -> None:
    """The agent's main process: GET /<secret>/kubelet, /stop/<seconds>, /start, /restore, /alive."""
    kubelet, run = Kubelet(), Run(os.environ.get(TOKEN_ENV, ""), heartbeat_s)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, out = answer(kubelet, run, self.path)
            body = json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    threading.Thread(target=outlive_no_run, args=(kubelet, run), daemon=True).start()
    http.server.ThreadingHTTPServer(("", port), Handler).serve_forever()


def main(argv: list[str]) -> None:
    action, *args = argv
    if action == "kill":
        print(kill(args[0]))
    elif action == "ids":
        print(json.dumps(ids()))
    elif action == "kmsg":
        print(kmsg())
    elif action == "serve":
        serve(int(args[0]), float(args[1]))
    else:
        sys.exit(f"unknown action {action}")


if __name__ == "__main__":
    main(sys.argv[1:])
