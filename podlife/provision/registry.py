"""Where a cluster's images come from, decided by what answers, and said first thing.

One ``docker pull`` of the upstream node image decides, by the daemon's own answer:

- it succeeds (or the image is here already): a registry answers, so upstream mode;
- the registry cannot be reached at all (no such host, connection refused, a timeout, no
  route): air-gapped mode, where everything is built here (see ``airgap/``);
- the registry answers but refuses (no such image or tag, the pull rate limit, a login it
  wants): podlife stops with one message naming the image, the registry's answer and the fix,
  never a silent 13-minute build;
- the Docker daemon refuses this user: the message names the ``docker`` group.
"""

from __future__ import annotations

from dataclasses import dataclass

from podlife.docker import attempt
from podlife.provision.steps import StepFailed, say

UNREACHABLE = (
    "no such host",
    "connection refused",
    "i/o timeout",
    "client.timeout",
    "network is unreachable",
    "no route to host",
    "tls handshake timeout",
    "temporary failure in name resolution",
    "connection reset by peer",
)
RATE_LIMITED = ("toomanyrequests", "429 too many requests", "pull rate limit")
UNKNOWN_IMAGE = ("manifest unknown", "not found", "pull access denied", "repository does not exist")
UNAUTHORIZED = ("unauthorized", "authentication required", "denied", "403 forbidden")
DAEMON_REFUSES = "permission denied while trying to connect to the docker daemon"
# a registry that answers but refuses: what it said, and the fix (in the order they are told apart)
REFUSALS = (
    (
        RATE_LIMITED,
        "the registry refused to serve {image}: {text}. That is Docker Hub's pull rate limit: "
        "`docker login` (a free account has a higher limit), or wait and run again",
    ),
    (
        UNKNOWN_IMAGE,
        "the registry has no {image} (or shows it only after a login): {text}. PODLIFE_NODE_IMAGE must "
        "name a node image that exists (podlife/provision/upstream.py lists its kind release's images)",
    ),
    (
        UNAUTHORIZED,
        "the registry refused {image}: {text}. Log in (`docker login`) with an account that may pull it",
    ),
)


@dataclass(frozen=True)
class Decision:
    airgapped: bool
    why: str


def classify(image: str, answer: str) -> Decision:
    """What a failed ``docker pull IMAGE`` means; raises StepFailed where podlife must stop."""
    text = " ".join(answer.split())
    low = text.lower()
    if DAEMON_REFUSES in low:
        raise StepFailed(
            "container engine",
            f"the Docker daemon refuses this user ({text}); add the user to the docker group "
            "(sudo usermod -aG docker $USER, then log in again) or run as root",
        )
    for signs, fix in REFUSALS:
        if any(s in low for s in signs):
            raise StepFailed("registry", fix.format(image=image, text=text))
    if any(s in low for s in UNREACHABLE):
        return Decision(True, f"no registry can be reached (docker pull {image}: {text})")
    raise StepFailed("registry", f"docker pull {image} failed and podlife cannot tell why: {text}")


def decide(image: str) -> Decision:
    """Upstream or air-gapped, by one pull of ``image`` (nothing is pulled if it is here)."""
    here = attempt("image", "inspect", image)
    if here.returncode == 0:
        return Decision(False, f"{image} is in this machine's Docker")
    classify_daemon(here.stderr)
    say(f"checking for a registry: docker pull {image}")
    pulled = attempt("pull", image, timeout=1800)
    if pulled.returncode == 0:
        return Decision(False, f"a registry answers: docker pull {image} succeeded")
    return classify(image, pulled.stderr or pulled.stdout)


def classify_daemon(answer: str) -> None:
    if DAEMON_REFUSES in answer.lower():
        classify("", answer)
