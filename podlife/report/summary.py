"""The GitHub job summary: a report's Markdown appended where GitHub Actions asks for it."""

from __future__ import annotations

import os


def append(text: str) -> None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when running on GitHub Actions; elsewhere nothing."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a") as out:
            out.write(text + "\n")
