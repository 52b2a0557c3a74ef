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
configuration, the registries, the rehearsal cluster and the tags it pulled are gone again, and
the user's own tags of those names are back (set aside while it runs); ``daemon.json`` is put back
byte for byte on every way out, SIGINT and SIGTERM included; the registries listen on the first port
free from 5000, never on one something else answers; the air-gapped cluster is left as it was.

What only a run on GitHub can show: the real upstream images (kindnetd, kind's own
local-path image, the official PostgreSQL and Python builds) and their digests (an image
pushed to a local registry gets new digests, so the rehearsal pulls by tag).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from podlife.docker import argv, attempt, docker
from podlife.kube import poll_until
from podlife.paths import REPO, cache_dir
from podlife.provision import airgap, images, journal, upstream
from podlife.provision.engine import DAEMON_JSON, ensure_docker
from podlife.provision.journal import reload_dockerd
from podlife.provision.loading import local_image
from podlife.provision.steps import StepFailed, log_path, run, say, step

REGISTRY = "github.com/distribution/distribution/v3"
REGISTRY_VERSION = "v3.0.0"
PORT = 5000  # the first port tried; the rehearsal takes the first one free on both its addresses
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
    found = docker("network", "inspect", "kind", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
    v4 = [a for a in found.split() if "." in a]
    if not v4:
        raise StepFailed(
            "rehearsal",
            "the docker network 'kind' has no IPv4 gateway; run `python -m podlife cluster up` first",
        )
    return v4[0]


def free_port(addresses: list[str], first: int = PORT, tries: int = 200) -> int:
    """The first port from ``first`` on that nothing listens on at any of ``addresses``: the
    rehearsal never pushes into a registry that was already there."""
    for port in range(first, first + tries):
        try:
            with contextlib.ExitStack() as held:
                for address in addresses:
                    sock = held.enter_context(socket.socket())
                    sock.bind((address, port))
            return port
        except OSError:
            continue
    raise StepFailed("rehearsal", f"no free port in {first}..{first + tries - 1} on {', '.join(addresses)}")


@contextmanager
def registry(binary: Path, address: str, port: int, storage: Path) -> Iterator[str]:
    """A registry of the rehearsal's own serving ``storage`` on ``address``:``port`` while the
    block lasts; checked to be the process it started that answers there."""
    config = storage.parent / f"registry-{address}.yml"
    settings = {"version": 0.1, "storage": {"filesystem": {"rootdirectory": str(storage)}}}
    config.write_text(json.dumps({**settings, "http": {"addr": f"{address}:{port}"}}))  # YAML reads JSON
    log = log_path("rehearsal-registry").open("ab")
    proc = subprocess.Popen(
        [binary, "serve", config],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
    )
    url = f"http://{address}:{port}"
    try:
        poll_until(f"the registry on {url}", lambda: answers(f"{url}/v2/"), timeout=30)
        if proc.poll() is not None:
            raise StepFailed("rehearsal", f"{url} answers, but not the registry the rehearsal started")
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
    return json.loads(docker("info", "--format", "{{json .RegistryConfig.Mirrors}}") or "[]") or []


@contextmanager
def docker_hub_mirror(url: str) -> Iterator[None]:
    """This machine's dockerd takes Docker Hub's images from ``url`` while the block lasts; on
    every way out (an error, SIGINT, SIGTERM) ``daemon.json`` is put back byte for byte and the
    daemon reloaded."""
    before = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
    journal.daemon_json_saved(DAEMON_JSON)  # on disk first: a kill -9 from here on is undone by the next run
    try:
        config = json.loads(before or b"{}")
        DAEMON_JSON.write_text(json.dumps({**config, "registry-mirrors": [url]}, indent=2) + "\n")
        reload_dockerd()
        poll_until("dockerd to use the mirror", lambda: any(url in m for m in mirrors()), timeout=30)
        yield
    finally:
        with uninterrupted():
            try:
                # A reload leaves mirrors alone unless the file names them: name none, reload, ...
                config = json.loads(before or b"{}")
                DAEMON_JSON.write_text(json.dumps({**config, "registry-mirrors": []}, indent=2) + "\n")
                reload_dockerd()
                poll_until("dockerd to drop the mirror", lambda: mirrors() == [], timeout=30)
            finally:  # ... then the file as it was, whatever happened, and the daemon reloaded
                if before is None:
                    DAEMON_JSON.unlink(missing_ok=True)
                else:
                    DAEMON_JSON.write_bytes(before)
                reload_dockerd()
                journal.forget("daemon.json.before")


@contextmanager
def uninterrupted() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM waits until the restore is done."""
    held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)


@contextmanager
def set_aside(tags: list[str]) -> Iterator[None]:
    """The user's own tags of the names the rehearsal pulls (``postgres:…``, ``kindest/node:…``)
    moved aside while it runs (the rehearsal must pull them for real) and put back afterwards."""
    kept = {t: f"podlife-rehearsal-kept/{t.replace('/', '_')}" for t in tags if local_image(t)}
    journal.tags_saved(kept)  # on disk first: a kill -9 from here on is undone by the next run
    for tag, aside in kept.items():
        docker("tag", tag, aside)
        docker("rmi", tag)
    try:
        yield
    finally:
        with uninterrupted():
            for tag, aside in kept.items():
                docker("tag", aside, tag)
                docker("rmi", aside)
            journal.forget("moved-tags.json")


def podlife(env: dict[str, str], *args: str) -> None:
    """A podlife command as a user runs it, in upstream mode on the rehearsal cluster."""
    subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True)


def push(names: dict[str, str], port: int) -> None:
    """The images Docker Hub has, pushed into the rehearsal's loopback registry under their Docker
    Hub names (its own: the port was free, and the process it started is the one answering)."""
    with step("push the images Docker Hub has, under their Docker Hub names"):
        for local, hub in names.items():
            docker("tag", local, f"127.0.0.1:{port}/{hub}")
            run(f"docker push {hub}", argv("push", f"127.0.0.1:{port}/{hub}"), log="rehearsal")
            docker("rmi", f"127.0.0.1:{port}/{hub}")


def main() -> int:
    ensure_docker()
    journal.restore_left(say)  # what a rehearsal killed with kill -9 left
    say("rehearsal of the upstream path: the air-gapped images first (built where missing)")
    images.airgapped_toolset()
    names = pushed()
    binary = build_registry()
    storage = cache_dir() / "rehearsal" / "registry"
    shutil.rmtree(storage, ignore_errors=True)  # nothing kept from an earlier rehearsal's pushes
    storage.mkdir(parents=True)
    gw = gateway()
    port = free_port(["127.0.0.1", gw])
    env = {
        **os.environ,
        "PODLIFE_CLUSTER": CLUSTER,
        "PODLIFE_NODE_IMAGE": names[airgap.airgap_graph()["node"].image or ""],
        "PODLIFE_UPSTREAM_BY_TAG": "1",
        "PODLIFE_REGISTRY_MIRROR": f"http://{gw}:{port}",
    }
    started = time.monotonic()
    with ExitStack() as stack:
        loopback = stack.enter_context(registry(binary, "127.0.0.1", port, storage))
        stack.enter_context(registry(binary, gw, port, storage))
        stack.enter_context(set_aside([h.removeprefix("library/") for h in names.values()]))
        push(names, port)
        stack.enter_context(docker_hub_mirror(loopback))
        stack.callback(lambda: [attempt("rmi", h.removeprefix("library/")) for h in names.values()])
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
