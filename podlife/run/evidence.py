"""The evidence bundle a failed scenario leaves under ``reports/``.

For every pod of the scenario's namespace: the pod as YAML, the namespace's events in
time order, and the logs of every container, including the previous instance of each
container that restarted; and the scenario's merged timeline.  Enough to see what
happened without the cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podlife.kube import statuses


def collect(api: client.ApiClient, namespace: str, dest: Path, timeline: str = "") -> Path:
    core = client.CoreV1Api(api)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "timeline.txt").write_text(timeline + "\n")
    events = core.list_namespaced_event(namespace).items
    epoch = datetime.min.replace(tzinfo=UTC)
    events.sort(key=lambda e: e.last_timestamp or e.event_time or e.first_timestamp or epoch)
    (dest / "events.txt").write_text(
        "".join(
            f"{e.last_timestamp or e.event_time}  {e.type:<8} {e.reason:<20} "
            f"{e.involved_object.kind}/{e.involved_object.name}: {e.message}\n"
            for e in events
        )
    )
    for pod in core.list_namespaced_pod(namespace).items:
        name = pod.metadata.name
        (dest / f"{name}.yaml").write_text(
            yaml.safe_dump(api.sanitize_for_serialization(pod), sort_keys=False)
        )
        for container, status in {**statuses(pod), **ephemeral(pod)}.items():
            write_log(core, namespace, name, container, dest / f"{name}.{container}.log", previous=False)
            if status.restart_count:
                write_log(
                    core, namespace, name, container, dest / f"{name}.{container}.previous.log", previous=True
                )
    return dest


def ephemeral(pod: Any) -> dict[str, Any]:
    """The pod's probes: their logs are what podlife read."""
    return {s.name: s for s in pod.status.ephemeral_container_statuses or []}


def write_log(
    core: client.CoreV1Api, namespace: str, pod: str, container: str, path: Path, *, previous: bool
) -> None:
    try:
        text: Any = core.read_namespaced_pod_log(
            pod, namespace, container=container, previous=previous, timestamps=True
        )
    except ApiException as exc:
        text = f"(no log: {exc.status} {exc.reason})\n"
    path.write_text(text)
