"""The upstream path's rehearsal leaves the host's Docker as found: daemon.json byte for byte on
every way out, the user's own tags kept, and never a registry that was already there."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import types
from pathlib import Path

import pytest

from podlife.kube.api.wait import WaitTimeout
from podlife.provision import journal, rehearsal
from podlife.provision.steps import StepFailed


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's journal in a cache of its own: never a record the next real run would act on."""
    monkeypatch.setenv("PODLIFE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_registry_port_is_one_nothing_listens_on() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert rehearsal.free_port(["127.0.0.1"], first=port) > port


@pytest.mark.parametrize("fails", ["inside", "dropping the mirror"])
def test_daemon_json_is_put_back_byte_for_byte_whatever_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    daemon_json = tmp_path / "daemon.json"
    before = b'{\n  "default-runtime": "podlife-runc",\n  "log-level":   "warn"\n}\n'  # odd spacing kept
    daemon_json.write_bytes(before)
    reloads: list[str] = []
    live: list[str] = []
    monkeypatch.setattr(rehearsal, "DAEMON_JSON", daemon_json)
    monkeypatch.setattr(rehearsal, "reload_dockerd", lambda: reloads.append(daemon_json.read_text()))

    def mirrors() -> list[str]:
        if fails == "dropping the mirror" and '"registry-mirrors": []' in daemon_json.read_text():
            return live  # the daemon never drops it: the poll times out
        return ["http://127.0.0.1:5000"] if "127.0.0.1:5000" in daemon_json.read_text() else []

    monkeypatch.setattr(rehearsal, "mirrors", mirrors)
    live.append("http://127.0.0.1:5000")

    def poll_until(what: str, check: object, timeout: float) -> None:
        if not check():  # type: ignore[operator]
            raise WaitTimeout(what, timeout, "the mirror still configured")

    monkeypatch.setattr(rehearsal, "poll_until", poll_until)
    with (
        pytest.raises((KeyboardInterrupt, WaitTimeout)),
        rehearsal.docker_hub_mirror("http://127.0.0.1:5000"),
    ):
        raise KeyboardInterrupt  # Ctrl-C mid-way
    assert daemon_json.read_bytes() == before
    assert reloads[-1] == before.decode()  # the daemon reloaded with the file as it was


def test_a_restore_is_not_cut_short_by_a_second_ctrl_c() -> None:
    before = signal.getsignal(signal.SIGINT)
    with rehearsal.uninterrupted():
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) == before


def test_the_users_own_tags_are_set_aside_and_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(rehearsal, "local_image", lambda tag: tag == "postgres:15.19-bookworm")
    monkeypatch.setattr(rehearsal, "docker", lambda *args, **_: calls.append(["docker", *args]) or "")
    with rehearsal.set_aside(["postgres:15.19-bookworm", "kindest/node:v1.34.0"]):
        assert calls == [
            ["docker", "tag", "postgres:15.19-bookworm", "podlife-rehearsal-kept/postgres:15.19-bookworm"],
            ["docker", "rmi", "postgres:15.19-bookworm"],
        ]
    assert calls[2:] == [
        ["docker", "tag", "podlife-rehearsal-kept/postgres:15.19-bookworm", "postgres:15.19-bookworm"],
        ["docker", "rmi", "podlife-rehearsal-kept/postgres:15.19-bookworm"],
    ]


# ---------------------------------------------------------------- after a kill -9: the next run


def test_a_rehearsal_killed_mid_way_leaves_daemon_json_recoverable_byte_for_byte(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon_json = tmp_path / "daemon.json"
    before = b'{\n  "log-level":   "warn"\n}\n'
    daemon_json.write_bytes(before)
    journal.daemon_json_saved(daemon_json)  # what the rehearsal does before its first edit
    daemon_json.write_text('{"registry-mirrors": ["http://127.0.0.1:5000"]}')  # then kill -9: no finally
    journal.daemon_json_saved(daemon_json)  # a second rehearsal keeps the first record, the user's file
    reloads: list[bytes] = []
    monkeypatch.setattr(journal, "reload_dockerd", lambda: reloads.append(daemon_json.read_bytes()))
    monkeypatch.setattr(journal, "dropped", lambda path: None)
    said: list[str] = []
    assert journal.restore_left(said.append, daemon_json) and said
    # a reload keeps the live mirrors unless the file names them: first none named, then the file as it was
    assert json.loads(reloads[0]) == {"log-level": "warn", "registry-mirrors": []}
    assert daemon_json.read_bytes() == before and reloads[1:] == [before]
    assert journal.restore_left(said.append, daemon_json) == []  # once


def test_a_daemon_json_that_was_not_there_is_not_there_afterwards(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon_json = tmp_path / "daemon.json"
    journal.daemon_json_saved(daemon_json)
    daemon_json.write_text("{}")
    monkeypatch.setattr(journal, "reload_dockerd", lambda: None)
    journal.restore_left(lambda _: None, daemon_json)
    assert not daemon_json.exists()


def test_the_users_tags_moved_aside_are_put_back_by_the_next_run(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(journal, "attempt", lambda *a, **kw: types.SimpleNamespace(returncode=0))
    monkeypatch.setattr(journal, "docker", lambda *a, **kw: calls.append(a) or "")
    journal.tags_saved({"postgres:15.19-bookworm": "podlife-rehearsal-kept/postgres:15.19-bookworm"})
    journal.restore_left(lambda _: None, cache / "no-daemon.json")
    assert calls == [
        ("tag", "podlife-rehearsal-kept/postgres:15.19-bookworm", "postgres:15.19-bookworm"),
        ("rmi", "podlife-rehearsal-kept/postgres:15.19-bookworm"),
    ]


def test_only_the_dockerd_of_the_pid_file_is_signalled(tmp_path: Path) -> None:
    impostor = subprocess.Popen(["sleep", "30"])  # a process that is not dockerd
    pid_file = tmp_path / "docker.pid"
    pid_file.write_text(str(impostor.pid))
    try:
        with pytest.raises(StepFailed, match="not dockerd"):
            journal.reload_dockerd(pid_file)
        assert impostor.poll() is None  # not signalled
    finally:
        impostor.kill()
        impostor.wait()
    fake = tmp_path / "dockerd"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    daemon = subprocess.Popen([str(fake), "30"])
    pid_file.write_text(str(daemon.pid))
    for _ in range(100):  # bounded: until it has exec'd, and the kernel names it after its binary
        if Path(f"/proc/{daemon.pid}/comm").read_text().strip() == "dockerd":
            break
        time.sleep(0.05)
    journal.reload_dockerd(pid_file)
    assert daemon.wait(10) == -signal.SIGHUP


def test_a_reload_that_fails_is_said_once_the_file_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_bytes(b"{}\n")
    journal.daemon_json_saved(daemon_json)
    daemon_json.write_text('{"registry-mirrors": ["http://127.0.0.1:5000"]}')

    def no_dockerd() -> None:
        raise StepFailed("reload dockerd", "no dockerd found through /var/run/docker.pid")

    monkeypatch.setattr(journal, "reload_dockerd", no_dockerd)
    with pytest.raises(StepFailed, match="reload dockerd"):
        journal.restore_left(lambda _: None, daemon_json)
    assert daemon_json.read_bytes() == b"{}\n"
    assert journal.restore_left(lambda _: None, daemon_json) == []  # not again at every run
