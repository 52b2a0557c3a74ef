"""The chapter's web app, spoken to as the chapter's curl commands do.

``curl URL -d '{"data":"..."}'`` sends a form Content-Type; so does :func:`write`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from podlife.kube.api.reach import PodEndpoint
from podlife.kube.api.wait import poll_until

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TRANSCRIPT = ("firstline", "secondline", "thirdline")


def write(ep: PodEndpoint, line: str, timeout: float = 60) -> dict[str, Any]:
    """POST /write, again while the app cannot take it yet: no connection, or a 5xx answer (as
    the chapter's app gives while its database is restarting).  A refused write was not written;
    a write whose answer timed out is not sent again (it may have been)."""

    def attempt() -> requests.Response | requests.ReadTimeout | None:
        try:
            resp = ep.request("POST", "/write", data=json.dumps({"data": line}), headers=FORM)
        except requests.ReadTimeout as exc:
            return exc  # ends the polling: raised below
        except requests.ConnectionError:
            return None
        return None if resp.status_code >= 500 else resp

    answer = poll_until(f"{ep.target} to accept POST /write", attempt, timeout=timeout, interval_max=0.5)
    if isinstance(answer, requests.ReadTimeout):
        raise answer
    answer.raise_for_status()  # a 4xx is the app's answer: not sent again
    return answer.json()


def read(ep: PodEndpoint) -> list[dict[str, Any]]:
    resp = ep.request("GET", "/read")
    resp.raise_for_status()
    return resp.json()["Lines"]


def quit_app(ep: PodEndpoint) -> str:
    """GET /quit; what came back (an app may exit before its answer is out: that is no error
    of the request, the claim is judged on what the pod does next)."""
    try:
        resp = ep.request("GET", "/quit")
    except requests.RequestException as exc:
        return f"no answer ({type(exc).__name__})"
    return f"{resp.status_code} {resp.text[:60]}"


def read_when_answering(ep: PodEndpoint, timeout: float = 60) -> tuple[list[dict[str, Any]], float]:
    """The lines, as soon as the app answers /read; and how long that took.

    A running container is not an answering app: the chapter's pod has no readiness
    probe, and the app opens its port only once PostgreSQL answered."""
    started = time.monotonic()

    def attempt() -> list[dict[str, Any]] | None:
        try:
            return read(ep)
        except requests.RequestException:
            return None

    lines = poll_until(f"{ep.target} to answer GET /read", attempt, timeout=timeout, interval_max=0.5)
    return lines, round(time.monotonic() - started, 3)


def write_transcript(ep: PodEndpoint) -> list[dict[str, Any]]:
    """The chapter's three writes, then its read (once the app answers)."""
    read_when_answering(ep)
    for line in TRANSCRIPT:
        write(ep, line)
    return read(ep)
