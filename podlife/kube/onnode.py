"""The programs podlife's agent (:mod:`podlife.kube.agent`) runs on a node: plain Python of the
probe image, each run with the host's PIDs (``hostPID``) and ``privileged``, so that ``/proc``,
``/dev/kmsg`` and, through ``nsenter -t 1 -m``, the node's own systemd are the node's."""

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


# The agent's main process: the kubelet of its node stopped and started on request (GET /kubelet,
# /stop/<seconds>, /start, /restore), through ``systemctl`` in the node's own mount namespace.
SERVE = """
import http.server, json, secrets, subprocess, sys
PORT = int(sys.argv[1])
state = {"stopped": False, "switch": None}
def node(*argv):
    argv = ["nsenter", "-t", "1", "-m", "--", *argv]
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return ran.returncode, (ran.stdout + ran.stderr).strip()
def active():
    return node("systemctl", "is-active", "kubelet")[1]
def start():
    code, said = node("systemctl", "start", "kubelet")
    if code != 0:
        return {"error": "systemctl start kubelet: " + said}
    if state["switch"]:
        node("systemctl", "stop", state["switch"] + ".timer")
    state.update(stopped=False, switch=None)
    return {"kubelet": active()}
def stop(seconds):
    if state["stopped"]:
        return {"error": "the kubelet is stopped already"}
    if active() != "active":
        return {"error": "no active kubelet.service on this node: " + active()}
    unit = "podlife-kubelet-back-" + secrets.token_hex(4)
    code, said = node("systemd-run", "--unit", unit, "--on-active", str(seconds) + "s",
                      "--timer-property=AccuracySec=1s", "systemctl", "start", "kubelet")
    if code != 0:
        return {"error": "no dead-man's switch (systemd-run): " + said}
    state.update(stopped=True, switch=unit)
    code, said = node("systemctl", "stop", "kubelet")
    if code != 0:
        return {"error": "systemctl stop kubelet: " + said, **start()}
    return {"kubelet": active(), "switch": unit, "back_within_s": seconds}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "kubelet":
            out = {"kubelet": active(), **state}
        elif parts[0] == "stop" and len(parts) == 2 and parts[1].isdigit():
            out = stop(int(parts[1]))
        elif parts[0] == "start":
            out = start()
        elif parts[0] == "restore":
            out = start() if state["stopped"] else {"kubelet": active(), "restored": False}
        else:
            out = {"error": "unknown: " + self.path}
        body = json.dumps(out).encode()
        self.send_response(500 if "error" in out else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", PORT), Handler).serve_forever()
"""
