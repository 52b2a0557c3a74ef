"""Run the service under gunicorn (a production WSGI server), embedded through BaseApplication.

Order of start-up (as the chapter describes): wait for the database and create the table in the master
process, and only then let gunicorn bind the port, so "port open" means "database reachable".

Shutdown.
- SIGTERM (pod deletion): gunicorn stops accepting, lets in-flight requests finish (at most
  ``GRACEFUL_TIMEOUT_S``), closes idle keep-alive connections and exits 0 — quickly, so a deleted pod
  does not wait out its grace period.
- GET /quit (QUIT_ENABLED=true): simulates a crash. After the reply has been written in full, the worker
  sets a flag shared with the master (created before the fork) and sends the master SIGTERM; when gunicorn
  has stopped, :func:`serve` turns the exit into ``QUIT_EXIT_CODE`` (42), so the kubelet records a
  terminated container whose exit code says the crash came from /quit.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from service.app import create_app
from service.config import ConfigError, Settings
from service.db import Database
from service.events import log_event
from service.startup import wait_for_database
from service.worker import StopListeningThreadWorker

QUIT_EXIT_CODE = 42
GRACEFUL_TIMEOUT_S = 5
KEEPALIVE_S = 5


class _Gunicorn(BaseApplication):
    """gunicorn with our options and our already-built WSGI app (no config files, no CLI parsing)."""

    def __init__(self, wsgi_app: Any, options: dict[str, Any]) -> None:
        self._wsgi_app = wsgi_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # options an older gunicorn does not know are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._wsgi_app


def _bind_address(settings: Settings) -> str:
    host = settings.bind_host
    return f"[{host}]:{settings.port}" if ":" in host else f"{host}:{settings.port}"


def gunicorn_options(settings: Settings, db: Database) -> dict[str, Any]:
    """The server's tuning; workers/threads come from WEB_WORKERS/WEB_THREADS (measured in bench/)."""

    def post_fork(_arbiter: Any, _worker: Any) -> None:
        db.reset_after_fork()

    def when_ready(_arbiter: Any) -> None:
        # Called once the port is bound: from here on connections are accepted (queued until a worker runs).
        log_event(
            "listening", address=_bind_address(settings), workers=settings.workers, threads=settings.threads
        )

    options: dict[str, Any] = {
        "bind": [_bind_address(settings)],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": StopListeningThreadWorker,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "keepalive": KEEPALIVE_S,
        "timeout": 30,
        "backlog": 1024,
        "accesslog": None,  # one line per request would cost more than the request itself
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "podlife-web",
        "control_socket_disable": True,  # gunicorn >= 24 would otherwise open a control socket
        "post_fork": post_fork,
        "when_ready": when_ready,
    }
    if os.path.isdir("/dev/shm"):
        options["worker_tmp_dir"] = "/dev/shm"  # the heartbeat file; avoids a disk-backed /tmp
    return options


def serve(settings: Settings) -> int:
    """Wait for the database, then run gunicorn until it stops; return the process exit status."""
    wait_for_database(settings)
    db = Database(settings, max_connections=settings.threads)
    quit_requested = multiprocessing.Value("b", 0, lock=False)  # shared memory, inherited by the workers
    master_pid = os.getpid()

    def on_quit() -> None:
        quit_requested.value = 1
        os.kill(master_pid, signal.SIGTERM)

    wsgi_app = create_app(db, quit_enabled=settings.quit_enabled, on_quit=on_quit)
    server = _Gunicorn(wsgi_app, gunicorn_options(settings, db))
    status: int = 0
    try:
        server.run()
    except SystemExit as exc:
        if os.getpid() != master_pid:
            raise  # a worker leaving: its exit status is gunicorn's business
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if quit_requested.value:
        log_event("quit", exit_code=QUIT_EXIT_CODE, reason="GET /quit (simulated crash)")
        return QUIT_EXIT_CODE
    return status


def main() -> int:
    """Entry point of ``python -m service``."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"podlife web service: configuration error: {exc}", file=sys.stderr, flush=True)
        return 2
    return serve(settings)
