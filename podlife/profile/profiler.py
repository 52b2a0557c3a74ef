"""One workload's profile: the events performed in turn on its first pod, the data in every place
looked for after each, and every observation held to what Kubernetes documents for the shape.
A departure from the documented behaviour is the headline."""

from __future__ import annotations

from typing import Any

from podlife.errors import SetupError
from podlife.kube import endpoints, pod_ready
from podlife.kube.namespace import Namespace
from podlife.profile import documented, events, update
from podlife.profile.observe import first, history_of, kept, markers, new_token, seconds
from podlife.profile.places import Place, places
from podlife.profile.workload import Workload
from podlife.profiled import (
    CONTAINER_RESTART,
    POD_RECREATE,
    Departure,
    Finding,
    Kept,
    Kill,
    Profile,
    Recreate,
    RollingUpdate,
    Start,
    Stop,
)

NO_NODE_LOSS = "not asked for (--no-node-loss): no worker was stopped"


class Profiler:
    """Collects one workload's observations and its departures, then hands them over as a
    :class:`~podlife.profiled.Profile`."""

    def __init__(self, kube: Namespace, workload: Workload) -> None:
        self.kube, self.workload = kube, workload
        self.places, self.not_applicable = places(workload)
        self.departures: list[Departure] = []
        self.data = {p.key: Kept(p.type, p.container) for p in self.places}
        self.kills: dict[str, Kill] = {}
        self.stops: dict[str, Stop] = {}
        self.recreated: Recreate | None = None
        self.rolled: RollingUpdate | None = None
        self.unmeasured = {"node_loss": NO_NODE_LOSS, "rolling_update": "the pod did not get that far"}
        self.findings: list[Finding] = []

    def depart(self, observation: str, promise: documented.Promise, measured: object) -> None:
        self.departures.append(promise.departure(observation, measured))

    def hold(self, observation: str, promise: documented.Promise, measured: object) -> bool:
        """Hold a measured value to its promise; a departure when they differ (None: not measured)."""
        if measured is not None and measured != promise.value:
            self.depart(observation, promise, measured)
            return False
        return True

    def run(self) -> Profile:
        pod, start = events.start(self.kube, self.workload)
        self.check_start(start)
        for container in self.workload.running():
            pod = self.kill(pod, container)
            if pod is None:
                break
        if pod is not None:
            self.stop_and_recreate(pod)
            self.roll()
        return Profile(
            workload=self.workload.key,
            manifest=str(self.workload.path),
            grace_s=self.workload.grace_s(),
            start=start,
            data=self.data,
            not_applicable=dict(self.not_applicable),
            container_kill=self.kills,
            graceful_stop=self.stops,
            pod_recreate=self.recreated,
            node_loss=None,
            rolling_update=self.rolled,
            unmeasured=self.unmeasured,
            departures=self.departures,
            findings=self.findings,
        )

    def check_start(self, start: Start) -> None:
        containers = start.containers.values()
        regular = [c.started_s for c in containers if c.role == "regular" and c.started_s is not None]
        before = [c.ended_s if c.role == "init" else c.started_s for c in containers if c.role != "regular"]
        ready = [b for b in before if b is not None]
        if regular and before and len(ready) == len(before):
            self.hold(
                "start order",
                documented.start_order(),
                max(ready) <= min(regular) + 0.5 or "a regular container started first",
            )

    def kill(self, pod: Any, container: str) -> Any:
        mine = [p for p in self.places if p.container == container]
        token = new_token()
        written = markers(self.kube, pod.metadata.name, mine, token, write=True) if mine else {}
        try:
            seen = events.kill(self.kube, self.workload, pod, container)
        except SetupError as exc:  # no way to the node (a cluster that is not kind): not measured
            self.kills[container] = Kill(restarted=None, unready_s=None, why=str(exc))
            self.record(mine, CONTAINER_RESTART, written, {p.key: f"no kill: {exc}" for p in mine})
            return pod
        self.kills[container] = seen
        sidecar = container in self.workload.sidecars()
        self.hold(
            f"SIGKILL of {container}: containers restarted",
            documented.restarted_by_kill(container, self.workload.restart_policy(), sidecar),
            seen.restarted,
        )
        if not seen.recovered:
            self.unmeasured["after the kill of " + container] = seen.why or "the pod did not recover"
            return None
        now = self.kube.pod(pod.metadata.name)
        self.record(
            mine,
            CONTAINER_RESTART,
            written,
            markers(self.kube, now.metadata.name, mine, token, write=False) if mine else {},
        )
        return now

    def stop_and_recreate(self, pod: Any) -> None:
        """Markers everywhere, the pod deleted (its containers' graceful stop), the pod again, the markers."""
        token = new_token()
        written = markers(self.kube, pod.metadata.name, self.places, token, write=True)
        deleted, stops, replaced = events.delete(self.kube, self.workload, pod)
        self.check_stops(stops)
        self.hold(
            "pod deleted: replaced",
            documented.replaced(self.workload.controlled, self.workload.kind),
            replaced,
        )
        new = events.recreate(self.kube, self.workload, pod.metadata.uid)
        self.recreated = Recreate(
            replaced=replaced,
            by="controller" if replaced else "podlife (applied again)",
            ready_again_s=seconds(deleted, first(history_of(self.kube, new), pod_ready)),
            node_before=pod.spec.node_name,
            node_after=new.spec.node_name,
        )
        found = markers(self.kube, new.metadata.name, self.places, token, write=False)
        same = pod.spec.node_name == new.spec.node_name
        self.record(self.places, POD_RECREATE, written, found, same_node=same)

    def check_stops(self, stops: dict[str, Stop]) -> None:
        """Each container ends within its grace period; one killed there ends with 137."""
        self.stops = stops
        hooks = {c["name"] for c in self.workload.containers() if (c.get("lifecycle") or {}).get("preStop")}
        for container in sorted(hooks & set(stops)):
            self.unmeasured[f"{container} preStop"] = (
                "how long a preStop hook ran is not reported by the API or the node: it is in 'ended after'"
            )
        grace = documented.ends_within_grace(self.workload.grace_s())
        for container, stop in stops.items():
            took = stop.seconds
            if took is not None and took > self.workload.grace_s() + documented.GRACE_SLACK_S:
                self.depart(f"graceful stop of {container}", grace, f"ended {took} s after the deletion")
            if stop.killed_at_grace and stop.exit_code != 137:
                self.depart(f"graceful stop of {container}", grace, f"killed at grace with {stop.exit_code}")
        self.check_sidecars_stop_last(stops)

    def roll(self) -> None:
        """The rolling update, where it applies; held to what the strategy documents."""
        if why := update.not_applicable(self.workload):
            self.unmeasured["rolling_update"] = f"not applicable: {why}"
            return
        self.unmeasured.pop("rolling_update", None)
        self.rolled = seen = update.roll(self.kube, self.workload)
        promise = update.promise(self.workload)
        if promise.value is not True:
            return
        fewest, least = seen.fewest_ready, seen.documented_min_ready
        if fewest is not None and least is not None and fewest < least:
            self.depart("rolling update: keeps serving", promise, f"at the fewest {fewest} pod(s) Ready")
        elif seen.failed_requests:
            self.findings.append(rolling_finding(seen))

    def check_sidecars_stop_last(self, stops: dict[str, Stop]) -> None:
        sidecars = self.workload.sidecars()
        ended = {c: s.seconds for c, s in stops.items() if s.seconds is not None}
        side = [ended[c] for c in sidecars if c in ended]
        regular = [t for c, t in ended.items() if c not in sidecars]
        if side and regular:
            self.hold("sidecars stop last", documented.sidecars_stop_last(), min(side) >= max(regular))

    def record(
        self,
        places_: list[Place],
        event: str,
        written: dict[str, Any],
        found: dict[str, Any],
        same_node: bool | None = None,
    ) -> None:
        """Each place's outcome after ``event``, beside what Kubernetes documents for it."""
        for place in places_:
            promise = documented.survives(place.type, event, same_node)
            seen = kept(written, found, place.key)
            if isinstance(seen, str):
                self.unmeasured[f"{place.key} {event}"] = seen
            survives = seen if isinstance(seen, bool) else None
            self.data[place.key] = self.data[place.key].after(event, survives, bool(promise.value))
            self.hold(f"{place.key} ({place.type}) after {event}", promise, survives)


def rolling_finding(seen: RollingUpdate) -> Finding:
    """Requests failed in a rolling update that kept the pods Ready it documents: whose they are."""
    kept = (
        f"while Kubernetes kept at least {seen.fewest_ready} pod(s) Ready (documented: "
        f"{seen.documented_min_ready})"
        if seen.fewest_ready is not None
        else "the pods' readiness was not seen, so it is not known whether Kubernetes kept its promise"
    )
    why = endpoints.mechanism(seen.old_pods, seen.failed_requests) or (
        "no old pod's way out explains them (none ended before its endpoint was off while requests "
        "failed): " + ("; ".join(p.line() for p in seen.old_pods) or "no old pod's deletion was seen")
    )
    return Finding(
        "rolling update: requests lost",
        f"{seen.failed_requests} of {seen.requests} request(s) failed {kept}",
        why,
        endpoints.REMEDY,
    )
