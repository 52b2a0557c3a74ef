"""Property-based tests generated from the service's OpenAPI description (schemathesis).

Every operation except /quit (it ends the process) is fuzzed against the real service and PostgreSQL,
with schemathesis's default checks: no 5xx (the database is up, so not even the documented 503), status
codes and bodies as documented, invalid input rejected. Bounded: at most 60 examples per operation.

The description is loaded from the package file (the one the service serves at /openapi.yaml, checked
byte for byte below): schemathesis's fixture-based loader relies on a pytest internal that pytest 9 removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

import service
from tests.pg import PostgresServer
from tests.service_proc import ServiceProcess


@pytest.fixture(scope="module")
def fuzzed_service(pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    log = tmp_path_factory.mktemp("fuzz") / "service.log"
    service = ServiceProcess(pg.service_env(), log).start()
    yield service
    service.stop()


OPENAPI_PATH = Path(service.__file__).parent / "openapi.yaml"
schema = schemathesis.openapi.from_path(OPENAPI_PATH).exclude(path="/quit")


def test_served_description_is_the_fuzzed_one(fuzzed_service: ServiceProcess) -> None:
    response = requests.get(f"{fuzzed_service.url}/openapi.yaml", timeout=5)
    assert response.content == OPENAPI_PATH.read_bytes()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_description(case, fuzzed_service: ServiceProcess) -> None:
    response = case.call_and_validate(base_url=fuzzed_service.url, timeout=10)
    assert response.status_code < 500, response.text


def test_fuzzing_left_the_service_running(fuzzed_service: ServiceProcess) -> None:
    assert fuzzed_service.proc.poll() is None
    assert "Traceback" not in fuzzed_service.output(), fuzzed_service.output()[-3000:]
