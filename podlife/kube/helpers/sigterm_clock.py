"""The SIGTERM clock, run beside a pod's containers (:mod:`podlife.kube.pod.clock`): it writes
``running``, then ``SIGTERM`` when the signal reaches it and ``drained`` once it has drained
(``DRAIN_S`` seconds later), and exits 0.

It writes with ``os.write``, not ``print``: a signal that lands while the main thread is still
inside print's flush would make print re-enter the buffered stdout and raise (measured in the unit
test).  The sleep in the handler is the clock's own drain, the behaviour it stands for.

Run as ``python3 -c <this source> [DRAIN_S]``: the standard library only.
"""

from __future__ import annotations

import os
import signal
import sys
import time

DRAIN_S = 3


def tick(drain_s: float) -> None:
    def term(*_: object) -> None:
        os.write(1, b"SIGTERM\n")
        time.sleep(drain_s)
        os.write(1, b"drained\n")
        sys.exit(0)

    signal.signal(signal.SIGTERM, term)
    os.write(1, b"running\n")
    while True:
        signal.pause()


if __name__ == "__main__":
    tick(float(sys.argv[1]) if len(sys.argv) > 1 else DRAIN_S)
