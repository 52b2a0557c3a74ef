"""Upstream pins: what podlife runs where a registry answers (a laptop, GitHub Actions).

kind's release notes say to use its node images by digest: only the digest guarantees an
image built for that release.  So the node images of the kind release podlife uses are
listed here by tag *and* digest, with their source; the default is the release's own
default, and the GitHub workflow's matrix covers every image of the list.

Two kind releases are pinned, because the host decides which can run:

- ``KIND``: the current release, for hosts with cgroup v2 (every current laptop and GitHub
  runner).  Its Kubernetes (1.35 and later) refuses to run on a cgroup v1 host.
- ``KIND_CGROUP_V1``: kind v0.30.0, the newest release whose node images run on a cgroup v1
  host as they are (Kubernetes 1.34).  It is also the release the air-gapped build follows
  (``airgap/versions.env``), so an air-gapped node image is a drop-in for its default image.

The official ``postgres`` and ``python`` images are pinned the same way (tag and digest).
"""

from __future__ import annotations

from dataclasses import dataclass

from podlife.docker import attempt


@dataclass(frozen=True)
class KindRelease:
    version: str
    default: str  # the Kubernetes version of the release's default node image
    images: dict[str, str]  # Kubernetes version -> kindest/node:<tag>@sha256:<digest>
    source: str

    @property
    def default_image(self) -> str:
        return self.images[self.default]


KIND = KindRelease(
    "v0.33.0",
    "v1.37.0",
    {
        "v1.37.0": "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
        "v1.36.4": "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
        "v1.35.8": "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
        "v1.34.11": "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
    },
    "https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0 (and pkg/apis/config/defaults/image.go)",
)

KIND_CGROUP_V1 = KindRelease(
    "v0.30.0",
    "v1.34.0",
    {
        "v1.34.0": "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a",
        "v1.33.4": "kindest/node:v1.33.4@sha256:25a6018e48dfcaee478f4a59af81157a437f15e6e140bf103f85a2e7cd0cbbf2",
        "v1.32.8": "kindest/node:v1.32.8@sha256:abd489f042d2b644e2d033f5c2d900bc707798d075e8186cb65e3f1367a9d5a1",
        "v1.31.12": "kindest/node:v1.31.12@sha256:0f5cc49c5e73c0c2bb6e2df56e7df189240d83cf94edfa30946482eb08ec57d2",
    },
    "https://github.com/kubernetes-sigs/kind/releases/tag/v0.30.0 (and pkg/apis/config/defaults/image.go)",
)

# The official images, multi-arch index digests (the platform's image is picked by the daemon).
POSTGRES = "postgres:15.19-bookworm@sha256:539ceaaae49b3a7c8a04467cf00cc6788d8e3f1675df41860d86eebc4c40524f"
PYTHON = (
    "python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d"
)


def tag_of(pinned: str) -> str:
    """``name:tag`` of a ``name:tag@sha256:...`` reference (what a pulled image is tagged as)."""
    return pinned.split("@", 1)[0]


def cgroup_version() -> str:
    """The cgroup version of the host the Docker daemon runs on ("1" or "2")."""
    proc = attempt("info", "--format", "{{.CgroupVersion}}")
    return proc.stdout.strip() or "2"


def release(cgroup: str) -> KindRelease:
    """The kind release whose node images run on this host."""
    return KIND_CGROUP_V1 if cgroup == "1" else KIND
