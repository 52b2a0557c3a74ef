"""podlife's helper containers (the probe switch, the SIGTERM clock) run here as the programs they
are, and the shapes that add them keep a manifest's own choices."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import requests
from tenacity import retry, stop_after_delay, wait_fixed

from podlife.kube import clock, drain, nodes, oom, shape, switch

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "w", "ports": [{"containerPort": 8080}]}]},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_switch_fails_and_heals_each_probe_on_its_own() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, *switch.code(port)[1:]])
    try:

        @retry(stop=stop_after_delay(10), wait=wait_fixed(0.1), reraise=True)
        def get(path: str) -> int:
            return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code

        assert (get("/live"), get("/ready")) == (200, 200)
        assert get("/fail/ready") == 200 and (get("/live"), get("/ready")) == (200, 503)
        assert get("/fail/live") == 200 and get("/live") == 503
        assert get("/heal/ready") == 200 and (get("/live"), get("/ready")) == (503, 200)
        assert get("/nothing") == 503
    finally:
        proc.kill()
        proc.wait()


def test_the_clock_says_when_sigterm_came_and_when_it_had_drained() -> None:
    proc = subprocess.Popen([sys.executable, *clock.COMMAND[1:]], stdout=subprocess.PIPE, text=True)
    assert proc.stdout and proc.stdout.readline().strip() == "running"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "SIGTERM"
    assert proc.stdout.readline().strip() == "drained"
    assert proc.wait(10) == 0 and time.monotonic() - sent >= clock.DRAIN_S


def test_helpers_are_added_beside_the_containers_and_a_manifests_own_probes_are_kept() -> None:
    (shaped,) = switch.switched([POD], "web", "python:3")
    web, added = shaped["spec"]["containers"]
    assert added["name"] == switch.NAME and web["livenessProbe"]["httpGet"]["port"] == switch.PORT
    # no liveness probe before the switch answers: a switch slow to start is no liveness failure
    assert web["startupProbe"]["tcpSocket"] == {"port": switch.PORT}
    assert web["startupProbe"]["failureThreshold"] == switch.STARTUP_S
    assert web["livenessProbe"]["timeoutSeconds"] == web["readinessProbe"]["timeoutSeconds"] == 5
    own = {**POD["spec"]["containers"][0], "readinessProbe": {"tcpSocket": {"port": 8080}}}
    (kept,) = switch.switched([{**POD, "spec": {"containers": [own]}}], "web", "python:3")
    assert "livenessProbe" not in kept["spec"]["containers"][0]
    (timed,) = clock.clocked([POD], "python:3")
    assert [c["name"] for c in timed["spec"]["containers"]] == ["web", clock.NAME]
    assert len(clock.clocked([timed], "python:3")[0]["spec"]["containers"]) == 2  # once only


def test_a_service_and_resources_are_added_only_where_the_manifest_has_none() -> None:
    docs = shape.served([POD], "web-probed", 8080)
    assert docs[-1]["spec"] == {"selector": {"app": "web"}, "ports": [{"port": 8080, "targetPort": 8080}]}
    assert len(shape.served(docs, "other", 80)) == 2
    wanted = {"requests": {"cpu": "100m"}}
    (sized,) = shape.resizable([POD], "web", wanted, "NotRequired")
    web = sized["spec"]["containers"][0]
    assert web["resources"] == wanted and {p["restartPolicy"] for p in web["resizePolicy"]} == {"NotRequired"}
    (kept,) = shape.resizable([sized], "web", {"requests": {"cpu": "1"}}, "RestartContainer")
    assert kept["spec"]["containers"][0]["resources"] == wanted


def rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS:"))


def test_the_hog_holds_nothing_until_asked_then_grows_to_its_cap() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, *oom.hog_command(port)[1:]])
    try:

        @retry(stop=stop_after_delay(10), wait=wait_fixed(0.1), reraise=True)
        def grow() -> int:
            return requests.get(f"http://127.0.0.1:{port}/grow", timeout=2).status_code

        before = rss_mib(proc.pid)
        assert before < 64 and grow() == 200

        @retry(stop=stop_after_delay(30), wait=wait_fixed(0.2), reraise=True)
        def grown() -> None:
            assert rss_mib(proc.pid) >= oom.CAP_MIB

        grown()
    finally:
        proc.kill()
        proc.wait()


def test_oom_first_offers_itself_to_the_oom_killer_first() -> None:
    proc = subprocess.Popen([sys.executable, *oom.FIRST_COMMAND[1:]])
    try:

        @retry(stop=stop_after_delay(10), wait=wait_fixed(0.1), reraise=True)
        def adj() -> None:
            with open(f"/proc/{proc.pid}/oom_score_adj") as f:
                assert f.read().strip() == "1000"

        adj()
    finally:
        proc.kill()
        proc.wait()


def test_the_hog_has_a_limit_of_its_own_only_where_the_pod_has_none() -> None:
    (own,) = oom.pressed([POD], "probe")
    names = [c["name"] for c in own["spec"]["containers"]]
    assert names == ["web", oom.HOG, oom.FIRST]
    assert own["spec"]["containers"][1]["resources"] == {"limits": {"memory": oom.LIMIT}}
    assert "resources" not in own["spec"]["containers"][2]
    pod_level = {**POD, "spec": {**POD["spec"], "resources": {"limits": {"memory": "320Mi"}}}}
    (shared,) = oom.pressed([pod_level], "probe")
    assert "resources" not in shared["spec"]["containers"][1]
    assert POD["spec"]["containers"] == [POD["spec"]["containers"][0]]  # the input is left alone


POD_SLICE = "/docker/d24b/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-podbb3b.slice"
HOG_ID, DB_ID = "afef260c647f", "0c9d1e2f3a4b"
KERNEL_LOG = f"""[14442.911137] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0
[14442.911764] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-{HOG_ID}.scope,\
mems_allowed=0,oom_memcg={POD_SLICE}/cri-containerd-{HOG_ID}.scope,task_memcg={POD_SLICE}/cri-containerd-{HOG_ID}.scope,\
task=python3,pid=14345,uid=0
[14442.911845] Memory cgroup out of memory: Killed process 14345 (python3) total-vm:430332kB
[14500.000001] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,\
oom_memcg={POD_SLICE},task_memcg={POD_SLICE}/cri-containerd-{DB_ID}.scope,task=postgres,pid=99,uid=999
[14500.000002] oom-kill:constraint=CONSTRAINT_MEMCG,task=broken
"""  # each record one line (the backslashes only fold them here)


class End:
    def __init__(self, reason: str, exit_code: int) -> None:
        self.reason, self.exit_code = reason, exit_code


def test_the_kernels_oom_records_name_the_container_killed_and_the_cgroup_out_of_memory() -> None:
    hog, db = nodes.parse_oom_kills(KERNEL_LOG)  # the record missing its fields is left out
    assert (hog.task, hog.pid, hog.at_own_limit) == ("python3", 14345, True)
    assert (db.task, db.at_own_limit) == ("postgres", False)  # the pod's cgroup ran out
    assert hog.of(f"containerd://{HOG_ID}") and not hog.of(DB_ID) and not hog.of("containerd://")
    assert hog.to_wire()["cgroup"] == f"cri-containerd-{HOG_ID}.scope"


def test_an_oom_kill_is_witnessed_by_the_kubelets_reason_or_by_the_kernel() -> None:
    kills = nodes.parse_oom_kills(KERNEL_LOG)
    labelled = oom.witnesses(HOG_ID, End("OOMKilled", 137), kills)
    missed = oom.witnesses(HOG_ID, End("Error", 137), kills)  # containerd missed the cgroup v1 event
    unread = oom.witnesses(HOG_ID, End("Error", 137), None)
    plain_kill = oom.witnesses("ffff", End("Error", 137), kills)  # SIGKILL, not the OOM killer
    pod_wide = oom.witnesses(DB_ID, End("OOMKilled", 137), kills)
    assert oom.oom_killed(labelled, own_limit=True) and oom.oom_killed(missed, own_limit=True)
    assert unread["kernel"] is None and not oom.oom_killed(unread, own_limit=True)
    assert plain_kill["kernel"] == [] and not oom.oom_killed(plain_kill, own_limit=False)
    assert oom.oom_killed(pod_wide, own_limit=False) and not oom.oom_killed(pod_wide, own_limit=True)
    assert not oom.oom_killed(oom.witnesses(HOG_ID, End("Error", 1), kills), own_limit=True)
    assert oom.said_by([labelled]) == "OOM-killed per the kubelet and the kernel"
    assert oom.said_by([missed]) == "OOM-killed per the kernel"
    missed_words = "exit 137, kubelet: Error, kernel: oom-kill at its own limit"
    assert oom.described([missed, unread]) == f"{missed_words} / exit 137, kubelet: Error, kernel: not read"
    pod_wide_and_plain = oom.described([pod_wide, plain_kill])
    assert pod_wide_and_plain.endswith("an outer limit / exit 137, kubelet: Error, kernel: no record")


def test_a_drain_selects_only_the_scenarios_labelled_pods_and_reads_kubectls_words() -> None:
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"metadata": {"labels": {"app": "d"}}, "spec": POD["spec"]}},
    }
    service = {"kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    pod, dep, svc = drain.labelled([POD, deployment, service], "ns-1")
    assert pod["metadata"]["labels"] == {"app": "web", drain.LABEL: "ns-1"}
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "d", drain.LABEL: "ns-1"}
    assert svc == service and drain.LABEL not in POD["metadata"]["labels"]
    refused = (
        "error when evicting pods/x (will retry after 5s): "
        "Cannot evict pod as it would violate the pod's disruption budget."
    )
    done = drain.Drained(
        ["kubectl", "drain", "n"], 0, [(0.1, "evicting pod ns/x"), (0.6, refused), (6.0, "drained")]
    )
    summary = done.summary()
    assert summary["evictions_refused_by_budget"] == 1 and summary["took_s"] == 6.0
    assert summary["output"][1].startswith("   0.6s error when evicting")
