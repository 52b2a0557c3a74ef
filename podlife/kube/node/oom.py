"""Memory pressure from the pod's own shape: two containers podlife adds to a pod (its probe image,
plain Python), so that an OOM claim needs no endpoint of the app and nothing of its images.

- ``memory-hog`` holds nothing until asked (``GET /grow`` on ``PORT``), then allocates and touches
  ``STEP_MIB`` at a time up to ``CAP_MIB``.  It has a memory limit of its own (``LIMIT``) unless
  the pod declares a pod-level memory limit.
- ``oom-first`` holds ``BYSTANDER_MIB`` and raises its own ``oom_score_adj`` to 1000: the process
  the kernel's OOM killer picks first whenever its choice spans the pod.  Where the OOM is the
  hog's own (its container's limit), the kernel chooses among the hog's processes only, and
  ``oom-first`` is never a candidate.

Who says a container was OOM-killed: the kubelet, as its end's reason ``OOMKilled`` (containerd
learns it from the cgroup's OOM event, and on cgroup v1 under load it can miss it and report
``Error`` with the same 137), and the kernel, whose log names the cgroup of every task it killed
and the cgroup that ran out.  An end is an OOM kill when either says so; the evidence names both.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from podlife.errors import SetupError
from podlife.kube import helpers
from podlife.kube.api.reach import PodEndpoint
from podlife.kube.helpers import memory
from podlife.kube.node import nodes
from podlife.kube.pod import timeline
from podlife.kube.pod.manifest import pod_spec

HOG, FIRST = "memory-hog", "oom-first"
PORT = 9101
LIMIT = "64Mi"  # the hog's own limit: far below what it allocates
STEP_MIB, CAP_MIB, BYSTANDER_MIB = memory.STEP_MIB, memory.CAP_MIB, memory.BYSTANDER_MIB


def hog_command(port: int = PORT) -> list[str]:
    """The hog's command (:mod:`podlife.kube.helpers.memory`), asked to grow on ``port``."""
    return helpers.command(memory, "hog", str(port))


FIRST_COMMAND = helpers.command(memory, "first")


def pod_limited(spec: dict[str, Any]) -> bool:
    """The pod declares a pod-level memory limit (PodLevelResources)."""
    return bool(((spec.get("resources") or {}).get("limits") or {}).get("memory"))


def pressed(docs: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """The pods with the hog and ``oom-first`` beside their containers."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        hog: dict[str, Any] = {
            "name": HOG,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": hog_command(),
        }
        if not pod_limited(spec):
            hog["resources"] = {"limits": {"memory": LIMIT}}
        first = {"name": FIRST, "image": image, "imagePullPolicy": "IfNotPresent"}
        spec["containers"] += [hog, {**first, "command": FIRST_COMMAND}]
    return docs


def grow(ep: PodEndpoint) -> None:
    """Ask the hog to allocate (it answers at once, and grows in the background)."""
    ep.request("GET", "/grow", timeout=5).raise_for_status()


def kernel_kills(node: str) -> tuple[list[nodes.KernelOomKill] | None, str | None]:
    """The node kernel's OOM kills, or None and why they could not be read."""
    try:
        return nodes.oom_kills(node), None
    except (SetupError, OSError) as exc:
        return None, f"the node's kernel log not read: {exc}"


def witnesses(container_id: str, end: Any, kills: list[nodes.KernelOomKill] | None) -> dict[str, Any]:
    """Who says the end (a terminated state) of ``container_id`` was an OOM kill: the kubelet's
    reason, and the kernel's record of that container's task (None: the log was not read)."""
    mine = [k for k in kills or [] if k.of(container_id)]
    return {
        "exit_code": end.exit_code,
        "kubelet_reason": end.reason,
        "kernel": None if kills is None else [k.to_wire() for k in mine],
    }


def ended(
    history: timeline.History, names: list[str], node: str, *, since: datetime
) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Each container's ends after ``since`` with both witnesses (:func:`witnesses`), for those that
    ended; and how the node's kernel log was read."""
    kills, unread = kernel_kills(node)
    out = {
        c: [witnesses(cid, t, kills) for cid, t in timeline.ends(history, c, since=since).items()]
        for c in names
    }
    return {
        c: e for c, e in out.items() if e
    }, unread or "read on the node: each end's oom-kill records by container id"


def oom_killed(said: dict[str, Any], *, own_limit: bool) -> bool:
    """Exit 137 and an OOM kill by either witness; with ``own_limit``, the kernel's record (when
    there is one) says the container's own cgroup was the one out of memory."""
    kernel = said["kernel"] or []
    return (
        said["exit_code"] == 137
        and (said["kubelet_reason"] == "OOMKilled" or bool(kernel))
        and not (own_limit and any(not k["at_own_limit"] for k in kernel))
    )


def described(ends: list[dict[str, Any]]) -> str:
    """Each end in words: 'exit 137, kubelet: OOMKilled, kernel: oom-kill at its own limit'."""

    def kernel(said: dict[str, Any]) -> str:
        if said["kernel"] is None:
            return "not read"
        where = sorted({"its own" if k["at_own_limit"] else "an outer" for k in said["kernel"]})
        return "; ".join(f"oom-kill at {w} limit" for w in where) or "no record"

    words = [f"exit {s['exit_code']}, kubelet: {s['kubelet_reason']}, kernel: {kernel(s)}" for s in ends]
    return " / ".join(words) or "no end"


def said_by(ends: list[dict[str, Any]]) -> str:
    """Who called the ends OOM kills, in words: 'OOMKilled per the kubelet and the kernel'."""
    kubelet = all(s["kubelet_reason"] == "OOMKilled" for s in ends)
    kernel = all(s["kernel"] for s in ends)
    who = " and ".join(w for w, yes in (("the kubelet", kubelet), ("the kernel", kernel)) if yes)
    return f"OOM-killed per {who or 'either the kubelet or the kernel, end by end'}"
