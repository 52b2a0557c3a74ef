"""What an earlier run left on its cluster: every namespace podlife makes carries the label
``podlife=scenario`` (:data:`LABEL`); a run that was killed, or a scenario kept with
``--keep-failed``, leaves its namespace behind, and a leftover pod can hold a host port or a
worker's CPU that the next run's scenarios need.  The next run collects them first, while it holds
the cluster (one run at a time, :mod:`podlife.provision.lock`), so no live run owns them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from podlife.kube.api import lease
from podlife.kube.api.cluster import api_client
from podlife.kube.api.watch import wait_for

LABEL = {"podlife": "scenario"}
SELECTOR = ",".join(f"{k}={v}" for k, v in LABEL.items())
RUN_LABEL = "podlife-run"  # which run made the namespace: an interrupted run deletes its own
GONE_TIMEOUT_S = 300
ORPHAN_S = 3600  # a podlife namespace of no run (a pull check killed midway): gone after an hour


def labels(run: str) -> dict[str, str]:
    """A podlife namespace's labels: podlife's, and the run's id where there is one."""
    return {**LABEL, RUN_LABEL: run} if run else dict(LABEL)


def abandon(kubeconfig: str, run: str, *, timeout: float | None) -> list[str]:
    """An interrupted run's clean-up: delete the namespaces this run made (its label), whatever
    cluster it is, and wait up to ``timeout`` until they are gone (None: not awaited); return their
    names."""
    core = client.CoreV1Api(api_client(kubeconfig))
    selector = f"{SELECTOR},{RUN_LABEL}={run}"
    names = sorted(ns.metadata.name for ns in core.list_namespace(label_selector=selector).items)
    if names:
        _delete(core, names, selector, timeout, grace_s=0)  # pods on a stopped node go too
    return names


def collect(kubeconfig: str, say: Callable[[str], None], *, delete: bool = True) -> list[str]:
    """Delete every podlife namespace on the cluster (their pods get 1 s to stop) and wait until
    they are gone; return their names.  Nothing without the label is touched.  Without ``delete``
    (a cluster podlife does not own, where a run on another machine may be using them) only those
    of runs that are gone are deleted (:mod:`podlife.kube.api.lease`: their run's Lease not renewed
    for minutes); the others are named.  A cluster that forbids listing namespaces is said to be
    unchecked."""
    api = api_client(kubeconfig)
    core = client.CoreV1Api(api)
    try:
        found = core.list_namespace(label_selector=SELECTOR).items
    except client.ApiException as exc:
        if exc.status != 403 or delete:
            raise
        say(f"earlier runs' namespaces not looked for: listing namespaces is forbidden here ({exc.reason})")
        return []
    names = sorted(ns.metadata.name for ns in found)
    if not delete:
        living = sorted(ns.metadata.name for ns in found if not gone(api, ns))
        if living:
            say(
                f"{len(living)} namespace(s) labelled {SELECTOR} of a run that is alive (its Lease renewed) "
                f"or cannot be told: {', '.join(living)}; not deleted"
            )
        names = [n for n in names if n not in living]
    if not names:
        return []
    say(f"an earlier run left {len(names)} namespace(s) labelled {SELECTOR}, deleted: {', '.join(names)}")
    # their runs are over: pods go at once (one on a node that does not answer too), and only these
    # namespaces are awaited (elsewhere a live run's may stay)
    _delete(core, names, SELECTOR, GONE_TIMEOUT_S, grace_s=1 if delete else 0, only=set(names))
    return names


def gone(api: Any, namespace: Any) -> bool:
    """Whether the run that made ``namespace`` is gone: its Lease not renewed (a namespace of no
    run, such as a killed image check's, once it is an hour old)."""
    age = (datetime.now(UTC) - namespace.metadata.creation_timestamp).total_seconds()
    run = (namespace.metadata.labels or {}).get(RUN_LABEL)
    if run is None:
        return age > ORPHAN_S
    return age > lease.DEAD_AFTER_S and lease.alive(api, run) is False


def _delete(
    core: client.CoreV1Api,
    names: list[str],
    selector: str,
    timeout: float | None,
    grace_s: int = 1,
    only: set[str] | None = None,
) -> None:
    """Each namespace deleted, its pods given ``grace_s`` to stop (0: removed from the API at once,
    even on a node whose kubelet does not answer; it removes their containers when it is back), one
    already gone no error; then, unless ``timeout`` is None, awaited until no namespace matches
    ``selector`` (of those in ``only``, where given)."""
    for name in names:
        try:
            core.delete_collection_namespaced_pod(name, grace_period_seconds=grace_s)
            core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:  # gone meanwhile: a teardown finished it
                raise
    if timeout is None:
        return
    wait_for(
        core.list_namespace,
        lambda objects: not (set(objects) & only if only is not None else objects),
        what=f"the namespaces labelled {selector} to be gone",
        timeout=timeout,
        label_selector=selector,
    )
