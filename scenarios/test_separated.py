"""The chapter's conclusion, applied: "Separating your state-less components (application
servers) and state-ful components (databases, redis etc) will help you manage each better."

The fixed architecture of ``manifests/separated/``: the web app as a Deployment of three
replicas, ready only while the database answers; PostgreSQL as a StatefulSet whose files
live on a PersistentVolumeClaim, behind a Service.

- ``separated-survives``: the lines survive deleting the database pod, deleting each web
  pod, and a rolling update of the web to the next version of its image.
- ``rolling-update-no-downtime``: the request loop of ``update-needs-downtime`` (GET /ping
  from inside the cluster through the web Service) sees no failed request while the web
  Deployment rolls to the next version of its image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from podlife.claims import FIXES, Claim, Counter
from podlife.errors import SetupError
from podlife.kube import PodEndpoint, pods, rollout, storage, timeline, traffic, unready_during, webapp
from podlife.measure import Measurement
from podlife.paths import MANIFESTS
from podlife.pictures import Step, StepsTable

SEPARATED = MANIFESTS / "separated"
COUNTER = Path(__file__).parent / "counter"
DB = "db-0"
TIMEOUT_S = 300
MIN_REQUESTS_DURING_ROLLOUT = 20  # fewer, and "no failed request" would say little

SURVIVES = Claim(
    "separated-survives",
    FIXES,
    "Keeping application pods separate from database pods is a good idea as these pods have different "
    "needs and scale differently.",
    subject=SEPARATED,
    fixes="no-horizontal-scale",
    counters=(
        Counter(
            COUNTER / "separated-db-on-emptydir.yml",
            "PostgreSQL's files on an emptyDir: a new db-0 starts empty.",
        ),
    ),
)


@SURVIVES.measure
def separated_survives(m: Measurement) -> None:
    """Write the chapter's three lines through the web Service; after each action, read them back
    through the Service.  Confirmed when every read returns the same lines."""
    ep, lines = deploy(m)
    steps, facts = [], {}
    for name, action in actions(m):
        began = time.monotonic()
        facts[name] = action()
        after, _ = webapp.read_when_answering(ep, timeout=TIMEOUT_S)
        steps.append(Step(name, len(after), after == lines, round(time.monotonic() - began, 3)))
        if after != lines:
            break  # the lines are gone: the later steps would measure nothing
    m.draw(StepsTable(steps))
    m.evidence(lines_written=len(lines), steps=[vars(s) for s in steps], facts=facts)
    broken = [s.step for s in steps if not s.intact]
    m.check(not broken, f"lines changed after: {', '.join(broken)}")
    m.state(f"the {len(lines)} lines read back intact after each of {len(steps)} steps")


def actions(m: Measurement) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """The database pod deleted, each web pod deleted, the web rolled to its next image."""
    yield f"{DB} deleted", lambda: delete_db(m)
    for victim in sorted(p.metadata.name for p in serving(m.kube.watcher.objects)):
        yield f"web pod {victim} deleted", lambda v=victim: delete_web(m, v)
    image = m.next_image(m.subject.web_image)
    yield f"rolling update to {image}", lambda: roll(m, image)


def delete_db(m: Measurement) -> dict[str, Any]:
    began, old = m.kube.act(f"delete {DB}"), m.kube.pod(DB)
    claim = claim_uid(m)
    m.kube.delete_pod(DB, wait=False)
    new = m.kube.wait(
        lambda objs: (p := objs.get(DB)) and p.metadata.uid != old.metadata.uid and pods.all_ready(p) and p,
        what=f"{DB} recreated and ready",
        timeout=TIMEOUT_S,
    )
    m.kube.wait(
        lambda objs: len(serving(objs)) == replicas(m), what="web pods ready again", timeout=TIMEOUT_S
    )
    return {
        "db_node": [old.spec.node_name, new.spec.node_name],
        "same_claim": claim == claim_uid(m),
        "web_pods_unready_meanwhile": unready_during(list(m.kube.watcher.events), began, is_web),
    }


def delete_web(m: Measurement, victim: str) -> dict[str, Any]:
    m.kube.delete_pod(victim, wait=False)
    m.kube.wait(
        lambda objs: victim not in objs and len(serving(objs)) == replicas(m),
        what=f"web pod {victim} replaced and gone",
        timeout=TIMEOUT_S,
    )
    return {}


def roll(m: Measurement, image: str) -> dict[str, Any]:
    m.kube.act(f"web image -> {image}")
    rollout.set_image(m.kube.cluster.api, m.kube.namespace, "Deployment", "web", "web", image)
    m.kube.wait(
        rollout.rolled_out("web", image, replicas(m)), what=f"web rolled out to {image}", timeout=TIMEOUT_S
    )
    return {}


ROLLING = Claim(
    "rolling-update-no-downtime",
    FIXES,
    "Separating your state-less components (application servers) and state-ful components (databases, redis "
    "etc) will help you manage each better.",
    subject=SEPARATED,
    fixes="update-needs-downtime",
    counters=(
        Counter(
            COUNTER / "separated-recreate.yml", "strategy Recreate stops every old pod before a new one."
        ),
    ),
)


@ROLLING.measure
def rolling_update_no_downtime(m: Measurement) -> None:
    """GET /ping through the web Service, one request after another from inside the cluster,
    from before the update until the last pod of the old image is gone: no request fails."""
    deploy(m)
    image = m.next_image(m.subject.web_image)
    with m.kube.request_loop("http://{}:{}/ping".format(*m.subject.service()), max_seconds=240) as loop:
        loop.await_answered(20, "before the update")
        update_at = loop.now()
        roll(m, image)
        rolled_at = loop.now()
        loop.await_answered(20, "after the update", after=rolled_at)
    measured = traffic.measured(loop.samples)
    during = sum(update_at <= s.at <= rolled_at for s in loop.samples)
    if during < MIN_REQUESTS_DURING_ROLLOUT:
        raise SetupError(f"only {during} requests during the rollout: too few to judge downtime")
    m.draw(traffic.series(loop.samples, {"update": update_at, "rolled out": rolled_at}))
    # readiness a web pod lost on its own (a probe timing out on a busy node) is the workload's part:
    # reported, and the requests failed meanwhile not counted against the rolling update
    webs = lambda p: any(c.name == m.subject.web for c in p.spec.containers)  # noqa: E731
    began = datetime.fromtimestamp(loop.zero + update_at, UTC)
    own = timeline.own_losses_s(m.kube.watcher.events, began, webs, loop.zero)
    failed = traffic.failed_outside(loop.samples, update_at, own)
    m.evidence(
        update_at_s=update_at,
        rolled_out_at_s=rolled_at,
        requests_during_rollout=during,
        old_pods=[asdict(x) for x in m.kube.leavings(loop)],  # each one's way out of the Service
        readiness_lost_on_its_own=[{"pod": p, "from_s": a, "until_s": b} for p, a, b in own],
        probe_failures=m.kube.said("Unhealthy") if own else [],
        requests_failed_outside_those_losses=failed,
        **measured,
    )
    m.check(
        failed == 0,
        f"{failed} of {measured['requests']} requests failed (longest window "
        f"{measured['longest_window_s']} s; {measured['failed'] - failed} more while a web pod had lost "
        "its readiness on its own)",
    )
    m.state(f"no request failed: {during} requests during the {rolled_at - update_at:.1f} s rollout")


# ---------------------------------------------------------------- the architecture, deployed
def deploy(m: Measurement) -> tuple[PodEndpoint, list[dict[str, Any]]]:
    """The manifests, the database's claim on the cluster's node-local class (named); the
    chapter's three lines written through the web Service."""
    storage_class = storage.node_local_class(m.kube.cluster.api)
    if storage_class is None:
        raise SetupError("the cluster has no node-local StorageClass (rancher.io/local-path or podlife's)")
    docs = m.docs
    for doc in docs:
        for template in doc["spec"].get("volumeClaimTemplates", []) if doc["kind"] == "StatefulSet" else []:
            template["spec"]["storageClassName"] = storage_class
    m.kube.start_all(docs, timeout=TIMEOUT_S)
    ep = m.kube.endpoint("svc/{}".format(*m.subject.service()), m.subject.service()[1])
    return ep, webapp.write_transcript(ep)


def is_web(pod: Any) -> bool:
    return (pod.metadata.labels or {}).get("app") == "web"


def replicas(m: Measurement) -> int:
    return next(int(d["spec"]["replicas"]) for d in m.subject.docs if d["kind"] == "Deployment")


def serving(objects: dict[str, Any]) -> list[Any]:
    """Web pods ready and not being deleted."""
    return [
        p for p in objects.values() if is_web(p) and not p.metadata.deletion_timestamp and pods.all_ready(p)
    ]


def claim_uid(m: Measurement) -> str | None:
    """The uid of db-0's claim (data-db-0), when it has one."""
    try:
        return m.kube.cluster.core.read_namespaced_persistent_volume_claim(
            "data-db-0", m.kube.namespace
        ).metadata.uid
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
