"""The upstream path, rehearsed for real on a machine no registry answers: ``tox -e rehearse-upstream``.

A laptop and GitHub Actions reach Docker Hub; this machine cannot.  So the rehearsal builds a
registry (the ``github.com/distribution/distribution/v3`` module), runs it on this machine, and
makes it Docker Hub's mirror: for the Docker daemon on loopback (``registry-mirrors``, reloaded
with SIGHUP, nothing restarts) and, through a second instance on the kind network's gateway
(a node's loopback is not the host's), for the nodes' containerd (kind's
``containerdConfigPatches``, set only here).  Into it go only names Docker Hub really has: the
air-gapped node image as kind v0.30.0's ``kindest/node:v1.34.0`` (a drop-in: same Kubernetes,
same component names, kind's default CNI and storage from ``/kind/manifests``), and the
air-gapped PostgreSQL and Python images under the official tags podlife pins.

Then, as a user would, in upstream mode on a cluster of its own (``podlife-upstream``): mode
detection, pulls by tag through the mirror, ``cluster up`` with kind's default CNI and storage,
and the chapter's four central claims with their counter-examples.  At the end the mirror
configuration, the registries, the rehearsal cluster and the tags it pulled are gone again; the
air-gapped cluster is left as it was.

What only a run on GitHub can show: the real upstream images (kindnetd, kind's own
local-path image, the official PostgreSQL and Python builds) and their digests (an image
pushed to a local registry gets new digests, so the rehearsal pulls by tag).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from podlife.kube.wait import poll_until
from podlife.paths import REPO, cache_dir
from podlife.provision import airgap, images, upstream
from podlife.provision.engine import DAEMON_JSON, ensure_docker
from podlife.provision.steps import StepFailed, log_path, output, run, say, step

REGISTRY = "github.com/distribution/distribution/v3"
REGISTRY_VERSION = "v3.0.0"
PORT = 5000
CLUSTER = "podlife-upstream"
CENTRAL = ("ready-2-of-2", "quit-restarts-web-only", "delete-loses-data", "startup-order")


def pushed() -> dict[str, str]:
    """Local image -> the Docker Hub name it is pushed under (one Docker Hub has)."""
    release = upstream.KIND_CGROUP_V1
    return {
        airgap.airgap_graph()["node"].image or "": upstream.tag_of(release.default_image),
        airgap.LOCAL_POSTGRES: "library/" + upstream.tag_of(upstream.POSTGRES),
        airgap.LOCAL_PYTHON: "library/" + upstream.tag_of(upstream.PYTHON),
    }


def build_registry() -> Path:
    binary = cache_dir() / "bin" / f"registry-{REGISTRY_VERSION}"
    if not binary.exists():
        gobin = cache_dir() / "bin" / "registry-work"
        env = {**os.environ, "GOBIN": str(gobin), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        run(
            f"go install {REGISTRY}/cmd/registry@{REGISTRY_VERSION}",
            ["go", "install", f"{REGISTRY}/cmd/registry@{REGISTRY_VERSION}"],
            log="rehearsal",
            env=env,
        )
        (gobin / "registry").rename(binary)
    return binary


def gateway() -> str:
    """The kind network's gateway: the host, as every kind node reaches it."""
    found = output(
        ["docker", "network", "inspect", "kind", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}"]
    )
    v4 = [a for a in found.split() if "." in a]
    if not v4:
        raise StepFailed(
            "rehearsal",
            "the docker network 'kind' has no IPv4 gateway; run `python -m podlife cluster up` first",
        )
    return v4[0]


