"""podlife.provision.lock: a second user of a cluster fails at once, naming the first; the lock
goes when its holder does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
