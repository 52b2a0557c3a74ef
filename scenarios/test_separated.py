"""The chapter's conclusion, applied: "Separating your state-less components (application
servers) and state-ful components (databases, redis etc) will help you manage each better."

The fixed architecture of ``manifests/separated/``: the web app as a Deployment of three
replicas, ready only while the database answers; PostgreSQL as a StatefulSet whose files
live on a PersistentVolumeClaim, behind a Service.

- ``separated-survives``: the lines survive deleting each web pod, deleting the database
  pod, and a rolling update of the web image.
- ``rolling-update-no-downtime``: the request loop of ``update-needs-downtime`` (the same
  requests, through the same NodePort published on 127.0.0.1) sees no failed request while
  the web Deployment rolls to a new image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from kubernetes import client

from podlife import pods, storage, webapp
from podlife.claims import CLAIMS, Result, Stopwatch, Verdict, expect_refuted, require
from podlife.cluster import SERVICE_HOST_PORT, SERVICE_NODE_PORT
from podlife.html_report import request_series
from podlife.images import WEB_IMAGE_NEXT
from podlife.paths import MANIFESTS
from podlife.scenario import Scenario
from podlife.traffic import RequestLoop, downtime

SEPARATED = MANIFESTS / "separated"
DB = "db-0"
REPLICAS = 3
TIMEOUT_S = 300
MIN_REQUESTS_DURING_ROLLOUT = 20  # fewer, and "no failed request" would say little

Adjust = Callable[[list[dict[str, Any]]], None]


class ServiceEndpoint:
    """The web Service as :mod:`podlife.webapp` speaks to an endpoint, through the NodePort
    the cluster publishes on 127.0.0.1: each request may reach any ready web pod."""

    pod = "the web Service"

    def __init__(self, port: int = SERVICE_HOST_PORT) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, *, timeout: float = 5, **kwargs: Any) -> requests.Response:
        headers = {"Connection": "close", **kwargs.pop("headers", {})}  # a new connection, a new pick
        return requests.request(method, self.base + path, timeout=timeout, headers=headers, **kwargs)


# ---------------------------------------------------------------- the architecture, deployed
def load(scn: Scenario, adjust: Adjust | None) -> list[dict[str, Any]]:
    """manifests/separated/ as measured: the claim on the node-local class, named; the web
    Service also published as the cluster's NodePort (the one way the host reaches a
    Service); then the counter-example's change, if any."""
    storage_class = storage.for_podlife_cluster(scn.cluster.kubeconfig)
    docs = scn.load(SEPARATED / "db.yml") + scn.load(SEPARATED / "web.yml")
    for doc in docs:
        if doc["kind"] == "StatefulSet":
            for template in doc["spec"].get("volumeClaimTemplates", []):
                template["spec"]["storageClassName"] = storage_class
        if doc["kind"] == "Service" and doc["metadata"]["name"] == "web":
            doc["spec"]["type"] = "NodePort"
            doc["spec"]["ports"][0]["nodePort"] = SERVICE_NODE_PORT
    if adjust:
        adjust(docs)
    return docs


def is_web(pod: Any) -> bool:
    return (pod.metadata.labels or {}).get("app") == "web"


def image_of(pod: Any) -> str:
    return pod.spec.containers[0].image


def serving(objects: dict[str, Any], image: str | None = None) -> list[Any]:
    """Web pods ready and not being deleted (of ``image``, when given)."""
    return [
        p
        for p in objects.values()
        if is_web(p)
        and not p.metadata.deletion_timestamp
        and pods.all_ready(p)
        and (image is None or image_of(p) == image)
    ]


def deploy(scn: Scenario, adjust: Adjust | None) -> tuple[ServiceEndpoint, list[dict[str, Any]]]:
    docs = load(scn, adjust)
    scn.node_port_free(SERVICE_NODE_PORT)
    scn.start_all(docs, timeout=TIMEOUT_S)
    ep = ServiceEndpoint()
    lines = webapp.write_transcript(ep)
    return ep, lines