@contextmanager
def registry(binary: Path, address: str, storage: Path) -> Iterator[str]:
    """A registry serving ``storage`` on ``address``:PORT while the block lasts."""
    config = storage.parent / f"registry-{address}.yml"
    settings = {"version": 0.1, "storage": {"filesystem": {"rootdirectory": str(storage)}}}
    config.write_text(json.dumps({**settings, "http": {"addr": f"{address}:{PORT}"}}))  # YAML reads JSON
    log = log_path("rehearsal-registry").open("ab")
    proc = subprocess.Popen(
        [binary, "serve", config],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
    )
    url = f"http://{address}:{PORT}"
    try:
        poll_until(f"the registry on {url}", lambda: answers(f"{url}/v2/"), timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def mirrors() -> list[str]:
    return (
        json.loads(output(["docker", "info", "--format", "{{json .RegistryConfig.Mirrors}}"]) or "[]") or []
    )


def reload_dockerd() -> None:
    output(["pkill", "-HUP", "-x", "dockerd"])


@contextmanager
def docker_hub_mirror(url: str) -> Iterator[None]:
    """This machine's dockerd takes Docker Hub's images from ``url`` while the block lasts."""
    before = DAEMON_JSON.read_text() if DAEMON_JSON.exists() else None
    config = json.loads(before or "{}")
    config["registry-mirrors"] = [url]
    DAEMON_JSON.write_text(json.dumps(config, indent=2) + "\n")
    reload_dockerd()
    try:
        poll_until(
            "dockerd to use the mirror",
            lambda: any(url in m for m in mirrors()),
            timeout=30,
        )
        yield
    finally:
        # A reload leaves mirrors alone unless the file names them: name none, reload, then put
        # the file back as it was.
        DAEMON_JSON.write_text(
            json.dumps({**json.loads(before or "{}"), "registry-mirrors": []}, indent=2) + "\n"
        )
        reload_dockerd()
        poll_until("dockerd to drop the mirror", lambda: mirrors() == [], timeout=30)
        if before is None:
            DAEMON_JSON.unlink()
        else:
            DAEMON_JSON.write_text(before)


def podlife(env: dict[str, str], *args: str) -> None:
    """A podlife command as a user runs it, in upstream mode on the rehearsal cluster."""
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True)


def push(names: dict[str, str]) -> None:
    """The images Docker Hub has, pushed into the loopback registry under their Docker Hub names."""
    with step("push the images Docker Hub has, under their Docker Hub names"):
        for local, hub in names.items():
            output(["docker", "tag", local, f"127.0.0.1:{PORT}/{hub}"])
            run(f"docker push {hub}", ["docker", "push", f"127.0.0.1:{PORT}/{hub}"], log="rehearsal")
            output(["docker", "rmi", f"127.0.0.1:{PORT}/{hub}"])
            output(["docker", "rmi", hub.removeprefix("library/")], check=False)  # pulled again, for real


def main() -> int:
    ensure_docker()
    say("rehearsal of the upstream path: the air-gapped images first (built where missing)")
    images.airgapped_toolset()
    names = pushed()
    binary = build_registry()
    storage = cache_dir() / "rehearsal" / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    gw = gateway()
    env = {
        **os.environ,
        "PODLIFE_CLUSTER": CLUSTER,
        "PODLIFE_NODE_IMAGE": names[airgap.airgap_graph()["node"].image or ""],
        "PODLIFE_UPSTREAM_BY_TAG": "1",
        "PODLIFE_REGISTRY_MIRROR": f"http://{gw}:{PORT}",
    }
    started = time.monotonic()
    with ExitStack() as stack:
        loopback = stack.enter_context(registry(binary, "127.0.0.1", storage))
        stack.enter_context(registry(binary, gw, storage))
        push(names)
        stack.enter_context(docker_hub_mirror(loopback))
        stack.callback(
            lambda: [
                output(["docker", "rmi", h.removeprefix("library/")], check=False) for h in names.values()
            ]
        )
        stack.callback(lambda: podlife(env, "-m", "podlife", "cluster", "down"))
        podlife(env, "-m", "podlife", "cluster", "up")
        claims = [arg for claim in CENTRAL for arg in ("--claim", claim)]
        reports = str(REPO / "reports" / "rehearsal")
        pytest = ["-m", "pytest", "scenarios", "-p", "no:cacheprovider", "-n", "4", "-rA"]
        podlife(env, *pytest, "--reports", reports, *claims, *sys.argv[1:])
    say(f"rehearsal of the upstream path: done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # let the clean-up run
    sys.exit(main())
