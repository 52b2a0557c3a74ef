"""Where podlife keeps things: one place, so caches survive a fresh clone."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AIRGAP = REPO / "airgap"
MANIFESTS = REPO / "manifests"


def cache_dir() -> Path:
    """Build artefacts and logs live outside the checkout, so a new clone reuses them."""
    base = os.environ.get("PODLIFE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "podlife"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
