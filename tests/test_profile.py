"""The profile's input checks, places and documented promises, without a cluster; and the
reference set's expected values (checked against a real profile by ``tox -e profile`` in CI)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from podlife import report
from podlife.paths import MANIFESTS, REPO
from podlife.profile import documented
from podlife.profile.places import places
from podlife.profile.workload import ProfileInputError, load
from podlife.profiled import NodeLoss, Profile, Stop
from tests.hostile import HOSTILE, POD

REFERENCE = REPO / "tests" / "subjects" / "profile"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("kind: Pod\n  bad: [", "not YAML at line 2"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "no workload in it"),
        ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\n", "does not apply a CronJob"),
        ("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: x}]}\n", "has no metadata.name"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n", "Pod/p: has no containers"),
        ("- just\n- a list\n", "not a Kubernetes object"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, text: str, says: str) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    with pytest.raises(ProfileInputError, match=says) as caught:
        load([str(bad)])
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)


def test_nothing_to_profile_and_a_missing_path_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileInputError, match="name one or more"):
        load([])
    with pytest.raises(ProfileInputError, match="no such file"):
        load([str(tmp_path / "nowhere.yml")])


def test_the_reference_set_and_the_chapters_pod_are_workloads() -> None:
    keys = {w.key for w in load([str(REFERENCE), str(MANIFESTS / "webpod.yml")])}
    assert keys == {"Pod/pair", "Deployment/cache", "StatefulSet/store", "Pod/shipped", "Pod/web2"} | {
        "Deployment/web-surge",
        "Deployment/web-no-surge",
        "Deployment/web-exits",
        "Deployment/web-exits-prestop",
    }
    store = next(w for w in load([str(REFERENCE / "statefulset-pvc.yml")]))
    assert [d["kind"] for d in store.docs()] == ["Service", "StatefulSet"]  # what it needs, first


def test_every_place_a_container_writes_is_found() -> None:
    by_key = {w.key: w for w in load([str(REFERENCE)])}
    found, _ = places(by_key["StatefulSet/store"])
    assert {(p.key, p.type, p.container) for p in found} == {
        ("store:rootfs", "rootfs", "store"),
        ("data", "pvc", "store"),
    }
    found, _ = places(by_key["Pod/pair"])
    assert {(p.key, p.type) for p in found} == {
        ("handles-term:rootfs", "rootfs"),
        ("ignores-term:rootfs", "rootfs"),
        ("scratch", "emptyDir"),
    }
    found, _ = places(by_key["Pod/shipped"])
    assert {p.key for p in found} == {"shipper:rootfs", "app:rootfs"}  # the sidecar runs on: a place too
    assert by_key["Pod/shipped"].running() == ["shipper", "app"] and by_key["Pod/shipped"].sidecars() == {
        "shipper"
    }


def test_read_only_places_are_listed_with_the_reason(tmp_path: Path) -> None:
    manifest = tmp_path / "ro.yml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ro}\nspec:\n  containers:\n"
        "  - name: a\n    image: x\n    securityContext: {readOnlyRootFilesystem: true}\n"
        "    volumeMounts: [{name: conf, mountPath: /etc/x}]\n"
        "  volumes: [{name: conf, configMap: {name: c}}]\n"
    )
    found, skipped = places(load([str(manifest)])[0])
    assert found == [] and set(skipped) == {"a:rootfs", "conf"}
    assert "configMap" in skipped["conf"] and "readOnlyRootFilesystem" in skipped["a:rootfs"]


@pytest.mark.parametrize(
    ("place", "event", "same_node", "value"),
    [
        ("emptyDir", "container-restart", None, True),
        ("emptyDir", "pod-recreate", True, False),
        ("emptyDir-memory", "pod-recreate", True, False),
        ("pvc", "pod-recreate", False, True),
        ("hostPath", "pod-recreate", True, True),
        ("hostPath", "pod-recreate", False, False),
        ("rootfs", "container-restart", None, False),
    ],
)
def test_what_kubernetes_documents_for_each_place(
    place: str, event: str, same_node: bool | None, value: bool
) -> None:
    promise = documented.survives(place, event, same_node)
    assert promise.value is value and promise.source.startswith("https://kubernetes.io/docs/")


@pytest.mark.parametrize(
    ("place", "same_node", "same_pod", "value"),
    [
        ("emptyDir", False, False, False),  # a replacement elsewhere, or a bare pod applied again
        ("emptyDir", True, True, True),  # the pod kept its node (a DaemonSet's)
        ("emptyDir-memory", True, True, False),  # a tmpfs: the node's restart clears it
        ("pvc", True, False, True),
        ("hostPath", True, False, True),
        ("hostPath", False, False, False),
        ("rootfs", True, True, False),
    ],
)
def test_what_kubernetes_documents_for_data_after_a_node_loss(
    place: str, same_node: bool, same_pod: bool, value: bool
) -> None:
    assert documented.survives(place, "node-loss", same_node, same_pod).value is value


def test_what_kubernetes_documents_for_a_pod_whose_node_is_lost() -> None:
    assert documented.replaced_on_node_loss("Deployment", 20).value is True
    assert "20 s" in documented.replaced_on_node_loss("ReplicaSet", 20).says
    assert documented.replaced_on_node_loss("StatefulSet", 20).value is False
    assert documented.replaced_on_node_loss("Pod", 300).value is False
    assert documented.replaced_on_node_loss("DaemonSet", None).value is False  # tolerates for ever
    assert documented.replaced_on_node_loss("Deployment", None).value is False


def _pod(*tolerations: dict[str, object]) -> object:
    from types import SimpleNamespace as NS

    full = [
        {"key": None, "operator": None, "effect": None, "toleration_seconds": None, **t} for t in tolerations
    ]
    return NS(spec=NS(tolerations=[NS(**t) for t in full]))


def test_how_long_a_pod_tolerates_a_lost_node_is_read_from_its_tolerations() -> None:
    from podlife.kube import nodes

    unreachable = {"key": nodes.UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    assert nodes.tolerated_s(_pod({**unreachable, "toleration_seconds": 20})) == 20
    assert nodes.tolerated_s(_pod(unreachable)) is None  # for ever (a DaemonSet's)
    assert nodes.tolerated_s(_pod({"operator": "Exists"})) is None  # tolerates every taint
    assert nodes.tolerated_s(_pod({"key": "other", "operator": "Exists", "effect": "NoExecute"})) == 0
    assert nodes.tolerated_s(_pod({**unreachable, "effect": "NoSchedule", "toleration_seconds": 5})) == 0


def test_node_loss_findings_join_each_workloads_profile() -> None:
    from podlife.profile import nodeloss
    from podlife.profile.profiler import NO_NODE_LOSS
    from podlife.profiled import NODE_LOSS, Departure, Kept, NodeLossFinding, NodeLossPhase

    def profile(name: str) -> dict:
        return typed_profile(name, data={"v": Kept("emptyDir", "a")}).to_json()

    found = NodeLossFinding(
        node_loss=lost_node(replaced=False),
        data={"v": Kept("emptyDir", "a").after(NODE_LOSS, True, False)},
        departures=[Departure("v after node-loss", "no", "True")],
        unmeasured={},
    )
    phase = NodeLossPhase({"Pod/a": found}).to_json()
    merged = nodeloss.merge(
        *nodeloss.received([profile("Pod/a"), {nodeloss.PHASE: phase}, profile("Pod/b")]), asked=True
    )
    a, b = merged
    assert a.node_loss == lost_node(replaced=False) and a.data["v"].survives[NODE_LOSS] is True
    assert a.departures and "node_loss" not in a.unmeasured
    assert b.node_loss is None and b.unmeasured["node_loss"] == nodeloss.NOT_FINISHED
    (c,) = nodeloss.merge(*nodeloss.received([profile("Pod/c")]), asked=False)
    assert c.unmeasured["node_loss"] == NO_NODE_LOSS


def typed_profile(name: str, **changed: object) -> Profile:
    """A small profile of one container ``a``, as the profiler hands it over."""
    from podlife.profile.profiler import NO_NODE_LOSS
    from podlife.profiled import ContainerStart, Start

    profile = Profile(
        workload=name,
        manifest="p.yml",
        grace_s=30,
        start=Start({"a": ContainerStart("regular", 1.0, 1.2)}, pod_ready_s=1.3, pods=1),
        data={},
        not_applicable={},
        container_kill={},
        graceful_stop={},
        pod_recreate=None,
        node_loss=None,
        rolling_update=None,
        unmeasured={"node_loss": NO_NODE_LOSS},
        departures=[],
    )
    return replace(profile, **changed)


def lost_node(replaced: bool) -> NodeLoss:
    return NodeLoss(
        node_before="w2",
        replaced=replaced,
        documented_replaced=False,
        tolerated_s=20,
        toleration="the API server's default for pods that set none",
        stock_toleration_s=300,
        by="podlife (applied again: the bare pod was gone)",
        node_after="w1",
        ready_again_s=84.4,
        evicted_after_s=30.6,
    )


def test_podlifes_own_cluster_shortens_the_lost_node_times_in_either_kubeadm_dialect() -> None:
    import yaml

    from podlife.provision.kindconfig import lost_node_patch

    old = yaml.safe_load(lost_node_patch("kindest/node:v1.34.0"))
    assert old["apiServer"]["extraArgs"]["default-unreachable-toleration-seconds"] == "20"
    assert old["controllerManager"]["extraArgs"] == {"node-monitor-grace-period": "25s"}
    new = yaml.safe_load(lost_node_patch("kindest/node:v1.37.0@sha256:ab"))
    assert {"name": "default-not-ready-toleration-seconds", "value": "20"} in new["apiServer"]["extraArgs"]


def test_a_kill_restarts_the_container_alone_unless_it_never_restarts() -> None:
    assert documented.restarted_by_kill("web", "Always", sidecar=False).value == ["web"]
    assert documented.restarted_by_kill("web", "Never", sidecar=False).value == []
    assert documented.restarted_by_kill("log", "Never", sidecar=True).value == ["log"]
    assert (
        documented.replaced(True, "Deployment").value is True
        and documented.replaced(False, "Pod").value is False
    )


def test_the_report_puts_departures_first(tmp_path: Path) -> None:
    from podlife.profiled import Departure, Kept, Kill, Recreate, Stop

    profile = typed_profile(
        "Pod/p",
        node="w1",
        data={"a:rootfs": Kept("rootfs", "a", {"container-restart": True}, {"container-restart": False})},
        container_kill={"a": Kill(["a"], 2.0)},
        graceful_stop={"a": Stop(0, 0.4, False)},
        pod_recreate=Recreate(False, "podlife (applied again)", 3.0, "w1", "w1"),
        unmeasured={"node_loss": "not yet"},
        departures=[Departure("a:rootfs (rootfs) after container-restart", "lost", "True")],
    )
    meta = report.Meta(cluster="c", started="2026-12-04", duration_s=1.0)
    report.profile_files.write([profile], tmp_path, meta)
    md = (tmp_path / "profile.md").read_text()
    assert md.index("## Overview") < md.index("Departures") < md.index("## `Pod/p`")
    assert "a:rootfs (rootfs) after container-restart" in md
    page = (tmp_path / "profile.html").read_text()
    assert page.count('<table class="grid') == 4 and page.count("data:image/png;base64,") == 1  # its events
    saved = json.loads((tmp_path / "profile.json").read_text())["subjects"][0]
    assert {
        "workload",
        "manifest",
        "data",
        "container_kill",
        "graceful_stop",
        "node_loss",
        "rolling_update",
        "departures",
    } <= set(saved)
    assert Profile.from_json(saved) == profile


def test_a_pinned_daemonset_makes_one_pod_and_a_done_init_container_is_no_end() -> None:
    from types import SimpleNamespace as NS

    from podlife.kube import pods, shape

    ds = {"kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": []}}}}
    assert pods.expected_pods([ds]) == 0  # where it runs depends on the nodes
    assert pods.expected_pods(shape.pinned([ds], "worker")) == 1  # as podlife applies it: one node
    done = NS(name="init", restart_count=0, state=NS(waiting=None, terminated=NS(exit_code=0)))
    app = NS(name="app", restart_count=0, state=NS(waiting=None, terminated=None))
    pod = NS(
        spec=NS(init_containers=[NS(name="init", restart_policy=None)], restart_policy="Never"),
        status=NS(init_container_statuses=[done], container_statuses=[app]),
    )
    assert pods.ended_for_good(pod) is None
    app.state.terminated = NS(exit_code=0)
    assert "app ended" in (pods.ended_for_good(pod) or "")


def reference_report(strangers: bool = False, **changed: object) -> list[dict]:
    """A profile.json's subjects that measured exactly what tests/subjects/profile/check.py expects
    (of the reference set, or of the strangers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check", REFERENCE / "check.py")
    assert spec and spec.loader
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    subjects = []
    for workload, want in (check.STRANGERS if strangers else check.EXPECTED).items():
        want = {**want, **changed.get(workload, {})}  # type: ignore[dict-item]
        containers = {c: {"role": r} for c, r in want.get("roles", {}).items()}
        subjects.append(
            {
                "workload": workload,
                "data": {k: {"survives": v} for k, v in want.get("data", {}).items()},
                "start": {"containers": containers},
                "container_kill": {c: {"restarted": r} for c, r in want.get("restarted", {}).items()},
                "graceful_stop": {
                    c: {"killed_at_grace": k} for c, k in want.get("killed_at_grace", {}).items()
                },
                "pod_recreate": {"replaced": want["replaced"]},
                "node_loss": {"replaced": want["node_replaced"]},
                "rolling_update": None
                if want.get("keeps_serving") is None
                else {"failed_requests": 0 if want["keeps_serving"] else 3},
                "departures": [{}] * want.get("departures", 0),
                "findings": []
                if want.get("findings_explained", True)
                else [{"mechanism": "no old pod's..."}],
            }
        )
    return [check, subjects]  # type: ignore[list-item]


def test_the_reference_check_passes_the_documented_values_and_catches_a_change() -> None:
    check, subjects = reference_report()
    assert check.mismatches(subjects) == []
    check, subjects = reference_report(
        **{"StatefulSet/store": {"data": {"data": {"container-restart": True, "pod-recreate": False}}}}
    )
    assert any("StatefulSet/store data data" in m for m in check.mismatches(subjects))
    assert any("data after pod-recreate: always" in m for m in check.mismatches(subjects))  # now one-sided


def test_the_strangers_check_holds_their_values_and_a_complete_profile(tmp_path: Path) -> None:
    check, subjects = reference_report(strangers=True)
    report = tmp_path / "profile.json"
    report.write_text(json.dumps({"subjects": subjects}))
    assert check.main(["--strangers", str(report)]) == 0
    assert check.main([str(report)]) == 1  # not the reference set
    subjects[1]["unmeasured"] = {"rolling_update": "not applicable: a bare pod has no template to roll"}
    report.write_text(json.dumps({"subjects": subjects}))
    assert check.main(["--strangers", str(report)]) == 0
    subjects[1]["unmeasured"] = {"httpd preStop": "how long a preStop hook ran is not reported by the API"}
    report.write_text(json.dumps({"subjects": subjects}))
    assert check.main(["--strangers", str(report)]) == 0  # a limit of what Kubernetes reports, said
    subjects[1]["unmeasured"] = {"graceful_stop": "the pod vanished"}
    report.write_text(json.dumps({"subjects": subjects}))
    assert check.main(["--strangers", str(report)]) == 1
    changed = {"Pod/sleeper": {"killed_at_grace": {"sleep": False}}}
    check, subjects = reference_report(strangers=True, **changed)
    assert any("Pod/sleeper killed_at_grace sleep" in m for m in check.mismatches(subjects, check.STRANGERS))


@pytest.mark.parametrize(
    ("text", "says"),
    HOSTILE,
    ids=lambda v: v if len(str(v)) < 30 else None,
)
def test_a_hostile_or_malformed_manifest_is_one_line_and_applies_nothing(
    tmp_path: Path, text: str, says: str
) -> None:
    bad = tmp_path / "hostile.yml"
    bad.write_text(text)
    with pytest.raises(ProfileInputError) as caught:
        load([str(bad)])  # reads only: no cluster is reached, so nothing can be created
    message = str(caught.value)
    assert says in message and str(bad) in message and "\n" not in message


def test_non_utf8_and_oversized_files_are_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    with pytest.raises(ProfileInputError, match="not UTF-8 text"):
        load([str(latin)])
    big = tmp_path / "big.yml"
    big.write_text(POD + "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ProfileInputError, match="larger than 1 MiB"):
        load([str(big)])


def test_privileged_settings_are_profiled_only_when_allowed(tmp_path: Path) -> None:
    manifest = tmp_path / "host.yml"
    manifest.write_text(
        POD + "spec: {containers: [{name: a, image: x}], volumes: [{name: r, hostPath: {path: /tmp/x}}]}\n"
    )
    with pytest.raises(ProfileInputError, match="--allow-privileged-subject"):
        load([str(manifest)])
    assert [w.key for w in load([str(manifest)], allow_privileged=True)] == ["Pod/p"]


@pytest.mark.parametrize(
    ("kind", "spec", "replicas", "keeps"),
    [
        ("Deployment", {}, 1, True),  # 25 %: maxUnavailable rounds down to 0, maxSurge up to 1
        ("Deployment", {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}}, 1, False),
        ("Deployment", {"strategy": {"type": "Recreate"}}, 3, False),
        ("Deployment", {"strategy": {"rollingUpdate": {"maxUnavailable": "50%"}}}, 2, True),
        ("StatefulSet", {}, 1, False),
        ("StatefulSet", {}, 3, True),
        ("DaemonSet", {}, 1, False),
        ("DaemonSet", {"updateStrategy": {"rollingUpdate": {"maxSurge": 1}}}, 1, True),
    ],
)
def test_what_a_rolling_update_is_documented_to_keep(
    kind: str, spec: dict, replicas: int, keeps: bool
) -> None:
    promise = documented.keeps_serving(kind, spec, replicas)
    assert promise.value is keeps and promise.source.startswith("https://kubernetes.io/docs/")


def test_a_rolling_update_applies_only_where_there_is_a_template_and_an_http_readiness() -> None:
    from podlife.profile import update

    by_key = {w.key: w for w in load([str(REFERENCE)])}
    assert update.target(by_key["Deployment/web-surge"]) == ("web", 8000, "/")
    assert update.not_applicable(by_key["Deployment/web-surge"]) is None
    assert "no container with an httpGet readinessProbe" in (
        update.not_applicable(by_key["Deployment/cache"]) or ""
    )
    assert "bare pod" in (update.not_applicable(by_key["Pod/pair"]) or "")


def fake_pod(uid: str, states: dict[str, object]) -> object:
    from types import SimpleNamespace as NS

    statuses = [NS(name=n, state=s, ready=False, restart_count=0) for n, s in states.items()]
    return NS(metadata=NS(uid=uid), status=NS(init_container_statuses=[], container_statuses=statuses))


def test_a_containers_end_after_the_deletion_is_read_from_its_finished_at() -> None:
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace as NS

    from podlife.profile.events import _stop

    deleted = datetime(2026, 12, 4, 16, 0, 0, 300000, tzinfo=UTC)
    running = NS(running=NS(), terminated=None, waiting=None)
    ended = {
        "quick": NS(
            running=None, waiting=None, terminated=NS(exit_code=0, finished_at=deleted.replace(microsecond=0))
        ),
        "stubborn": NS(
            running=None,
            waiting=None,
            terminated=NS(exit_code=137, finished_at=deleted + timedelta(seconds=4)),
        ),
    }
    history = [
        (deleted - timedelta(seconds=1), fake_pod("u", {"quick": running, "stubborn": running})),
        (deleted + timedelta(seconds=4.6), fake_pod("u", ended)),  # the watch sees both ends at once
    ]
    quick, stubborn = (_stop(history, c, deleted, grace=4) for c in ("quick", "stubborn"))
    assert quick == Stop(exit_code=0, seconds=0.0, seen_after_s=4.6, killed_at_grace=False)
    assert stubborn.seconds == 4.0 and stubborn.killed_at_grace is True
    gone = _stop(history[:1], "quick", deleted, grace=4)  # gone before its end was seen
    assert gone.seconds is None and gone.why


def test_the_prestop_variant_adds_the_remedy_where_a_container_has_none() -> None:
    from podlife.profile.workload import parse_variant, with_prestop_sleep

    exits, prestop = load(
        [str(REFERENCE / "deployment-exits.yml"), str(REFERENCE / "deployment-exits-prestop.yml")]
    )
    changed = with_prestop_sleep(exits, 5)
    assert changed.key == "Deployment/web-exits+prestop-sleep-5s" and exits.key == "Deployment/web-exits"
    (web,) = changed.containers()
    assert (
        web["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
        and "lifecycle" not in exits.containers()[0]
    )
    assert changed.grace_s() == 10  # its own grace period outlasts the sleep: kept
    assert with_prestop_sleep(exits, 12).grace_s() == 17  # made to outlast it
    assert with_prestop_sleep(prestop, 5) is prestop  # a hook of its own: no variant
    assert parse_variant("prestop-sleep") == ("prestop-sleep", 5) and parse_variant("prestop-sleep=8")[1] == 8
    for bad in ("prestop", "prestop-sleep=0", "prestop-sleep=61", "prestop-sleep=x"):
        with pytest.raises(ProfileInputError, match="--variant"):
            parse_variant(bad)


def test_a_workload_shipped_with_its_budget_is_profiled_with_it(tmp_path: Path) -> None:
    budget = (
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: b}\nspec: {minAvailable: 1}\n"
    )
    path = tmp_path / "w.yml"
    path.write_text((REFERENCE / "deployment-exits.yml").read_text() + "---\n" + budget)
    (workload,) = load([str(path)])
    assert [d["kind"] for d in workload.docs()] == ["Service", "PodDisruptionBudget", "Deployment"]
