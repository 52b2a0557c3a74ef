"""Pod start-up latency: the batch a claim creates, and the distribution it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import yaml

from podlife.kube import startup
from podlife.paths import MANIFESTS


def test_the_batch_is_the_web_container_alone_without_its_host_port() -> None:
    pod = yaml.safe_load((MANIFESTS / "webpod.yml").read_text())
    docs = startup.batch(pod, "web", 3)
    assert [d["metadata"]["name"] for d in docs] == ["start-0", "start-1", "start-2"]
    (web,) = docs[0]["spec"]["containers"]
    assert web["name"] == "web" and all("hostPort" not in p for p in web["ports"])
    assert "hostPort" in pod["spec"]["containers"][0]["ports"][0]  # the manifest itself is left as it was


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 31)]
    assert startup.distribution(values) == {
        "n": 30,
        "p50_s": 15.0,
        "p90_s": 27.0,
        "p99_s": 30.0,
        "max_s": 30.0,
    }
    assert startup.percentile([4.0], 99) == 4.0


def pod(name: str, *started: bool) -> SimpleNamespace:
    statuses = [SimpleNamespace(started=s) for s in started]
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name),
        spec=SimpleNamespace(containers=statuses),
        status=SimpleNamespace(container_statuses=statuses),
    )


def test_a_pod_is_started_when_the_watch_first_sees_every_container_started() -> None:
    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    events = [
        (t0 + timedelta(seconds=1), pod("a", True, False)),
        (t0 + timedelta(seconds=2), pod("a", True, True)),
        (t0 + timedelta(seconds=3), pod("a", True, True)),
    ]
    seen = startup.started_at(events)
    assert seen == {"a": t0 + timedelta(seconds=2)}
    assert startup.latencies({"a": t0, "b": t0}, seen) == {"a": 2.0, "b": None}


def test_the_batch_keeps_the_worker_its_scenario_holds_and_drops_a_preference() -> None:
    from podlife.kube import shape

    pod = yaml.safe_load((MANIFESTS / "webpod.yml").read_text())
    (pinned,) = shape.pinned([pod], "w1")
    required = pinned["spec"]["affinity"]["nodeAffinity"][startup.REQUIRED]
    kept = startup.batch(pinned, "web", 1)[0]["spec"]["affinity"]
    assert kept == {"nodeAffinity": {startup.REQUIRED: required}}
    (preferring,) = shape.preferring([pod], "w1")
    assert "affinity" not in startup.batch(preferring, "web", 1)[0]["spec"]
    events = [(None, pod_on("a", "w1")), (None, pod_on("b", "w2")), (None, pod_on("a", "w1"))]
    assert startup.nodes(events) == {"w1": 1, "w2": 1}


def pod_on(name: str, node: str) -> SimpleNamespace:
    return SimpleNamespace(metadata=SimpleNamespace(name=name), spec=SimpleNamespace(node_name=node))
