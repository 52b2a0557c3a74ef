"""What a run's ``junit.xml`` (pytest's ``--junitxml``) says about its tests: which failed or errored,
with the first line of why, by podlife's test id (``scenarios/test_x.py::test_y``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

JUNIT = "junit.xml"  # beside a run's claims.json (the tox environments put it there)
WHY = 160  # characters of a failure's first line


@dataclass
class Outcomes:
    missing: bool = False  # no junit.xml, or not one pytest wrote
    failed: dict[str, str] = field(default_factory=dict)  # test id -> "error: …" or "failed: …"


def outcomes(path: Path) -> Outcomes:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return Outcomes(missing=True)
    failed = {}
    for case in root.iter("testcase"):
        bad = next((e for e in case if e.tag in ("error", "failure")), None)
        if bad is None:
            continue
        test = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name', '')}"
        first = ((bad.get("message") or bad.text or "").strip().splitlines() or ["(no message)"])[0]
        failed[test] = f"{'error' if bad.tag == 'error' else 'failed'}: {first[:WHY]}"
    return Outcomes(failed=failed)
