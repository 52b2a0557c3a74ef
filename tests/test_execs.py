"""podlife.kube.api.execs: an exec in flight must not change the ApiClient other threads share.

CI once failed a scenario's teardown with "Handshake status 400": the Watcher's list call
went out as a websocket upgrade because ``kubernetes.stream.stream`` had swapped
``call_api`` on the shared client during an exec's handshake.  Here a loopback server
accepts the exec's websocket request and holds it unanswered; while it is held, the shared
client must still have its own ``call_api``.
"""

from __future__ import annotations

import socket
import threading

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podlife.kube.api.execs import run_in


def test_exec_in_flight_leaves_the_shared_client_alone() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held, checked = threading.Event(), threading.Event()

    def hold_one_handshake() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)  # the upgrade request
            held.set()
            checked.wait(10)  # then close without answering: the exec fails

    threading.Thread(target=hold_one_handshake, daemon=True).start()
    config = client.Configuration()
    config.host = f"http://127.0.0.1:{port}"
    shared = client.ApiClient(config)
    own_call_api = shared.call_api
    failure: list[BaseException] = []

    def exec_once() -> None:
        try:
            run_in(shared, "ns", "pod", "c", ["true"], timeout=5)
        except BaseException as err:  # the failure is expected and inspected below
            failure.append(err)

    runner = threading.Thread(target=exec_once)
    runner.start()
    try:
        assert held.wait(10), "the exec never reached the loopback server"
        during = shared.call_api
    finally:
        checked.set()
        runner.join(15)
        server.close()
    assert during == own_call_api, "the exec swapped call_api on the shared client"
    assert failure and isinstance(failure[0], ApiException)


def test_exec_against_nothing_fails_clearly() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    config = client.Configuration()
    config.host = f"http://127.0.0.1:{port}"
    with pytest.raises(ApiException) as err:
        run_in(client.ApiClient(config), "ns", "pod", "c", ["true"], timeout=5)
    assert "Connection refused" in str(err.value)
