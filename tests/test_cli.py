"""``python -m podlife cluster status`` with nothing to reach: one clear line, exit 1, no traceback."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest
import yaml

from podlife import __main__ as cli
from podlife.provision import cluster
from podlife.provision.steps import StepFailed


def kubeconfig_for(server: str, path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_status_without_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(cluster, "kubeconfig_path", lambda: tmp_path / "missing")
    assert cli.main(["cluster", "status"]) == 1
    err = capsys.readouterr().err
    assert "no kubeconfig at" in err and "cluster up" in err and "Traceback" not in err


def test_status_with_api_server_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    with socket.create_server(("127.0.0.1", 0)) as gone:
        port = gone.getsockname()[1]
    path = kubeconfig_for(f"http://127.0.0.1:{port}", tmp_path / "kubeconfig")
    monkeypatch.setattr(cluster, "kubeconfig_path", lambda: path)
    assert cli.main(["cluster", "status"]) == 1
    err = capsys.readouterr().err
    assert "step 'cluster status' failed" in err and "does not answer" in err and str(path) in err


def test_load_names_the_images_this_machine_does_not_have(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(cluster, "local_image", lambda image: image == "mine:1")
    assert cli.main(["cluster", "load", "mine:1", "nowhere:2"]) == 1
    err = capsys.readouterr().err
    assert "not in this machine's Docker: nowhere:2" in err and "Traceback" not in err


def test_load_and_logs_need_their_argument(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["cluster", "load"])
    assert "needs one or more images" in capsys.readouterr().err


def test_profile_refuses_bad_input_in_one_line_before_any_cluster_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from podlife.provision import loading

    bad = tmp_path / "bad.yml"
    bad.write_text("kind: Pod\n  bad: [")
    reached: list[str] = []
    monkeypatch.setattr("pytest.main", lambda argv: reached.append("pytest") or 0)
    assert cli.main(["profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not YAML at line 2" in err and str(bad) in err
    good = tmp_path / "pod.yml"
    good.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nowhere:1}]}\n"
    )
    monkeypatch.setattr(
        loading, "nowhere", lambda images: {i: "not in this machine's Docker" for i in images}
    )
    assert cli.main(["profile", str(good)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "image nowhere:1: not in this machine's Docker" in err
    assert not reached  # no test, so no cluster, was ever started


@pytest.mark.parametrize("action", ["up", "down", "status"])
def test_cluster_commands_that_take_no_names_refuse_them(
    action: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "down", lambda: pytest.fail("cluster down ran"))
    with pytest.raises(SystemExit) as exited:
        cli.main(["cluster", action, "mycluster"])
    assert exited.value.code == 2
    assert f"cluster {action} takes no names (mycluster)" in capsys.readouterr().err


def test_only_podlifes_own_evidence_folder_is_removed(tmp_path: Path) -> None:
    from podlife.run import session

    home = tmp_path / "home"
    (home / "evidence").mkdir(parents=True)
    (home / "evidence" / "mine.txt").write_text("the user's")
    with pytest.raises(pytest.UsageError, match="is not podlife's"):
        session.clear_evidence(home / "evidence")
    assert (home / "evidence" / "mine.txt").exists()
    ours = tmp_path / "reports" / "evidence"
    ours.mkdir(parents=True)
    (ours / session.MARK).touch()
    session.clear_evidence(ours)
    assert not ours.exists()
    session.clear_evidence(tmp_path / "nothing-here" / "evidence")  # nothing to remove, nothing refused


def test_a_node_left_stopped_is_started_again_not_the_cluster_rebuilt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []
    running = {"podlife-control-plane": "false", "podlife-worker": "true", "podlife-worker2": "false"}

    def docker(*args: str, **_: object) -> str:
        argv = ["docker", *args]
        calls.append(argv)
        return running[argv[-1]] + "\n" if argv[1] == "inspect" else ""

    monkeypatch.setattr(cluster, "node_containers", lambda tools: list(running))
    monkeypatch.setattr(cluster, "docker", docker)
    cluster.start_stopped_nodes(object())  # type: ignore[arg-type]
    started = [a[-1] for a in calls if a[1] == "start"]
    assert started == ["podlife-control-plane", "podlife-worker2"]  # the running worker left alone


def test_a_kind_cluster_podlife_did_not_create_is_neither_reused_nor_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marks = {"podlife-control-plane": cluster.NAME, "podlife-worker": None}
    monkeypatch.setattr(cluster.kind, "owner", marks.get)
    with pytest.raises(
        StepFailed, match=r"not created by podlife \(without podlife's mark: podlife-worker\)"
    ):
        cluster.refuse_unless_ours(list(marks), "cluster up")
    marks["podlife-worker"] = "another"  # marked, but for another cluster of that name
    with pytest.raises(StepFailed, match="neither reuses, recreates nor deletes it"):
        cluster.refuse_unless_ours(list(marks), "cluster up")
    marks["podlife-worker"] = cluster.NAME
    cluster.refuse_unless_ours(list(marks), "cluster up")

    deleted: list[str] = []
    monkeypatch.setattr(cluster, "output", lambda argv, **_: "kind-control-plane\n")
    monkeypatch.setattr(cluster, "resolve_any", lambda *a: "kind")
    monkeypatch.setattr(cluster.KindCluster, "delete", lambda self: deleted.append(self.name))
    monkeypatch.setattr(cluster, "exclusive", lambda *a: contextlib.nullcontext())
    with pytest.raises(StepFailed, match="kind delete cluster --name"):
        cluster.down()
    assert deleted == []


def test_no_area_prints_what_podlife_does_not_a_bare_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "cluster" in err and "profile" in err and "python -m podlife profile PATH" in err


def test_a_run_on_a_cluster_the_user_names_brings_up_nothing_here(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """tox's environments bring podlife's own cluster up first, unless the run names --kubeconfig:
    then nothing is installed, built or started on this machine."""
    monkeypatch.setattr(cluster, "up", lambda: pytest.fail("cluster up on a --kubeconfig run"))
    assert cli.main(["cluster", "up", "--for-run", "--claim", "x", "--kubeconfig", "k", "-n", "0"]) == 0
    assert cli.main(["cluster", "up", "--for-run", "--kubeconfig=k", "tests/subjects/profile"]) == 0
    assert "nothing is brought up on this machine" in capsys.readouterr().err
    monkeypatch.setattr(cluster, "up", lambda: Path("/kubeconfig"))
    assert cli.main(["cluster", "up", "--for-run", "--claim", "x"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "/kubeconfig" and "bringing up podlife's own kind cluster" in out.err


def test_the_profile_on_a_users_cluster_asks_nothing_of_this_machines_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --kubeconfig the images are the cluster's business (the run asks its workers); no local
    Docker is asked, and --probe-image reaches the run."""
    from podlife.provision import loading

    (tmp_path / "pod.yml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - {name: c, image: registry.example/none:1}\n"
    )
    monkeypatch.setattr(loading, "nowhere", lambda images: pytest.fail("asked this machine's Docker"))
    ran: list[list[str]] = []
    monkeypatch.setattr("pytest.main", lambda argv: ran.append(argv) or 0)
    argv = ["profile", "--kubeconfig", "k", "--probe-image", "py:3", str(tmp_path / "pod.yml")]
    assert cli.main(argv) == 0
    assert ran and "--probe-image" in ran[0] and "py:3" in ran[0] and "no:pytest-kind" in ran[0]


def test_cluster_load_takes_its_images_after_the_kubernetes_option(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[list[str]] = []
    monkeypatch.setattr(cluster, "load", loaded.append)
    monkeypatch.setenv("PODLIFE_KUBERNETES", "1.34")  # undone after the test, whatever main selects
    assert cli.main(["cluster", "load", "--kubernetes", "1.34", "a:1", "b:2"]) == 0
    assert loaded == [["a:1", "b:2"]]
    with pytest.raises(SystemExit):
        cli.main(["cluster", "status", "--bogus"])
