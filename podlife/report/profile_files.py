"""A profile's reports, written from the typed profiles: ``profile.json`` (what CI and other tools
read: :meth:`~podlife.profiled.Profile.to_json`, the one way a profile becomes JSON), ``profile.md``
(:mod:`podlife.report.profile_md`), ``profile.html`` (:mod:`podlife.report.profile_page`) and the
GitHub job summary."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from podlife.profiled import Profile
from podlife.report import profile_md, profile_page, summary


def write(profiles: list[Profile], reports: Path, meta: Any) -> None:
    profiles = sorted(profiles, key=lambda p: p.workload)
    reports.mkdir(parents=True, exist_ok=True)
    saved = {"meta": asdict(meta), "subjects": [p.to_json() for p in profiles]}
    (reports / "profile.json").write_text(json.dumps(saved, indent=2))
    text = profile_md.render(profiles, meta)
    (reports / "profile.md").write_text(text)
    (reports / "profile.html").write_text(profile_page.render(profiles, meta))
    summary.append(text)


def read(path: Path) -> list[Profile]:
    """The typed profiles of a saved ``profile.json``."""
    return [Profile.from_json(s) for s in json.loads(path.read_text())["subjects"]]
