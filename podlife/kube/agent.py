"""Below the API on any cluster: a privileged agent pod on the node, as LitmusChaos's helper pods
and Chaos Mesh's chaos-daemon reach a node.

The agent is podlife's probe image (plain Python) in a pod pinned to the node (``nodeName``), with
the host's PID namespace and ``privileged``: it sees the node's processes and their cgroups in
``/proc`` and the kernel's log in ``/dev/kmsg``.  Each action is a short Python program run in it
through the API server's exec (:mod:`podlife.kube.execs`), so it needs nothing of the node but a
kubelet, and works wherever privileged pods are allowed.  Its pods live in a namespace of their own,
labelled as every podlife namespace is (an interrupted run's clean-up and the next run's collection
find it), and go when the run ends.

:mod:`podlife.kube.nodes` uses it for a node it cannot reach through Docker (any cluster but
podlife's own kind cluster).  What it does not do yet: stop a node (a kubelet stopped cannot be
exec'd into to start it again), so node-loss claims stay kind-only.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from kubernetes import client

from podlife.errors import SetupError
from podlife.kube import leftovers
from podlife.kube.execs import run_in
from podlife.kube.watch import wait_for

READY_S = 120

# The container's main process, found by its cgroup (the container id is in its path under
# both cgroup drivers) as the one whose parent is not in the container; killed with SIGKILL.
KILL = """
import os, sys
cid = sys.argv[1]
mine = set()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if cid in open(f"/proc/{pid}/cgroup").read():
            mine.add(int(pid))
    except OSError:
        pass
def ppid(pid):
    return int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("PPid:")))
main = min((p for p in mine if ppid(p) not in mine), default=None)
if main is None:
    sys.exit(f"no process of container {cid} on this node")
os.kill(main, 9)
print(main)
"""

# Every container id in the node's process cgroups (64 hex digits).
IDS = """
import json, os, re
ids = set()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ids |= set(re.findall(r"[0-9a-f]{64}", open(f"/proc/{pid}/cgroup").read()))
    except OSError:
        pass
print(json.dumps(sorted(ids)))
"""

# The kernel's log as it stands (each record's text), read without waiting for more.
KMSG = """
import os
fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
while True:
    try:
        record = os.read(fd, 8192).decode(errors="replace")
    except BlockingIOError:
        break
    except OSError:  # a record overwritten while reading: go on
        continue
    print(record.split(";", 1)[-1].rstrip())
"""


class Agent:
    """Agent pods, one per node, created on first use."""

    def __init__(self, api: client.ApiClient, image: str, run: str) -> None:
        self.api, self.image, self.run = api, image, run
        self.namespace = f"podlife-agent-{secrets.token_hex(3)}"
        self.pods: dict[str, str] = {}
        self.lock = threading.Lock()

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def python(self, node: str, code: str, *args: str, timeout: float = 60) -> str:
        """Run ``code`` (Python) on the node; its standard output, or a SetupError."""
        pod = self.pod(node)
        ran = run_in(self.api, self.namespace, pod, "agent", ["python3", "-c", code, *args], timeout=timeout)
        if ran.code != 0:
            raise SetupError(f"the agent on {node} failed (exit {ran.code}): {ran.err.strip()[-300:]}")
        return ran.out

    def pod(self, node: str) -> str:
        with self.lock:
            if node not in self.pods:
                self.pods[node] = self._start(node)
            return self.pods[node]

    def _start(self, node: str) -> str:
        core = self.core
        if not self.pods:
            meta = client.V1ObjectMeta(name=self.namespace, labels=leftovers.labels(self.run))
            core.create_namespace(client.V1Namespace(metadata=meta))
        name = f"agent-{len(self.pods)}"
        try:
            core.create_namespaced_pod(self.namespace, manifest(name, node, self.image))
        except client.ApiException as exc:
            raise SetupError(
                f"no agent on {node}: the cluster refused its privileged pod ({exc.reason})"
            ) from exc
        wait_for(
            core.list_namespaced_pod,
            lambda pods: (p := pods.get(name)) is not None and p.status.phase == "Running",
            what=f"podlife's agent on {node} to run",
            timeout=READY_S,
            describe=lambda pods: {n: p.status.phase for n, p in pods.items()},
            namespace=self.namespace,
        )
        return name

    def close(self) -> None:
        """Its namespace deleted (its pods with it), without waiting."""
        if self.pods:
            try:
                self.core.delete_namespace(self.namespace, grace_period_seconds=0)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
            self.pods.clear()

    # --- what podlife.kube.nodes asks of a node ---
    def kill_container(self, node: str, container_id: str) -> int:
        return int(self.python(node, KILL, container_id.split("://", 1)[-1]).strip())

    def container_ids(self, node: str) -> set[str]:
        return set(json.loads(self.python(node, IDS)))

    def kernel_log(self, node: str) -> str:
        return self.python(node, KMSG)


def manifest(name: str, node: str, image: str) -> dict[str, Any]:
    """The agent's pod: on ``node`` whatever its taints, the host's PIDs, privileged, idle."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "podlife-agent"}},
        "spec": {
            "nodeName": node,
            "hostPID": True,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "agent",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", "import signal; signal.pause()"],
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }
