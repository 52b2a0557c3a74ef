"""What an earlier run left on its cluster: every namespace podlife makes carries the label
``podlife=scenario`` (:data:`LABEL`); a run that was killed, or a scenario kept with
``--keep-failed``, leaves its namespace behind, and a leftover pod can hold a host port or a
worker's CPU that the next run's scenarios need.  The next run collects them first, while it holds
the cluster (one run at a time, :mod:`podlife.provision.lock`), so no live run owns them."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client

from podlife.kube.api.cluster import api_client
from podlife.kube.api.watch import wait_for

LABEL = {"podlife": "scenario"}
SELECTOR = ",".join(f"{k}={v}" for k, v in LABEL.items())
RUN_LABEL = "podlife-run"  # which run made the namespace: an interrupted run deletes its own
GONE_TIMEOUT_S = 300


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
    (a cluster podlife does not own, where a run on another machine may be using them: this
    machine's lock cannot tell) they are only named, with the command to remove them, and a
    cluster that forbids listing namespaces is said to be unchecked."""
    core = client.CoreV1Api(api_client(kubeconfig))
    try:
        names = sorted(ns.metadata.name for ns in core.list_namespace(label_selector=SELECTOR).items)
    except client.ApiException as exc:
        if exc.status != 403 or delete:
            raise
        say(f"earlier runs' namespaces not looked for: listing namespaces is forbidden here ({exc.reason})")
        return []
    if not names:
        return []
    if not delete:
        say(
            f"{len(names)} namespace(s) labelled {SELECTOR} on this cluster, left by an earlier run or in "
            f"use by one elsewhere: {', '.join(names)}; not deleted on a cluster podlife does not own "
            f"(`kubectl delete namespace -l {SELECTOR}` once no run uses them)"
        )
        return names
    say(f"an earlier run left {len(names)} namespace(s) labelled {SELECTOR}, deleted: {', '.join(names)}")
    _delete(core, names, SELECTOR, GONE_TIMEOUT_S)
    return names


def _delete(
    core: client.CoreV1Api, names: list[str], selector: str, timeout: float | None, grace_s: int = 1
) -> None:
    """Each namespace deleted, its pods given ``grace_s`` to stop (0: removed from the API at once,
    even on a node whose kubelet does not answer; it removes their containers when it is back), one
    already gone no error; then, unless ``timeout`` is None, awaited until no namespace matches
    ``selector``."""
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
        lambda objects: not objects,
        what=f"the namespaces labelled {selector} to be gone",
        timeout=timeout,
        label_selector=selector,
    )
