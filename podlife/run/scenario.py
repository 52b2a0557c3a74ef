"""One scenario in its frame (:mod:`podlife.run.frame`): its share of the cluster held, its
namespace and watch opened before its measurement; afterwards the evidence bundle when it
failed, and the frame closed in the background (the share released once its pods are gone)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from podlife.claims import Claim, Counter, Needs
from podlife.kube import Cluster
from podlife.measure import Measurement, Options
from podlife.run import evidence, frame
from podlife.run.frame import Frame
from podlife.run.session import MARK, reports_dir

TEARDOWN_S = 360
# The teardowns this process started: the run waits for them at its end (join_teardowns), as
# pytest has no fixture scope that outlives a test but not the session's reports.
TEARDOWNS: list[threading.Thread] = []


@dataclass
class Opened:
    measurement: Measurement
    frame: Frame


def begin(
    config: pytest.Config, test: str, cluster: Cluster, claim: Claim, counter: Counter | None, needs: Needs
) -> Opened:
    options = Options(
        Path(config.getoption("pod_manifest")).resolve(),
        config.getoption("runs"),
        allow_privileged=config.getoption("allow_privileged_subject"),
    )
    chapter_pod = Measurement.subject_of(claim, counter, options)
    cluster.can_get(chapter_pod.images(), chapter_pod.path.name)
    opened = frame.hold(config, test, cluster, needs, needs.host_ports and chapter_pod.host_ports())
    placement = needs.placement(opened.node)
    name = claim.id + ("-counter" if counter else "")
    kube = opened.namespace(name, node=placement.pin, prefer=placement.prefer)
    return Opened(Measurement(kube, claim, counter, options, placement), opened)


def end(config: pytest.Config, item: pytest.Item, opened: Opened) -> None:
    m = opened.measurement
    failed = any(r is None or r.failed for r in (getattr(item, f"rep_{w}", None) for w in ("setup", "call")))
    if failed:
        dest = reports_dir(config) / "evidence" / item.name.replace("/", "_")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            (dest.parent / MARK).touch()
            evidence.collect(m.kube.cluster.api, m.kube.namespace, dest, m.kube.timeline())
        except Exception as exc:  # the bundle is a courtesy; the failure itself is already reported
            print(f"podlife: evidence bundle incomplete: {exc}")
    keep = failed and config.getoption("keep_failed")
    thread = threading.Thread(target=teardown, args=(opened.frame, keep), daemon=True)
    TEARDOWNS.append(thread)
    thread.start()


def teardown(opened: Frame, keep: bool) -> None:
    """In the background: the frame closed (a namespace that does not go is recorded there and
    reported at the end of the run)."""
    with contextlib.suppress(Exception):
        opened.close(keep=keep)


def join_teardowns(budget_s: float = TEARDOWN_S) -> None:
    """Wait for the scenarios' teardowns, each up to TEARDOWN_S and all together up to ``budget_s``
    (an interrupted run waits briefly: what is left, its controller deletes)."""
    ends = time.monotonic() + budget_s
    for thread in TEARDOWNS:
        thread.join(max(0.0, min(TEARDOWN_S, ends - time.monotonic())))
