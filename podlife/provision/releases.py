"""Which Kubernetes podlife's own cluster runs: the default, or another minor version.

``python -m podlife cluster up --kubernetes 1.35`` (and ``--kubernetes`` of a run) selects it; the
choice travels in the environment (:data:`ENV`) so the run's processes and the build agree.  A minor
means the patch release podlife pins for it: ``airgap/versions.env`` for the default, and for each
other one ``airgap/kubernetes/<minor>.env``, the values that differ (what that kubeadm asks for).
Another minor gets a cluster of its own (``podlife-1-35``: its own kubeconfig, lock and ownership
mark), so several can exist at once, and its own build artefacts beside the default's (the recipes
run from a copy of ``airgap/`` whose ``versions.env`` carries that version's pins, so the default's
artefacts keep their inputs).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from podlife.paths import AIRGAP, cache_dir

ENV = "PODLIFE_KUBERNETES"
GATES_ENV = "PODLIFE_FEATURE_GATES"  # feature gates turned on (or off) beyond the version's defaults
RUNTIME_ENV = "PODLIFE_RUNTIME"  # the container runtime in the node image (:data:`RUNTIMES`)
PINS = AIRGAP / "kubernetes"


class UnknownVersion(ValueError):
    """A Kubernetes version podlife pins nothing for; the message names those it knows."""


def read_env(path: Path) -> dict[str, str]:
    """A ``KEY=value`` file (``#`` comments) as a dict."""
    pinned = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            pinned[key.strip()] = value.strip()
    return pinned


def minor_of(version: str) -> str:
    found = re.match(r"v?(\d+)\.(\d+)", version)
    return f"{found.group(1)}.{found.group(2)}" if found else version


DEFAULT = minor_of(read_env(AIRGAP / "versions.env")["K8S_VERSION"])


def known() -> dict[str, str]:
    """minor -> the Kubernetes release podlife pins for it."""
    out = {DEFAULT: read_env(AIRGAP / "versions.env")["K8S_VERSION"]}
    for path in sorted(PINS.glob("*.env")):
        out[path.stem] = read_env(path)["K8S_VERSION"]
    return out


def check(asked: str) -> str:
    """``asked`` (``1.35``, ``v1.35``, ``1.35.4``) as a known minor, or one line naming those known."""
    minor, pinned = minor_of(asked), known()
    if minor not in pinned or (asked.count(".") == 2 and asked.lstrip("v") != pinned[minor].lstrip("v")):
        listed = ", ".join(f"{m} ({v})" for m, v in pinned.items())
        raise UnknownVersion(f"--kubernetes {asked}: podlife knows {listed}")
    return minor


def selected() -> str:
    """The minor this process works with: :data:`ENV`, else the default."""
    return check(os.environ.get(ENV) or DEFAULT)


def select(asked: str | None) -> str:
    """Select ``asked`` for this process and the ones it starts (None: leave the selection as it is)."""
    if asked:
        os.environ[ENV] = check(asked)
    return selected()


def pins(minor: str) -> dict[str, str]:
    """Every pinned version for ``minor``: ``versions.env`` with that minor's own values over it."""
    base = read_env(AIRGAP / "versions.env")
    return base if minor == DEFAULT else {**base, **read_env(PINS / f"{minor}.env")}


def suffix(minor: str) -> str:
    """What tells another minor's cluster, artefacts and images from the default's ("" for it)."""
    return "" if minor == DEFAULT else "-" + minor.replace(".", "-")


def recipes(minor: str) -> Path:
    """The directory the build's recipes run from: ``airgap/`` for the default; for another minor a
    copy of it whose ``versions.env`` carries that minor's pins (refreshed each time)."""
    if minor == DEFAULT:
        return AIRGAP
    copy = cache_dir() / f"airgap{suffix(minor)}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(AIRGAP, copy, symlinks=True)
    (copy / "versions.env").write_text("".join(f"{k}={v}\n" for k, v in pins(minor).items()))
    return copy


def select_for(asked: str | None, kubeconfig: str | None) -> str:
    """:func:`select` for a run: ``--kubernetes`` names podlife's own cluster, so not with
    ``--kubeconfig`` (that cluster runs its own Kubernetes, reported as measured)."""
    if asked and kubeconfig:
        raise UnknownVersion(
            f"--kubernetes {asked} names podlife's own cluster; the cluster of --kubeconfig runs its own"
        )
    return select(asked)


def asked_in(run_args: list[str], flag: str = "--kubernetes") -> str | None:
    """The value a run's arguments give ``flag`` (``--kubernetes X.Y`` or ``--kubernetes=X.Y``)."""
    for i, arg in enumerate(run_args):
        if arg == flag and i + 1 < len(run_args):
            return run_args[i + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


GATE = re.compile(r"^([A-Z][A-Za-z0-9]+)=(true|false)$")


def parse_gates(text: str) -> dict[str, bool]:
    """``A=true,B=false`` as a dict, or one line saying what is wrong with it."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        found = GATE.match(item)
        if not found:
            raise UnknownVersion(f"--feature-gates {text}: {item!r} is not Name=true or Name=false")
        out[found.group(1)] = found.group(2) == "true"
    return dict(sorted(out.items()))


def select_gates(asked: str | None, kubeconfig: str | None = None) -> dict[str, bool]:
    """Select the feature gates ``asked`` for this process and those it starts (None: leave them);
    not with ``kubeconfig`` (that cluster runs the gates it was made with, reported as measured)."""
    if asked and kubeconfig:
        raise UnknownVersion(f"--feature-gates {asked} makes podlife's own cluster; --kubeconfig is another")
    if asked is not None:
        os.environ[GATES_ENV] = ",".join(f"{k}={str(v).lower()}" for k, v in parse_gates(asked).items())
    return gates()


def gates() -> dict[str, bool]:
    """The feature gates selected beyond the version's defaults ({}: the defaults, what users get)."""
    return parse_gates(os.environ.get(GATES_ENV, ""))


def gates_suffix() -> str:
    """What tells a cluster with other gates from the version's own ("" for the defaults)."""
    chosen = gates()
    if not chosen:
        return ""
    return "-g" + hashlib.sha256(repr(sorted(chosen.items())).encode()).hexdigest()[:6]


# --runtime: the container runtime of the air-gapped node image, the default first.  containerd2's
# pins are in airgap/runtime/containerd2.env; its suffix tells its cluster, artefacts and images apart.
RUNTIMES = {
    "containerd1.6": "Debian bookworm's containerd 1.6.20 and runc 1.1.5 (the default)",
    "containerd2": "containerd 2.3 and runc 1.3, built here from their Go modules",
}
DEFAULT_RUNTIME = next(iter(RUNTIMES))


def check_runtime(asked: str) -> str:
    if asked not in RUNTIMES:
        listed = "; ".join(f"{name}: {what}" for name, what in RUNTIMES.items())
        raise UnknownVersion(f"--runtime {asked}: podlife knows {listed}")
    return asked


def select_runtime(asked: str | None, kubeconfig: str | None = None) -> str:
    """Select the runtime ``asked`` for this process and those it starts (None: leave it as it is);
    not with ``kubeconfig`` (that cluster runs its own runtime, reported as measured)."""
    if asked and kubeconfig:
        raise UnknownVersion(f"--runtime {asked} makes podlife's own cluster; --kubeconfig is another")
    if asked:
        os.environ[RUNTIME_ENV] = check_runtime(asked)
    return runtime()


def runtime() -> str:
    """The runtime this process works with: :data:`RUNTIME_ENV`, else the default."""
    return check_runtime(os.environ.get(RUNTIME_ENV) or DEFAULT_RUNTIME)


def runtime_suffix(name: str | None = None) -> str:
    """What tells a cluster, artefact or image of runtime ``name`` (None: the selected one) from the
    default's ("" for it)."""
    return "" if (name or runtime()) == DEFAULT_RUNTIME else "-c2"
