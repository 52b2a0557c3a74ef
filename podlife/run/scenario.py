"""One scenario's frame: its share of the cluster held (:mod:`podlife.run.resources`), its
namespace and watch opened before its measurement; afterwards the evidence bundle when it
failed, and its namespace deleted in the background (the share released once its pods are gone)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from podlife.claims import Claim, Counter, Needs
from podlife.kube import Cluster
from podlife.kube.namespace import Namespace
from podlife.measure import Measurement, Options
from podlife.run import evidence, resources
from podlife.run.progress import record
from podlife.run.session import MARK, PROGRESS, reports_dir

TEARDOWN_S = 360
TEARDOWNS: list[threading.Thread] = []


@dataclass
class Opened:
    measurement: Measurement
    held: resources.Allocation
    log: Path


def begin(
    config: pytest.Config, test: str, cluster: Cluster, claim: Claim, counter: Counter | None, needs: Needs
) -> Opened:
    options = Options(
        Path(config.getoption("pod_manifest")).resolve(),
        config.getoption("runs"),
        allow_privileged=config.getoption("allow_privileged_subject"),
    )
    log = reports_dir(config) / PROGRESS
    chapter_pod = Measurement.subject_of(claim, counter, options)
    cluster.can_get(chapter_pod.images(), chapter_pod.path.name)
    held = resources.acquire(
        resources.lock_dir(cluster.kubeconfig),
        test,
        needs,
        needs.host_ports and chapter_pod.host_ports(),
        cluster.workers(),
        waiting=lambda text: record(log, test, "waiting", on=text),
    )
    placement = needs.placement(held.node)
    kube = Namespace(
        cluster, claim.id + ("-counter" if counter else ""), node=placement.pin, prefer=placement.prefer
    )
    record(log, test, "running", node=held.node)
    kube.open()
    return Opened(Measurement(kube, claim, counter, options, placement), held, log)


def end(config: pytest.Config, item: pytest.Item, opened: Opened) -> None:
    m, test = opened.measurement, item.nodeid
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
    record(opened.log, test, "tearing down")
    thread = threading.Thread(
        target=teardown, args=(m.kube, opened.held, keep, opened.log, test), daemon=True
    )
    TEARDOWNS.append(thread)
    thread.start()


def teardown(kube: Namespace, held: resources.Allocation, keep: bool, log: Path, test: str) -> None:
    """In the background: the namespace deleted and its pods awaited gone, then the share
    released.  A namespace that does not go keeps its share held (nobody may collide with
    it) and is reported at the end of the run."""
    try:
        kube.close(delete=not keep)
    except Exception as exc:
        record(log, test, "teardown failed", error=f"{type(exc).__name__}: {exc}")
        return
    if not keep:
        held.release()
    record(log, test, "done")


def join_teardowns(budget_s: float = TEARDOWN_S) -> None:
    """Wait for the scenarios' teardowns, each up to TEARDOWN_S and all together up to ``budget_s``
    (an interrupted run waits briefly: what is left, its controller deletes)."""
    ends = time.monotonic() + budget_s
    for thread in TEARDOWNS:
        thread.join(max(0.0, min(TEARDOWN_S, ends - time.monotonic())))
