"""What podlife runs *inside* a pod: standard library only, sent as ``python3 -c``.

A probe is an ephemeral container on a Python base image that targets one container of
the pod (``kubectl debug --target`` semantics): it sees that container's processes, so
``/proc/1`` is the target's main process, and it shares the pod's network, IPC and UTS
namespaces.  Nothing runs in the target container itself: a web image without a shell,
Python or any tool is measured like any other.

The command line carries a JSON list of jobs ``[[name, {args}], ...]``; each job runs in a
forked child (a job that joins a namespace leaves the others alone) and the probe prints one
JSON line: ``{"results": [...]}``; ``loop`` streams one line per request instead.  Every job is
bounded in time and count; traffic goes to the pod itself, its loopback or its namespace's Services.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
from typing import Any

CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
IPC_CREAT = 0o1000
IPC_RMID = 0
TARGET = "/proc/1"


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _enter(kind: str) -> None:
    """Join the target process's ``net`` or ``ipc`` namespace (needs CAP_SYS_ADMIN)."""
    flag = {"net": CLONE_NEWNET, "ipc": CLONE_NEWIPC}[kind]
    fd = os.open(f"{TARGET}/ns/{kind}", os.O_RDONLY)
    try:
        if _libc().setns(fd, flag) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({kind}): {os.strerror(err)}")
    finally:
        os.close(fd)


def proc(**_: Any) -> dict[str, Any]:
    """The target's main process: start (clock ticks since boot), namespaces, user; and this
    node's boot time on the wall clock, to turn ticks into times."""
    with open(f"{TARGET}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    boot_wall = time.time() - uptime
    ns = {}
    for kind in ("net", "ipc", "uts", "pid", "mnt"):
        try:
            ns[kind] = os.readlink(f"{TARGET}/ns/{kind}")
        except OSError as exc:
            ns[kind] = f"unreadable: {exc.strerror}"
    status = {}
    with open(f"{TARGET}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Name", "Uid"):
                status[key.lower()] = value.split()[0]
    return {
        "start_ticks": int(fields[19]),  # field 22 of proc(5), counted after "pid (comm)"
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "boot_wall": round(boot_wall, 3),
        "ns": ns,
        **status,
    }


def listening(**_: Any) -> dict[str, Any]:
    """TCP ports listening in the target's network namespace (its /proc/net view)."""
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{TARGET}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A":  # TCP_LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return {"ports": sorted(ports)}


def bind(port: int, **_: Any) -> dict[str, Any]:
    """From inside the target's network namespace: may this port be bound?"""
    _enter("net")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("0.0.0.0", port))
        return {"port": port, "bound": True}
    except OSError as exc:
        return {"port": port, "bound": False, "error": errno.errorcode.get(exc.errno or 0, str(exc))}
    finally:
        s.close()


def connect(host: str, port: int, **_: Any) -> dict[str, Any]:
    """From inside the target's network namespace: does host:port accept a connection?"""
    _enter("net")
    try:
        socket.create_connection((host, port), timeout=3).close()
        return {"to": f"{host}:{port}", "connected": True}
    except OSError as exc:
        return {"to": f"{host}:{port}", "connected": False, "error": type(exc).__name__}


def semaphore(key: int, create: bool = False, remove: bool = False, **_: Any) -> dict[str, Any]:
    """In the target's IPC namespace: make (or look up, or remove) a System V semaphore."""
    _enter("ipc")
    libc = _libc()
    semid = libc.semget(key, 1, (IPC_CREAT | 0o600) if create else 0)
    if semid < 0:
        return {"key": key, "found": False, "error": errno.errorcode.get(ctypes.get_errno(), "?")}
    if remove:
        libc.semctl(semid, 0, IPC_RMID)
    return {"key": key, "found": True, "semid": semid}


def signal(number: int, **_: Any) -> dict[str, Any]:
    """Send a signal to the target's main process (one it handles: PID 1 ignores the rest)."""
    os.kill(1, number)
    return {"signal": number, "sent_at": round(time.time(), 3)}


