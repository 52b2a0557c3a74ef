"""Property-based tests generated from the service's OpenAPI description (schemathesis).

Every operation except /quit (it ends the process) is fuzzed against the real service and PostgreSQL
(``live``: this module's own), with schemathesis's default checks: no 5xx (the database is up, so not
even the documented 503), status codes and bodies as documented, invalid input rejected. Bounded: at most
60 examples per operation.

The description is loaded from the package file (the one the service serves at /openapi.yaml, checked
byte for byte below): schemathesis's fixture-based loader relies on a pytest internal that pytest 9 removed.
"""

from __future__ import annotations

from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, settings

import service
from service.localrun import ServiceProcess

OPENAPI_PATH = Path(service.__file__).parent / "openapi.yaml"
schema = schemathesis.openapi.from_path(OPENAPI_PATH).exclude(path="/quit")


def test_served_description_is_the_fuzzed_one(live: ServiceProcess) -> None:
    response = requests.get(f"{live.url}/openapi.yaml", timeout=5)
    assert response.content == OPENAPI_PATH.read_bytes()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_description(case, live: ServiceProcess) -> None:
    response = case.call_and_validate(base_url=live.url, timeout=10)
    assert response.status_code < 500, response.text


def test_fuzzing_left_the_service_running(live: ServiceProcess) -> None:
    assert live.proc.poll() is None
    assert "Traceback" not in live.output(), live.output()[-3000:]
