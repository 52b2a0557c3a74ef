"""One ``kind`` and one ``kubectl`` for everything podlife does, resolved once.

For each: the one on PATH when its version fits; otherwise pytest-kind's download of the
pinned version for this OS and architecture (into podlife's cache); otherwise the air-gapped
build's.  Every kind and kubectl call (cluster, port-forward, scenarios) uses the result.

"Fits": kind's version equals the pin (a kind release names the node images it supports);
kubectl's minor version is within one of the cluster's (Kubernetes' version skew policy).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from pytest_kind import KindCluster

from podlife.paths import cache_dir
from podlife.provision.steps import StepFailed, say

ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
KIND_URL = "https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-{os}-{arch}"
KUBECTL_URL = "https://dl.k8s.io/release/{version}/bin/{os}/{arch}/kubectl"
VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


def os_arch() -> tuple[str, str]:
    machine = platform.machine().lower()
    return platform.system().lower(), ARCH.get(machine, machine)


def version_of(binary: Path | str, args: list[str]) -> str | None:
    try:
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = VERSION.search(out.stdout + out.stderr)
    return match.group(0) if match else None


def same_minor_within(one: str, other: str, skew: int) -> bool:
    a, b = VERSION.match(one), VERSION.match(other)
    return bool(a and b and a.group(1) == b.group(1) and abs(int(a.group(2)) - int(b.group(2))) <= skew)


def download(kind: str, version: str) -> Path:
    """pytest-kind's download of ``kind`` or ``kubectl`` at ``version`` for this OS and arch."""
    system, arch = os_arch()
    target = cache_dir() / "bin" / "downloads" / f"{kind}-{version}-{system}-{arch}"
    target.parent.mkdir(parents=True, exist_ok=True)
    url = (KIND_URL if kind == "kind" else KUBECTL_URL).format(version=version, os=system, arch=arch)
    handle = KindCluster("podlife-tools", kind_path=target, kubectl_path=target)
    os.environ["KIND_DOWNLOAD_URL" if kind == "kind" else "KUBECTL_DOWNLOAD_URL"] = url
    try:
        (handle.ensure_kind if kind == "kind" else handle.ensure_kubectl)()
    finally:
        os.environ.pop("KIND_DOWNLOAD_URL" if kind == "kind" else "KUBECTL_DOWNLOAD_URL", None)
    return target


def resolve(
    name: str,
    fits: Callable[[str | None], bool],
    version: str,
    built: Path | None,
) -> Path:
    """PATH if it fits, else the download, else the air-gapped build's; say which and why."""
    tried = []
    found = shutil.which(name)
    if found:
        have = version_of(found, ["version"] if name == "kind" else ["version", "--client"])
        if fits(have):
            say(f"{name}: {found} ({have})")
            return Path(found)
        tried.append(f"{found} is {have}, not {version}")
    try:
        path = download(name, version)
        say(f"{name}: {path} (pytest-kind's download of {version})")
        return path
    except Exception as exc:  # no network, no such release: the next source
        tried.append(f"download of {version}: {type(exc).__name__}: {str(exc)[:160]}")
    if built and built.exists():
        have = version_of(built, ["version"] if name == "kind" else ["version", "--client"])
        say(f"{name}: {built} (the air-gapped build's, {have})")
        return built
    raise StepFailed(f"find {name}", "; ".join(tried) or f"no {name} on PATH, none downloadable or built")


def kind(version: str, built: Path | None = None) -> Path:
    return resolve("kind", lambda have: have == version, version, built)


def kubectl(server: str, built: Path | None = None) -> Path:
    """A kubectl for a cluster whose API server runs ``server`` (vX.Y.Z)."""
    return resolve(
        "kubectl", lambda have: bool(have) and same_minor_within(have or "", server, 1), server, built
    )


def resolve_any(name: str, built: Path) -> Path:
    """Any ``name`` at all (deleting a cluster needs no particular version): PATH, else the build's."""
    found = shutil.which(name)
    if found:
        return Path(found)
    if built.exists():
        return built
    raise StepFailed(f"find {name}", f"no {name} on PATH and none built at {built}")