def _get(url: str, timeout: float, body: str | None = None) -> tuple[bool, str, bytes]:
    """GET ``url``, or POST ``body`` (a form) to it."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(url, body.encode(), form) if body is not None else url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status == 200, str(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return False, str(exc.code), b""
    except (OSError, ValueError) as exc:
        return False, _why(exc), b""


def _why(exc: BaseException) -> str:
    """An error's class and, for a failed connection, the system's reason (``URLError: ECONNREFUSED``)."""
    reason = getattr(exc, "reason", None)
    code = getattr(reason, "errno", None) or getattr(exc, "errno", None)
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    name = name or (type(reason).__name__ if isinstance(reason, BaseException) else "")
    return f"{type(exc).__name__}: {name}" if name else type(exc).__name__


def first_answer(url: str, interval: float = 0.01, limit: float = 120, **_: Any) -> dict[str, Any]:
    """GET ``url`` every ``interval`` seconds until it is answered with 200 (at most ``limit`` s)."""
    began = time.time()
    attempts = 0
    while time.time() - began < limit:
        attempts += 1
        at = time.time()
        ok, detail, _ = _get(url, timeout=1)
        if ok:
            return {"probe_began": round(began, 3), "answered_at": round(at, 3), "attempts": attempts}
        time.sleep(interval)
    return {"probe_began": round(began, 3), "answered_at": None, "attempts": attempts, "last": detail}


def _recv(s: socket.socket, n: int) -> bytes:
    """``n`` bytes, or fewer if the peer closed first."""
    data = b""
    while len(data) < n and (chunk := s.recv(n - len(data))):
        data += chunk
    return data


def pg_answer(port: int, timeout: float = 1) -> str:
    """What a PostgreSQL server on the pod's loopback answers a startup message (protocol 3.0,
    as any client opens): "R" when it asks to authenticate, the SQLSTATE of its error (57P03:
    "the database system is starting up"), or "" when nothing answers."""
    body = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            head = _recv(s, 5)
            if head[:1] != b"E" or len(head) < 5:
                return head[:1].decode("latin-1")
            fields = _recv(s, struct.unpack("!I", head[1:])[0] - 4).split(b"\0")
            return next((f[1:].decode("latin-1") for f in fields if f[:1] == b"C"), "E")
    except OSError:
        return ""


def pg_accepting(port: int = 5432, interval: float = 0.02, limit: float = 180, **_: Any) -> dict[str, Any]:
    """Ask every ``interval`` seconds until PostgreSQL accepts connections on the pod's loopback,
    as ``pg_isready`` decides it: any answer but "starting up" (an entry point's temporary
    server listens on no TCP port).  At most ``limit`` seconds."""
    began, attempts, last = time.time(), 0, ""
    while time.time() - began < limit:
        attempts += 1
        at = time.time()
        last = pg_answer(port)
        if last and last != "57P03":
            return {"accepting_at": round(at, 3), "attempts": attempts, "answer": last}
        time.sleep(interval)
    return {"accepting_at": None, "attempts": attempts, "answer": last}


def lines_read(url: str, count: int, **_: Any) -> dict[str, Any]:
    """``count`` GETs of a /read URL: how many lines each answer held (None: not answered)."""
    seen: list[int | None] = []
    for _ in range(count):
        ok, _detail, body = _get(url, timeout=5)
        seen.append(len(json.loads(body)["Lines"]) if ok else None)
    return {"url": url, "lines": seen}


def loop(
    url: str, interval: float = 0.02, limit: float = 300, most: int = 20000, body: str | None = None, **_: Any
) -> None:
    """GET ``url`` (POST ``body``, if given) one request at a time, a new connection each; one JSON
    line per request."""
    began = time.time()
    for _ in range(most):
        at = time.time()
        if at - began > limit:
            break
        ok, detail, _body = _get(url, timeout=10, body=body)  # a slow answer on a busy node is an answer
        print(
            json.dumps({"at": round(at, 3), "took": round(time.time() - at, 3), "ok": ok, "detail": detail})
        )
        sys.stdout.flush()
        time.sleep(interval)


def markers(
    write: dict[str, str] | None = None, read: dict[str, str] | None = None, **_: Any
) -> dict[str, Any]:
    """Write each ``write`` path's text (synced); say whether each ``read`` path holds its text."""
    return {
        "written": {path: _mark(path, text, True) for path, text in (write or {}).items()},
        "found": {path: _mark(path, text, False) for path, text in (read or {}).items()},
    }


def _mark(path: str, text: str, write: bool) -> bool | str:
    try:
        with open(path, "w" if write else "r") as f:
            if not write:
                return f.read() == text
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
            return True
    except OSError as exc:
        return False if isinstance(exc, FileNotFoundError) and not write else f"{type(exc).__name__}: {exc}"


JOBS = {
    f.__name__: f for f in (proc, listening, bind, connect, semaphore, signal, first_answer, pg_accepting)
}
JOBS |= {f.__name__: f for f in (lines_read, markers)}


def _in_child(name: str, args: dict[str, Any]) -> dict[str, Any]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child may join namespaces; the parent stays where it is
        os.close(read)
        try:
            out = {"job": name, **JOBS[name](**args)}
        except Exception as exc:
            out = {"job": name, "failed": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"failed": "the job died"}')


def main(argv: list[str]) -> None:
    jobs = json.loads(argv[0])
    if jobs and jobs[0][0] == "loop":
        loop(**jobs[0][1])
        return
    print(json.dumps({"results": [_in_child(name, args) for name, args in jobs]}))


if __name__ == "__main__":
    main(sys.argv[1:])
