"""CI's check of ``podlife diff`` between the default cluster and another (``.ci/run``: 1.36, and
containerd 2 with ContainerStopSignals on): the claims whose verdict changed are exactly the ones named
(``newer_changed.py DIFF_JSON [ID...]``; none named: the four 1.36 has) and their counter-examples, each
from "not applicable" on the default (the feature is not there) to a measured verdict: confirmed for a
claim, refuted for its counter-example; nothing else changed.  Exit 1 naming what differs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# the features 1.36 has and 1.34 has not (stop-signal and replace-after-termination are not applicable on
# both: their gate is off, their field absent)
NEWER = {"own-restart-policy", "memory-limit-lowered", "restart-all-containers", "pod-level-resize"}


def main(path: str, expected: set[str] = NEWER) -> int:
    changed = json.loads(Path(path).read_text())["changed"]
    problems = []
    for c in changed:
        want = "refuted" if c["test"].endswith("_counter_example") else "confirmed"
        if c["id"] not in expected or (c["A"], c["B"]) != ("not applicable", want):
            problems.append(f"{c['test']}: {c['A']} -> {c['B']}")
    problems += [f"{i}: no verdict changed" for i in expected - {c["id"] for c in changed}]
    for problem in problems:
        print(f"newer claims: {problem}", file=sys.stderr)
    if not problems:
        print("newer claims: " + "; ".join(f"{c['test']} {c['A']} -> {c['B']}" for c in changed))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], set(sys.argv[2:]) or NEWER))
