"""A gunicorn gthread worker that stops quickly and cleanly on SIGTERM.

Why: pod deletion sends SIGTERM and must not wait out the grace period, yet in-flight requests must
finish. Stock gthread (gunicorn 27) gets two things in the way:

1. Listening. The master closes its copy of the listening socket, but each worker keeps its inherited
   copy until it exits, so the kernel still completes TCP handshakes nobody will serve (those clients
   are reset later). We shut the shared listener down at SIGTERM (on Linux, shutdown(SHUT_RD) on a
   listener stops it listening): new connections are refused at once.
2. Idle connections. A connection that has sent nothing yet holds a thread for up to 5 s waiting for
   data, and kept-alive or deferred idle connections are kept up to 2 s more; the worker waits for all
   of them. We wait for first data in short slices that end at SIGTERM, and cap the idle linger at
   ``STOP_IDLE_LINGER_S``: a request already on its way still gets answered (with Connection: close).

The only SIGTERM our workers get is the master's at shutdown (the service never shrinks its pool with
TTOU nor reloads with HUP), so shutting the shared socket down from a worker is safe. The gunicorn
internals used here are looked up defensively: with another gunicorn the worker still works, only the
idle-connection shortcut is skipped.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from typing import Any

from gunicorn.workers import gthread

STOP_IDLE_LINGER_S = 1.0
FIRST_DATA_SLICE_S = 0.2
FIRST_DATA_TIMEOUT_S = getattr(gthread, "DEFAULT_WORKER_DATA_TIMEOUT", 5.0)
_DEFER = getattr(gthread, "_DEFER", None)


class StopListeningThreadWorker(gthread.ThreadWorker):
    """gthread worker: SIGTERM → stop listening now, finish in-flight requests, drop idle ones, exit."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.alive:
            for listener in self.sockets:
                with contextlib.suppress(OSError):
                    listener.sock.shutdown(socket.SHUT_RD)
        super().handle_exit(sig, frame)

    def accept(self, listener: Any) -> None:
        if not self.alive:
            return  # stopping: the listener is shut down and nothing new is taken
        try:
            super().accept(listener)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # A sibling worker shut the shared listener down: the service is stopping, so does this worker
            # (gracefully: its in-flight requests finish). Our own SIGTERM follows within milliseconds.
            self.alive = False

    def handle(self, conn: Any) -> Any:
        if (
            _DEFER is not None
            and not getattr(conn, "initialized", True)
            and not getattr(conn, "data_ready", True)
        ):
            deadline = time.monotonic() + FIRST_DATA_TIMEOUT_S
            while not conn.wait_for_data(FIRST_DATA_SLICE_S):
                if not self.alive:
                    return False  # stopping, and the client has not started a request: close it
                if time.monotonic() >= deadline:
                    return _DEFER  # back to the poller, without holding a thread
        return super().handle(conn)

    def _cap_keepalive(self, deadline: float) -> None:
        deadline = min(deadline, time.monotonic() + STOP_IDLE_LINGER_S)
        super()._cap_keepalive(deadline)
        for conn in getattr(self, "pending_conns", ()):
            conn.timeout = min(conn.timeout, deadline)