def rolled_out(image: str) -> Callable[[dict[str, Any]], Any]:
    """Every web pod runs ``image`` and is ready; no pod of the old template is left."""

    def done(objects: dict[str, Any]) -> Any:
        webs = [p for p in objects.values() if is_web(p)]
        new = serving(objects, image)
        return new if len(new) == REPLICAS and len(webs) == REPLICAS else None

    return done


def update_image(scn: Scenario, image: str) -> None:
    client.AppsV1Api(scn.cluster.api).patch_namespaced_deployment(
        "web",
        scn.namespace,
        [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}],
    )


# ---------------------------------------------------------------- separated-survives
def separated_survives(
    scn: Scenario, *, adjust: Adjust | None = None, actions: tuple[str, ...] = ("web", "db", "update")
) -> Result:
    """Write the chapter's three lines through the Service; after each action, read them
    back through the Service.  Confirmed when every read returns the same lines."""
    clock = Stopwatch()
    ep, lines = deploy(scn, adjust)
    steps: list[dict[str, Any]] = []

    def check(step: str, began: float, **facts: Any) -> None:
        after, waited = webapp.read_when_answering(ep, timeout=TIMEOUT_S)
        steps.append(
            {
                "step": step,
                "lines": len(after),
                "intact": after == lines,
                "seconds": round(time.monotonic() - began, 3),
                "read_waited_s": waited,
                **facts,
            }
        )

    if "web" in actions:
        for victim in sorted(p.metadata.name for p in scn.wait(serving, what="web pods", timeout=10)):
            began = time.monotonic()
            scn.delete_pod(victim)
            scn.wait(
                lambda objs, v=victim: v not in objs and len(serving(objs)) == REPLICAS,
                what=f"web pod {victim} replaced and gone",
                timeout=TIMEOUT_S,
            )
            check(f"web pod {victim} deleted", began)
    if "db" in actions:
        began = time.monotonic()
        old = scn.pod(DB)
        claim_before = claim_uid(scn)
        scn.delete_pod(DB)
        new = scn.wait(
            lambda objs: (
                (p := objs.get(DB)) and p.metadata.uid != old.metadata.uid and pods.all_ready(p) and p
            ),
            what=f"{DB} recreated and ready",
            timeout=TIMEOUT_S,
        )
        db_back_s = round(time.monotonic() - began, 3)
        scn.wait(lambda objs: len(serving(objs)) == REPLICAS, what="web pods ready again", timeout=TIMEOUT_S)
        check(
            f"{DB} deleted",
            began,
            db_node=[old.spec.node_name, new.spec.node_name],
            db_back_s=db_back_s,
            same_claim=claim_before == claim_uid(scn) if claim_before else None,
            web_pods_unready_meanwhile=unready_since(scn, began),
        )
    if "update" in actions:
        began = time.monotonic()
        update_image(scn, WEB_IMAGE_NEXT)
        scn.wait(rolled_out(WEB_IMAGE_NEXT), what=f"web rolled out to {WEB_IMAGE_NEXT}", timeout=TIMEOUT_S)
        check(f"rolling update to {WEB_IMAGE_NEXT}", began)
    broken = [s["step"] for s in steps if not s["intact"]]
    evidence = {"lines_written": len(lines), "steps": steps}
    statement = (
        f"lines changed after: {', '.join(broken)}"
        if broken
        else f"the {len(lines)} lines read back intact after each of {len(steps)} steps"
    )
    return Result(
        CLAIMS["separated-survives"],
        Verdict.REFUTED if broken else Verdict.CONFIRMED,
        evidence,
        statement,
        clock.elapsed(),
        str(SEPARATED),
    )


def claim_uid(scn: Scenario) -> str | None:
    """The uid of db-0's claim (data-db-0), when it has one."""
    try:
        return scn.cluster.core.read_namespaced_persistent_volume_claim(
            "data-db-0", scn.namespace
        ).metadata.uid
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def unready_since(scn: Scenario, began: float) -> list[str]:
    """Web pods seen not ready (while running, not deleted) since ``began``: the readiness
    probe on /ready taking them out of the Service while the database was away."""
    since = time.time() - (time.monotonic() - began)
    assert scn.watcher
    seen = set()
    for event in list(scn.watcher.events):
        pod = event.obj
        if (
            event.at.timestamp() >= since
            and is_web(pod)
            and not pod.metadata.deletion_timestamp
            and pod.status.phase == "Running"
            and not pods.all_ready(pod)
        ):
            seen.add(pod.metadata.name)
    return sorted(seen)


