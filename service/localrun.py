"""The service and a real PostgreSQL, run on this machine: for the service's tests and the benchmark.

A throw-away PostgreSQL server (:class:`PostgresServer`).  Why not a mock: the service's promises (a 200
means committed, recovery after the database restarts, recreating a table that vanished) only mean
something against the real server. The server runs from the machine's PostgreSQL binaries (Debian's
``postgresql`` package) in a temporary directory, listening on a free loopback port only, with ``fsync``
and ``synchronous_commit`` on: durability is part of what is tested. ``initdb`` refuses to run as root, so
when run as root the server runs as the unprivileged ``postgres`` system user (created by the same package)
in a directory owned by that user.

The real ``python -m service`` process on a free loopback port, as the pod would run it
(:class:`ServiceProcess`). Why a real process and not only Flask's test client: start-up order,
gunicorn's workers, SIGTERM, /quit's exit status and the logs are properties of the process. Its stdout
and stderr go to one file, so a test can read everything the service ever printed.

Not part of the web image (podlife's image build leaves this file out).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import requests

MISSING_PACKAGE_MESSAGE = (
    "PostgreSQL server binaries (initdb, postgres) not found: install them with "
    "`apt-get install postgresql` (Debian's package) and run the tests again"
)

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "podlife-test-superuser"
# The chapter's credentials: the tests start the service exactly as the pod does.
APP_DB = "web"
APP_USER = "web"
APP_PASSWORD = "web"


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed: the message names the package to install."""


def find_bindir() -> Path:
    """Locate initdb/postgres: ``pg_config --bindir`` first, then Debian's /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))

    def version_key(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise PostgresMissing(MISSING_PACKAGE_MESSAGE)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _RunAs:
    """Who runs initdb/postgres: the ``postgres`` user when we are root, else ourselves."""

    uid: int
    gid: int

    @classmethod
    def pick(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(os.getuid(), os.getgid())
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresMissing(
                "running as root, and the unprivileged `postgres` user that initdb needs does not exist: "
                "`apt-get install postgresql` creates it"
            ) from exc
        return cls(entry.pw_uid, entry.pw_gid)

    def popen_kwargs(self) -> dict:
        if self.uid == os.getuid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


class PostgresServer:
    """One PostgreSQL cluster in a temp dir; start/stop/crash/wipe it as the tests need."""

    def __init__(self, port: int | None = None) -> None:
        self.bindir = find_bindir()
        self.run_as = _RunAs.pick()
        self.port = port or free_port()
        self.base = Path(tempfile.mkdtemp(prefix="podlife-pg-"))
        os.chown(self.base, self.run_as.uid, self.run_as.gid)
        self.datadir = self.base / "data"
        self.logfile = self.base / "postgres.log"
        self.proc: subprocess.Popen | None = None

    # -- cluster life cycle -------------------------------------------------------------------------
    def _run(self, args: list[str]) -> None:
        result = subprocess.run(
            args,
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
            **self.run_as.popen_kwargs(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def init(self) -> None:
        """initdb, then the chapter's role and database (what the official image does with POSTGRES_*)."""
        pwfile = self.base / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        os.chown(pwfile, self.run_as.uid, self.run_as.gid)
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",  # the initial files only; the running server below keeps fsync on
            ]
        )
        pwfile.unlink()
        self.start()
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD %s", (APP_PASSWORD,))
            cur.execute(f"CREATE DATABASE {APP_DB} OWNER {APP_USER}")

    def start(self, timeout: float = 30.0) -> None:
        """Start the postmaster (durable settings) and wait until it accepts connections."""
        assert self.proc is None, "already running"
        log = open(self.logfile, "ab")  # noqa: SIM115 - handed to the child, closed in stop()
        self.proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.datadir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.base}",
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "full_page_writes=on",
                "-c",
                "max_connections=100",
            ],
            cwd=self.base,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal must not hit the server mid-test
            **self.run_as.popen_kwargs(),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                psycopg2.connect(**self._admin_kwargs(connect_timeout=1)).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not accept connections:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def stop(self, mode: str = "fast", timeout: float = 30.0) -> None:
        """Stop: ``fast`` (SIGINT, clean) or ``immediate`` (SIGQUIT, a crash: recovery at the next start)."""
        if self.proc is None:
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def wipe(self) -> None:
        """Stop, delete the data directory and create a fresh cluster: a db container that came back empty."""
        self.stop("immediate")
        shutil.rmtree(self.datadir)
        self.init()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    # -- connections --------------------------------------------------------------------------------
    def _admin_kwargs(self, dbname: str = "postgres", connect_timeout: int = 5) -> dict:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": SUPERUSER,
            "password": SUPERUSER_PASSWORD,
            "dbname": dbname,
            "connect_timeout": connect_timeout,
        }

    @contextlib.contextmanager
    def admin(self, dbname: str = "postgres") -> Iterator[psycopg2.extensions.connection]:
        """An autocommit superuser connection (for set-up and for checking what was really stored)."""
        conn = psycopg2.connect(**self._admin_kwargs(dbname))
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.close()

    def service_env(self) -> dict[str, str]:
        """The chapter's env for the web container, pointed at this server."""
        return {
            "db_host": "127.0.0.1",
            "db_port": str(self.port),
            "db_name": APP_DB,
            "db_user": APP_USER,
            "db_pass": APP_PASSWORD,
        }

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run one statement in the app database as superuser and return its rows."""
        with self.admin(APP_DB) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def lines(self) -> list[tuple[int, str]]:
        """What is really stored: every (id, data) row, ordered by id ([] if the table does not exist)."""
        with self.admin(APP_DB) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.lines') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT id, data FROM lines ORDER BY id")
            return cur.fetchall()

    def reset_lines(self) -> None:
        """Empty the table and restart its ids at 1 (the chapter's transcript expects ids 1, 2, 3)."""
        with self.admin(APP_DB) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.lines') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("TRUNCATE lines RESTART IDENTITY")


REPO_ROOT = Path(__file__).resolve().parent.parent  # where `python -m service` runs


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
