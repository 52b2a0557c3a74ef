"""The web image: service/Dockerfile on a Python base image, its wheels fetched on this machine for
the base image's own Python and platform (pip in a container cannot verify TLS here), so the
Python podlife runs on does not matter."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from podlife.docker import docker
from podlife.paths import REPO
from podlife.provision.artefacts import Artefact, docker_build
from podlife.provision.steps import run, say

WEB_IMAGE = "podlife/web:0.1.0"


LEFT_OUT = ("__pycache__", "*.pyc", "localrun.py")  # localrun: the tests' and benchmark's harness


def web_recipe() -> list[Path]:
    return sorted(
        p
        for p in (REPO / "service").rglob("*")
        if p.is_file() and not any(p.match(pattern) or pattern in p.parts for pattern in LEFT_OUT)
    )


PROFILE = (
    "import json, platform, sys; "
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'machine': platform.machine(), "
    "'glibc': platform.libc_ver()[1]}))"
)


def image_python(base: str) -> dict[str, str]:
    """The base image's own Python version, machine and glibc (asked of the image itself)."""
    out = docker("run", "--rm", "--entrypoint", "python3", base, "-c", PROFILE, timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def wheel_args(profile: dict[str, str]) -> list[str]:
    """``pip download`` arguments for wheels that fit a Python and platform other than podlife's
    own: CPython ``profile['python']`` on glibc ``profile['glibc']`` and ``profile['machine']``."""
    version = profile["python"].replace(".", "")
    major, minor = (int(x) for x in profile["glibc"].split(".")[:2])
    platforms = [f"manylinux_{major}_{m}_{profile['machine']}" for m in range(17, minor + 1)]
    platforms.append(f"manylinux2014_{profile['machine']}")
    return [
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        profile["python"],
        "--abi",
        f"cp{version}",
        *(arg for p in platforms for arg in ("--platform", p)),
    ]


def pip_download(dest: Path, profile: dict[str, str], *requirements: str | Path) -> list[str | Path]:
    """``pip download`` (this Python's pip) of wheels for the image's Python ``profile``."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--dest",
        dest,
        *wheel_args(profile),
        *requirements,
    ]


def download_wheels(base: str, dest: Path, log: str) -> None:
    profile = image_python(base)
    say(
        f"the web image's wheels: CPython {profile['python']}, {profile['machine']}, glibc {profile['glibc']}"
    )
    requirements = REPO / "service" / "requirements.txt"
    run(
        "pip download (service dependencies, for the image's Python)",
        pip_download(dest, profile, "-r", requirements),
        log=log,
    )


def build_web_image(base: str, after: list[Artefact] | None = None) -> Artefact:
    """The web image from service/Dockerfile on ``base``; its wheels fetched on this machine (pip
    in a container cannot verify TLS here) for the base image's own Python."""

    def builder(art: Artefact) -> None:
        with tempfile.TemporaryDirectory(prefix="podlife-web-") as ctx:
            context = Path(ctx)
            shutil.copytree(REPO / "service", context / "service", ignore=shutil.ignore_patterns(*LEFT_OUT))
            download_wheels(base, context / "wheels", f"build-{art.name}")
            docker_build(art, context, context / "service" / "Dockerfile", BASE_IMAGE=base)

    base_id = docker("image", "inspect", "-f", "{{.Id}}", base).strip()
    return Artefact(
        "web", [*web_recipe(), Path(__file__)], builder, after=after or [], image=WEB_IMAGE, salt=base_id
    )
