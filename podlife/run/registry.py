"""The claim registry: the claims the scenario files declare, each module imported once under the
name pytest gives it (so a run that then collects it executes it no second time).  The one way
the plugin, the scheduler and the structure test find them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from podlife.claims import Claim


def declared(files: Iterable[Path]) -> list[Claim]:
    """The claims the scenario files declare, in order, each module imported once, under the
    name pytest gives it (so a run that then collects it executes it no second time)."""
    out: list[Claim] = []
    for path in files:
        module = importlib.import_module(module_name(Path(path).resolve()))
        out += [v for v in vars(module).values() if isinstance(v, Claim)]
    return out


def module_name(path: Path) -> str:
    """``path``'s module name as pytest's default import mode gives it: its package chain (the
    folders with an ``__init__.py``) from the first folder without one, which goes on sys.path."""
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return ".".join(parts)


def scenario_files(args: Iterable[str]) -> list[Path]:
    """The scenario files a run's arguments name (a folder: its ``test_*.py``)."""
    files: list[Path] = []
    for arg in args:
        path = Path(arg.split("::")[0])
        files += sorted(path.rglob("test_*.py")) if path.is_dir() else [path] if path.suffix == ".py" else []
    return files
