"""podlife.kube.chapter.webapp.write: sent again only when the app did not take the write."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from podlife.kube import webapp


class Answer:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code, self.body = status, body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}")

    def json(self) -> Any:
        return self.body


class FakeEndpoint:
    target = "pod/web"

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes, self.sent = list(outcomes), 0

    def request(self, method: str, path: str, **_: Any) -> Answer:
        assert (method, path) == ("POST", "/write")
        self.sent += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_refused_write_is_sent_again_until_taken() -> None:
    ep = FakeEndpoint(requests.ConnectionError("refused"), Answer(503), Answer(200, {"id": 1}))
    assert webapp.write(ep, "firstline", timeout=10) == {"id": 1}  # type: ignore[arg-type]
    assert ep.sent == 3


def test_a_write_whose_answer_timed_out_is_not_sent_again() -> None:
    ep = FakeEndpoint(requests.ReadTimeout("no answer"), Answer(200, {"id": 1}))
    with pytest.raises(requests.ReadTimeout):
        webapp.write(ep, "firstline", timeout=10)  # type: ignore[arg-type]
    assert ep.sent == 1


def test_a_write_the_app_answers_with_4xx_is_not_sent_again() -> None:
    ep = FakeEndpoint(Answer(400), Answer(200, {"id": 1}))
    with pytest.raises(requests.HTTPError, match="400"):
        webapp.write(ep, "firstline", timeout=10)  # type: ignore[arg-type]
    assert ep.sent == 1
