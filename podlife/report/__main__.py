"""``python -m podlife.report REPORT.json [...]``: every picture in saved reports agrees with its
evidence (each run checks its own as it writes them; this reads them again, as CI does)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from podlife.claims import Result
from podlife.report.agree import Disagreement, check


def main(paths: list[str]) -> int:
    checked = 0
    for path in paths:
        results = [Result.from_json(c) for c in json.loads(Path(path).read_text())["claims"]]
        try:
            check(results)
        except Disagreement as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 1
        checked += sum(r.picture is not None for r in results)
    print(f"{checked} picture(s) in {len(paths)} report(s): each agrees with its evidence")
    return 0 if checked else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
