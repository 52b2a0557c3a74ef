"""podlife.provision.lock: a second user of a cluster fails at once, naming the first; the lock
goes when its holder does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from podlife.provision import lock
from podlife.provision.steps import StepFailed

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from podlife.provision import lock
    with lock.exclusive(Path(sys.argv[1]), "a suite in another process"):
        print("held", flush=True)
        sys.stdin.readline()
    """
)


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODLIFE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "kubeconfig"


def test_second_user_fails_naming_the_first_and_lock_goes_with_its_holder(kubeconfig: Path) -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(kubeconfig)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        who = lock.holder(kubeconfig)
        assert who is not None and who["pid"] == other.pid and who["purpose"] == "a suite in another process"
        busy = rf"in use by pid {other.pid} \(a suite in another process"
        with pytest.raises(StepFailed, match=busy), lock.exclusive(kubeconfig, "cluster up"):
            pytest.fail("acquired a lock another process holds")
    finally:
        other.kill()  # killed, not released: the operating system frees the lock
        other.wait()
    assert lock.holder(kubeconfig) is None
    with lock.exclusive(kubeconfig, "cluster up"):
        assert lock.holder(kubeconfig)["purpose"] == "cluster up"  # type: ignore[index]


def test_reentrant_in_one_process_and_released_after_the_outermost(kubeconfig: Path) -> None:
    with lock.exclusive(kubeconfig, "scenarios"):
        with lock.exclusive(kubeconfig, "cluster up"):  # the session's own `cluster up`
            assert lock.holder(kubeconfig)["purpose"] == "scenarios"  # type: ignore[index]
        assert lock.holder(kubeconfig) is not None
    assert lock.holder(kubeconfig) is None


def test_different_clusters_do_not_block_each_other(kubeconfig: Path, tmp_path: Path) -> None:
    with lock.exclusive(kubeconfig, "scenarios"), lock.exclusive(tmp_path / "other", "scenarios"):
        pass


def test_one_cluster_is_one_lock_whatever_the_cache_or_the_copy_of_its_kubeconfig(tmp_path: Path) -> None:
    config = "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
    config += "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"
    mine, copy = tmp_path / "mine", tmp_path / "elsewhere" / "kubeconfig"
    copy.parent.mkdir()
    mine.write_text(config)
    copy.write_text(config)
    assert lock.key_of(mine) == lock.key_of(copy) == "https://127.0.0.1:6443"
    assert lock.LOCKS.is_absolute() and "cache" not in str(lock.LOCKS)  # not under PODLIFE_CACHE
    with lock.exclusive(mine, "scenarios"):  # another process, another copy: the same cluster, held
        other = subprocess.run(
            [sys.executable, "-c", HOLD, str(copy)], input="\n", capture_output=True, text=True, timeout=60
        )
    assert other.returncode != 0 and "(https://127.0.0.1:6443) is in use by pid" in other.stderr


def test_a_kind_cluster_reached_through_a_kubeconfig_is_locked_by_its_kind_name(tmp_path: Path) -> None:
    def config(name: str, server: str) -> Path:
        path = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}"
        path.write_text(
            f"clusters: [{{name: {name}, cluster: {{server: '{server}'}}}}]\n"
            f"contexts: [{{name: {name}, context: {{cluster: {name}}}}}]\ncurrent-context: {name}\n"
        )
        return path

    # podlife's own cluster by --kubeconfig and by `cluster up` (lock_key) hold one lock
    assert lock.key_of(config("kind-podlife", "https://127.0.0.1:41055")) == "kind-podlife"
    assert lock.key_of(config("kind-podlife", "https://[::1]:41055")) == "kind-podlife"
    # a cluster called kind-… elsewhere is keyed by its server
    assert lock.key_of(config("kind-podlife", "https://10.0.0.5:6443")) == "https://10.0.0.5:6443"


# ---------------------------------------------------------------- a shared place, not a weapon
@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    place = tmp_path / "podlife-locks"
    monkeypatch.setattr(lock, "LOCKS", place)
    return place


def test_the_lock_folder_is_made_sticky_and_used(locks: Path) -> None:
    with lock.exclusive("podlife", "cluster up"):
        assert locks.stat().st_mode & 0o1777 == 0o1777
        assert lock.holder("podlife")["purpose"] == "cluster up"  # type: ignore[index]


def test_a_lock_folder_that_is_a_symlink_or_open_to_all_without_sticky_bit_is_refused(
    locks: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    locks.symlink_to(elsewhere)
    with pytest.raises(StepFailed, match="is a symlink"), lock.exclusive("podlife", "cluster up"):
        pass
    assert not list(elsewhere.iterdir())  # nothing written through it
    locks.unlink()
    locks.mkdir()
    locks.chmod(0o777)
    with pytest.raises(StepFailed, match="writable by others without the sticky bit"):
        lock.holder("podlife")


def test_a_planted_symlink_is_neither_locked_through_nor_written_through(locks: Path, tmp_path: Path) -> None:
    """CVE-2025-68146's shape: ``<key>.lock -> a file of root's``; and the note, likewise."""
    victim = tmp_path / "precious"
    victim.write_text("keep me")
    victim.chmod(0o600)
    lock_file, note = lock._files(lock.key_of("podlife"))
    lock_file.symlink_to(victim)
    with pytest.raises(StepFailed, match="is a symlink"), lock.exclusive("podlife", "cluster up"):
        pass
    lock_file.unlink()
    note.symlink_to(victim)
    with pytest.raises(StepFailed, match="is a symlink"), lock.exclusive("podlife", "cluster up"):
        pass
    assert victim.read_text() == "keep me" and victim.stat().st_mode & 0o777 == 0o600


def test_the_note_is_never_written_through_a_name_re_made_meanwhile(locks: Path, tmp_path: Path) -> None:
    victim = tmp_path / "precious"
    victim.write_text("keep me")
    locks.mkdir()
    note = locks / "note.json"
    real_unlink = Path.unlink

    def racing_unlink(self: Path, missing_ok: bool = False) -> None:  # a symlink made right after
        real_unlink(self, missing_ok=missing_ok)
        self.symlink_to(victim)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "unlink", racing_unlink)
        lock._write_note(note, "cluster up")
    assert victim.read_text() == "keep me" and lock._read(note) is None


def test_one_cluster_is_one_lock_whatever_its_server_is_written_as(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def config(server: str, name: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "current-context": name,
                    "contexts": [{"name": name, "context": {"cluster": name, "user": "u"}}],
                    "clusters": [{"name": name, "cluster": {"server": server}}],
                }
            )
        )
        return path

    a, b = config("https://API.example.org:443/", "prod"), config("https://10.0.0.1", "renamed")
    monkeypatch.setattr(lock, "kube_system_uid", lambda path: "0b7c-uid")
    assert lock.key_of(a) == lock.key_of(b) == "kube-system uid 0b7c-uid"
    monkeypatch.setattr(lock, "kube_system_uid", lambda path: None)  # not readable: the address
    c = config("https://api.example.org", "again")
    assert lock.key_of(a) == lock.key_of(c) == "https://api.example.org"
    assert lock.key_of(config("https://127.0.0.1:40000", "kind-podlife")) == "kind-podlife"
