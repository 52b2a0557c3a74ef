"""Beyond the chapter, a node taken away on purpose: ``kubectl drain``, as a person runs it before
maintenance, against the chapter's pod as a Deployment with a PodDisruptionBudget and as the bare
pod.  Measured through the watch (how many replicas stayed Ready), a request loop through the
Service, and kubectl's own output."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from podlife.claims import BEYOND, Claim, Counter, Needs, Nodes
from podlife.errors import SetupError
from podlife.kube import drain, pods, timeline, traffic, webapp
from podlife.measure import Measurement
from podlife.paths import MANIFESTS

COUNTER = Path(__file__).parent / "counter"
MIN_AVAILABLE = 1

DRAIN = Claim(
    "drain-respects-budget",
    BEYOND,
    "kubectl drain evicts a Deployment's pods only as far as its PodDisruptionBudget allows, with no "
    "failed requests at minAvailable 1; it refuses the chapter's bare pod unless forced, and a "
    "forced drain loses that pod and its data for good.",
    subject=MANIFESTS / "webdeploy-budget.yml",
    needs=Needs(nodes=Nodes.ALL, stops_node=True, host_ports=False),  # replacements go to another worker
    counters=(
        Counter(
            COUNTER / "drain-no-budget.yml",
            "One replica and no PodDisruptionBudget: the drain evicts it at once, and no replica is "
            "Ready until its replacement on another node is.",
        ),
    ),
)


@DRAIN.measure
def drain_respects_budget(m: Measurement) -> None:
    """Every pod on the worker the scenario holds, data written to the bare pod, a request loop
    through the Service; kubectl drain without --force, then with it; the node uncordoned."""
    docs = drain.labelled(m.docs, m.kube.namespace)
    started = m.kube.start_all(docs)
    node, bare = m.placement.prefer, m.subject.pod
    if away := {n: p.spec.node_name for n, p in started.items() if p.spec.node_name != node}:
        raise SetupError(f"pods landed elsewhere than {node}, the worker this scenario drains: {away}")
    lines = webapp.write_transcript(m.kube.endpoint(f"pod/{bare}", m.subject.port))
    refused, still, begun, forced, loop = both_drains(m, m.subject.service(docs), node)
    m.kube.gone(bare, timeout=60)
    kept, failed, parts = whose(m, begun, loop)
    m.evidence(
        node=node,
        unforced=refused.summary(),
        bare_pod_left_by_unforced=still,
        forced=forced.summary(),
        **parts,
        bare_pod_lines_before=len(lines),
        bare_pod_after="gone: no controller recreates it, its data went with it",
    )
    unforced = f"kubectl drain without --force did not refuse the bare pod {bare} (exit {refused.code})"
    m.check(refused.code != 0 and bool(refused.saying(drain.NO_CONTROLLER)) and still, unforced)
    m.check(forced.code == 0, f"the forced drain ended with {forced.code}")
    m.check(kept is not None and kept >= MIN_AVAILABLE, f"{kept} replica(s) Ready during the drain")
    m.check(failed == 0, f"{failed} request(s) through the Service failed during the drain")
    m.state(
        f"{forced.summary()['evictions_refused_by_budget']} eviction(s) refused by the budget and "
        f"retried; at least {kept} replica(s) Ready throughout but for the workload's own readiness losses "
        f"({len(parts['readiness_lost_on_its_own'])}; {parts['fewest_replicas_ready']} at the fewest with "
        "them); the bare pod refused, then lost"
    )


def whose(m: Measurement, begun: Any, loop: Any) -> tuple[int | None, int, dict[str, Any]]:
    """What the budget decides (evictions) apart from the workload's part: readiness a replica lost
    on its own (a probe timing out on a busy node) and the requests failed meanwhile, reported beside
    it.  The fewest replicas Ready but for those losses, the requests failed outside them, the evidence."""
    fewest, kept = (
        timeline.fewest_ready(m.kube.watcher.events, begun, controlled, own_losses_kept=k)
        for k in (False, True)
    )
    own = timeline.own_losses_s(m.kube.watcher.events, begun, controlled, loop.zero)
    since = begun.timestamp() - loop.zero
    requests = traffic.downtime([s for s in loop.samples if s.at >= since])
    failed = traffic.failed_outside(loop.samples, since, own)
    return (
        kept,
        failed,
        {
            "fewest_replicas_ready": fewest,
            "fewest_ready_but_for_the_workloads_own_losses": kept,
            "readiness_lost_on_its_own": [{"pod": p, "from_s": a, "until_s": b} for p, a, b in own],
            "probe_failures": m.kube.said("Unhealthy"),
            "requests_during_drain": requests,
            "requests_failed_outside_those_losses": failed,
            "old_pods": [asdict(x) for x in m.kube.leavings(loop, controlled)],
        },
    )


def both_drains(m: Measurement, service: tuple[str, int], node: str) -> tuple[Any, ...]:
    """While a loop asks the Service: the drain unforced (is the bare pod still there?), then
    forced, and the replicas ready elsewhere; the node uncordoned on the way out."""
    url = f"http://{service[0]}:{service[1]}/ping"
    with m.kube.request_loop(url) as loop, drain.cordon_restored(m.kube, node):
        loop.await_answered(10, "before the drain")
        refused = drain.drain(m.kube, node, force=False)
        still = m.subject.pod in m.kube.watcher.objects
        begun = m.kube.act("the drain forced")
        forced = drain.drain(m.kube, node, force=True)
        m.kube.wait(lambda objs: replicas_ready(objs, node), what="replicas ready elsewhere", timeout=120)
        return refused, still, begun, forced, loop


def controlled(pod: Any) -> bool:
    """A pod some controller manages (a Deployment's, here)."""
    return any(o.controller for o in pod.metadata.owner_references or [])


def replicas_ready(objects: dict[str, Any], node: str) -> bool | None:
    """Every controlled pod that is not being deleted is Ready on another node than ``node``."""
    live = [p for p in objects.values() if controlled(p) and not p.metadata.deletion_timestamp]
    ready = [p for p in live if p.spec.node_name not in (None, node) and pods.pod_ready(p)]
    return (bool(live) and len(ready) == len(live)) or None