def db_on_empty_dir(docs: list[dict[str, Any]]) -> None:
    """Counter-example: the StatefulSet's files on an emptyDir instead of its claim."""
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    sts["spec"].pop("volumeClaimTemplates")
    sts["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]


@pytest.mark.claim("separated-survives")
def test_separated_survives(scn: Scenario) -> None:
    require(scn.record(separated_survives(scn)))


@pytest.mark.claim("separated-survives")
def test_separated_survives_counter_example(scn: Scenario) -> None:
    """PostgreSQL's files on an emptyDir: the recreated db-0 starts empty."""
    result = scn.record(separated_survives(scn, adjust=db_on_empty_dir, actions=("db",)), counter=True)
    expect_refuted(result)


# ---------------------------------------------------------------- rolling-update-no-downtime
def rolling_update_no_downtime(scn: Scenario, *, adjust: Adjust | None = None) -> Result:
    """update-needs-downtime's request loop (GET /ping through the Service, a new connection
    each) while the web Deployment rolls to a new image; from before the update until the
    last pod of the old image is gone.  Confirmed when no request failed."""
    clock = Stopwatch()
    ep, _ = deploy(scn, adjust)
    request = lambda: ep.request("GET", "/ping", timeout=2)  # noqa: E731
    with RequestLoop(request, max_seconds=240) as loop:
        loop.await_answered(20, "before the update")
        update_at = loop.now()
        update_image(scn, WEB_IMAGE_NEXT)
        scn.wait(rolled_out(WEB_IMAGE_NEXT), what=f"web rolled out to {WEB_IMAGE_NEXT}", timeout=TIMEOUT_S)
        rolled_at = loop.now()
        loop.await_answered(20, "after the update", after=rolled_at)
    measured = downtime(loop.samples)
    during = sum(update_at <= s.at <= rolled_at for s in loop.samples)
    if during < MIN_REQUESTS_DURING_ROLLOUT:
        raise AssertionError(f"only {during} requests during the rollout: too few to judge downtime")
    evidence = {
        "how": "rolling update of the separated web Deployment (3 replicas)",
        "update_at_s": update_at,
        "rolled_out_at_s": rolled_at,
        "requests_during_rollout": during,
        **measured,
        "series": request_series(loop.samples, marks={"update": update_at, "rolled out": rolled_at}),
    }
    failed = measured["failed"]
    statement = (
        f"{failed} of {measured['requests']} requests failed "
        f"(longest window {measured['longest_window_s']} s)"
        if failed
        else f"no request failed: {during} requests during the {rolled_at - update_at:.1f} s rollout"
    )
    return Result(
        CLAIMS["rolling-update-no-downtime"],
        Verdict.REFUTED if failed else Verdict.CONFIRMED,
        evidence,
        statement,
        clock.elapsed(),
        str(SEPARATED / "web.yml"),
    )


def recreate_strategy(docs: list[dict[str, Any]]) -> None:
    """Counter-example: the Deployment replaces all pods at once (strategy Recreate)."""
    web = next(d for d in docs if d["kind"] == "Deployment")
    web["spec"]["strategy"] = {"type": "Recreate"}


@pytest.mark.claim("rolling-update-no-downtime")
def test_rolling_update_no_downtime(scn: Scenario) -> None:
    require(scn.record(rolling_update_no_downtime(scn)))


@pytest.mark.claim("rolling-update-no-downtime")
def test_rolling_update_no_downtime_counter_example(scn: Scenario) -> None:
    """strategy: Recreate stops every old pod before starting a new one."""
    result = scn.record(rolling_update_no_downtime(scn, adjust=recreate_strategy), counter=True)
    expect_refuted(result)
