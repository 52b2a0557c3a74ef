"""Air-gapped artefacts: what to build, from which inputs, and whether it is up to date.

Each artefact is rebuilt only when its inputs change.  Its input hash covers the recipe
files under ``airgap/`` (or ``service/``), ``airgap/versions.env`` and the hashes of the
artefacts it is built from.  A binary directory records its hash in a stamp file; an image
carries it as the label ``podlife.inputs``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from podlife.docker import argv, attempt
from podlife.paths import AIRGAP, REPO, cache_dir
from podlife.provision.steps import StepFailed, log_path, run, step

LABEL = "podlife.inputs"


def versions() -> dict[str, str]:
    """airgap/versions.env as a dict (the single source of pinned versions)."""
    pinned = {}
    for line in (AIRGAP / "versions.env").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            pinned[key.strip()] = value.strip()
    return pinned


def debian_mirror() -> str:
    """The Debian mirror apt already uses on this host (deb822 or one-line sources)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and "security" not in line:
                return next(w for w in words[1:] if "://" in w)
    return "http://deb.debian.org/debian"


def hash_files(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO) if path.is_relative_to(REPO) else path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def image_label(tag: str) -> str | None:
    proc = attempt("image", "inspect", "-f", f'{{{{ index .Config.Labels "{LABEL}" }}}}', tag)
    return proc.stdout.strip() if proc.returncode == 0 else None


@dataclass
class Artefact:
    """One buildable thing: a directory of binaries or a docker image."""

    name: str
    recipe: list[Path]
    builder: Callable[[Artefact], None]
    after: list[Artefact] = field(default_factory=list)
    image: str | None = None  # set for image artefacts
    salt: str = ""  # another input that is no file (the id of a base image, say)

    @cached_property
    def inputs(self) -> str:
        digest = hashlib.sha256(hash_files([*self.recipe, AIRGAP / "versions.env"]).encode())
        digest.update(self.salt.encode())
        for dep in self.after:
            digest.update(dep.inputs.encode())
        return digest.hexdigest()[:16]

    @property
    def out(self) -> Path:
        return cache_dir() / "bin" / self.name

    def up_to_date(self) -> bool:
        if self.image:
            return image_label(self.image) == self.inputs
        stamp = self.out / ".inputs"
        return stamp.exists() and stamp.read_text() == self.inputs

    def ensure(self) -> None:
        for dep in self.after:
            dep.ensure()
        if self.up_to_date():
            return
        # the commands inside print their own heartbeat
        with step(
            f"build {self.name} (inputs {self.inputs})", log_path(f"build-{self.name}"), heartbeat=False
        ):
            if not self.image:
                shutil.rmtree(self.out, ignore_errors=True)
                self.out.mkdir(parents=True)
            self.builder(self)
            if not self.image:
                (self.out / ".inputs").write_text(self.inputs)
        if not self.up_to_date():
            raise StepFailed(
                f"build {self.name}",
                "the build finished but its result is missing",
                log_path(f"build-{self.name}"),
            )


def script(art: Artefact, name: str, *args: str | Path, recipes: Path = AIRGAP) -> None:
    """Run the recipe ``name`` (under ``recipes``: ``airgap/``, or another Kubernetes version's copy)."""
    env = {**os.environ, "PODLIFE_LABEL": f"{LABEL}={art.inputs}", "GOFLAGS": "-mod=mod"}
    run(f"{name} for {art.name}", ["bash", recipes / name, *map(str, args)], log=f"build-{art.name}", env=env)


def docker_build(art: Artefact, context: Path, dockerfile: Path | None = None, **build_args: str) -> None:
    command: list[str | Path] = [*argv("build", "-t", art.image or "", "--label", f"{LABEL}={art.inputs}")]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    if dockerfile:
        command += ["-f", dockerfile]
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    run(f"docker build {art.image}", [*command, context], log=f"build-{art.name}", env=env)
