"""The programs podlife runs inside pods and on nodes, as real Python modules: linted and
unit-tested like any other, and shipped as their own source (:func:`command`).  They import
nothing of podlife (only the standard library is there where they run).

- ``inpod``: what a probe (an ephemeral container targeting one container) does in the pod
- ``onnode``: what podlife's agent does on a node
- ``probe_switch``, ``sigterm_clock``, ``memory``: the small containers podlife adds beside a
  subject's (a probe that can be turned, a clock of SIGTERM, memory pressure)
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType


def source(module: ModuleType) -> str:
    """The module's own source, as sent to ``python3 -c``."""
    return Path(str(module.__file__)).read_text()


def command(module: ModuleType, *args: str) -> list[str]:
    """``python3 -c <the module's source> ARGS...``: the module run as its ``__main__``."""
    return ["python3", "-c", source(module), *args]
