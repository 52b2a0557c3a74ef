"""A run's heartbeat on its cluster, so the next run can tell a dead run's namespaces from a live one's.

On a cluster podlife does not own, another machine's run may be using podlife's namespaces there
(this machine's lock cannot see it).  Each run therefore holds a ``coordination.k8s.io`` Lease in a
namespace of its own (``podlife-run-<run>``, labelled like every podlife namespace), renewed every
:data:`RENEW_S` by the process that started the run.  A namespace whose run's Lease was not renewed
for :data:`DEAD_AFTER_S` (a run killed with ``kill -9``, a machine gone) belongs to nobody, and the
next run deletes it (:func:`podlife.kube.api.leftovers.collect`); one whose run is alive is only named.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from podlife.kube.api import owned

NAME = "run"
RENEW_S = 10
DURATION_S = 60
DEAD_AFTER_S = 2 * DURATION_S  # a renewal missed this long: the run is gone (clocks may differ a little)


def namespace_of(run: str) -> str:
    return f"podlife-run-{run}"


class RunLease:
    """The run's Lease, made on entry and renewed by a daemon thread until exit; its namespace is
    deleted on exit."""

    def __init__(self, api: Any, run: str, labels: dict[str, str]) -> None:
        self.api, self.run, self.labels = api, run, labels
        self.namespace = namespace_of(run)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.renew, daemon=True, name="podlife-run-lease")

    def __enter__(self) -> RunLease:
        owned.create(self.api, self.namespace, self.labels)
        spec = client.V1LeaseSpec(
            holder_identity=self.run, lease_duration_seconds=DURATION_S, renew_time=now()
        )
        lease = client.V1Lease(metadata=client.V1ObjectMeta(name=NAME), spec=spec)
        try:
            client.CoordinationV1Api(self.api).create_namespaced_lease(self.namespace, lease)
        except BaseException:  # no run without its heartbeat, and no namespace left for it either
            self.__exit__()
            raise
        self.thread.start()
        return self

    def renew(self) -> None:
        while not self.stopped.wait(RENEW_S):
            with contextlib.suppress(Exception):  # one missed renewal: the next one comes
                body = {"spec": {"renewTime": now().isoformat().replace("+00:00", "Z")}}
                client.CoordinationV1Api(self.api).patch_namespaced_lease(NAME, self.namespace, body)

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        with contextlib.suppress(client.ApiException):
            client.CoreV1Api(self.api).delete_namespace(self.namespace)


def now() -> datetime:
    return datetime.now(UTC)


def alive(api: Any, run: str) -> bool | None:
    """Whether ``run`` renewed its Lease within :data:`DEAD_AFTER_S`; None where podlife may not
    read it (then it cannot tell, and takes the run for alive)."""
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease(NAME, namespace_of(run))
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        return None
    renewed = lease.spec.renew_time if lease.spec else None
    return renewed is not None and (now() - renewed).total_seconds() < DEAD_AFTER_S
