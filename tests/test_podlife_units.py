"""podlife's own machinery, without a cluster: subjects, shaping, hashes, verdicts, reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from podlife import report
from podlife.claims import ClaimRefuted, Result, Verdict, expect_refuted, require
from podlife.kube import pods, shape
from podlife.kube.api.wait import Impossible
from podlife.kube.chapter.subject import Subject
from podlife.kube.pod.manifest import SubjectError, next_tag, pull_policy
from podlife.paths import MANIFESTS, REPO
from podlife.provision import artefacts
from podlife.run.registry import declared, scenario_files
from tests.hostile import HOSTILE

SCRATCH = REPO / "tests" / "subjects" / "scratch-web" / "webpod.yml"


# ---------------------------------------------------------------- subjects
def test_the_chapters_pod_is_found_by_what_the_manifest_says() -> None:
    for path in (MANIFESTS / "webpod.yml", SCRATCH):
        subject = Subject.load(path)
        assert (subject.web, subject.db, subject.port, subject.pod) == ("web", "db", 8080, "web2")
    assert Subject.load(SCRATCH).web_image == "podlife/scratch-web:0.1.0"


def test_roles_do_not_depend_on_container_names(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        "kind: Pod\nmetadata: {name: shop}\nspec:\n  containers:\n"
        "  - {name: store, image: mirror.example/postgres:16, env: [{name: POSTGRES_PASSWORD, value: x}]}\n"
        "  - {name: front, image: shop:2, ports: [{containerPort: 9000}]}\n"
    )
    subject = Subject.load(path)
    assert (subject.web, subject.db, subject.port, subject.pod) == ("front", "store", 9000, "shop")


def test_a_directory_and_a_sidecar_database_are_subjects_too() -> None:
    assert Subject.load(MANIFESTS / "separated").service() == ("web", 80)
    ordered = Subject.load(MANIFESTS / "webpod-ordered.yml")
    assert (ordered.web, ordered.db) == ("web", "db")  # db is an init container (a native sidecar)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("kind: Pod\n  bad: [", "not YAML at line"),
        ("", "holds no Kubernetes object"),
        ("- a\n- b\n", "not a Kubernetes object"),
        ("kind: Service\nmetadata: {name: s}\nspec: {}\n", "no Pod"),
        (
            "kind: Pod\nmetadata: {name: p}\n"
            "spec:\n  containers: [{name: w, image: w, ports: [{containerPort: 80}]}]\n",
            "no database",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\n"
            "spec:\n  containers: [{name: d, image: postgres:15}, {name: w, image: w}]\n",
            "declared port",
        ),
        (  # a web container that carries POSTGRES_PASSWORD to connect, and a second database
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "  - {name: w, image: w, env: [{name: POSTGRES_PASSWORD, value: x}],\n"
            "     ports: [{containerPort: 80}]}\n"
            "  - {name: d, image: postgres:15}\n  - {name: d2, image: mirror/postgres:16}\n",
            "d, d2 could each be the PostgreSQL container",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: d, image: postgres:15}, "
            "{name: a, image: a, ports: [{containerPort: 80}]},\n"
            "    {name: b, image: b, ports: [{containerPort: 81}]}]\n",
            "a, b could each be the web container",
        ),
    ],
)
def test_a_manifest_that_cannot_serve_is_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(SubjectError, match=says) as err:
        Subject.load(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


@pytest.mark.parametrize(("text", "says"), HOSTILE, ids=lambda v: v if len(str(v)) < 30 else None)
def test_a_hostile_pod_manifest_is_one_line_before_any_cluster_work(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "hostile.yml"
    path.write_text(text)
    with pytest.raises(SubjectError) as err:
        Subject.load(path)  # reads only: no cluster is reached, so nothing can be created
    assert says in str(err.value) and str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_the_web_may_carry_postgres_settings_where_the_database_is_a_postgres_image(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - {name: w, image: w, env: [{name: POSTGRES_PASSWORD, value: x}], ports: [{containerPort: 80}]}\n"
        "  - {name: d, image: postgres:15, env: [{name: POSTGRES_PASSWORD, value: x}]}\n"
    )
    assert (Subject.load(path).web, Subject.load(path).db) == ("w", "d")  # listed first, still the web


def test_privileged_settings_are_measured_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        "kind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers:\n"
        "  - {name: d, image: postgres:15}\n  - {name: w, image: w, ports: [{containerPort: 80}]}\n"
    )
    with pytest.raises(SubjectError, match=r"asks for hostNetwork; .* only with --allow-privileged-subject"):
        Subject.load(path)
    assert Subject.load(path, allow_privileged=True).web == "w"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SubjectError, match=r"nope\.yml: cannot read it"):
        Subject.load(tmp_path / "nope.yml")


def test_loaded_maps_only_image_names_and_leaves_the_subject_alone() -> None:
    subject = Subject.load(MANIFESTS / "webpod.yml")
    docs = subject.loaded({"podlife/postgres:15-bookworm": "elsewhere/pg:1"})
    images = {c["name"]: c["image"] for c in pods.pod_doc(docs)["spec"]["containers"]}
    assert images == {"web": "podlife/web:0.1.0", "db": "elsewhere/pg:1"}
    assert subject.images() == {"podlife/web:0.1.0": "Never", "podlife/postgres:15-bookworm": "IfNotPresent"}


def test_next_version_is_the_same_image_under_another_tag() -> None:
    assert next_tag("podlife/web:0.1.0") == "podlife/web:0.1.0-podlife-next"
    assert next_tag("registry:5000/team/web:2") == "registry:5000/team/web:2-podlife-next"
    assert next_tag("web") == "web:podlife-next"
    assert next_tag("web@sha256:" + "0" * 64) == "web:podlife-next"


def test_pull_policy_defaults_as_the_api_server_does() -> None:
    assert pull_policy({"image": "a:1"}) == "IfNotPresent"
    assert pull_policy({"image": "a"}) == pull_policy({"image": "a:latest"}) == "Always"
    assert pull_policy({"image": "a:latest", "imagePullPolicy": "Never"}) == "Never"


# ---------------------------------------------------------------- shaping
def test_shaping_returns_changed_copies() -> None:
    docs = Subject.load(MANIFESTS / "webpod.yml").loaded({})
    freed = shape.without_host_ports(docs)
    assert not [p for c in shape.containers(freed[0]) for p in c.get("ports", []) if "hostPort" in p]
    assert docs[0]["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080
    away = shape.pinned(docs, "node-a", "NotIn")[0]["spec"]["affinity"]["nodeAffinity"]
    term = away["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0] == {
        "key": "kubernetes.io/hostname",
        "operator": "NotIn",
        "values": ["node-a"],
    }
    assert "affinity" not in docs[0]["spec"]
    assert shape.with_image(docs, "web", "x:2")[0]["spec"]["containers"][0]["image"] == "x:2"
    apart = shape.split(docs[0])
    assert [(p["metadata"]["name"], len(p["spec"]["containers"])) for p in apart] == [
        ("web2-web", 1),
        ("web2-db", 1),
    ]


def test_copies_keep_each_copys_grouping() -> None:
    docs = Subject.load(REPO / "scenarios" / "counter" / "two-pods.yml").loaded({})
    copies = shape.copies(docs, 2)
    assert [p["metadata"]["name"] for p in copies] == ["web2-web-0", "web2-db-0", "web2-web-1", "web2-db-1"]
    term = copies[2]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        0
    ]
    assert term["labelSelector"]["matchLabels"] == {"part": "web2-1"}
    assert copies[2]["metadata"]["labels"]["part"] == "web2-1"


def test_as_deployment_puts_a_service_in_front() -> None:
    pod = pods.pod_doc(Subject.load(MANIFESTS / "webpod.yml").loaded({}))
    deployment, service = shape.as_deployment(pod, 2, 8080)
    assert deployment["spec"]["replicas"] == 2
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


# ---------------------------------------------------------------- pods
def status(name: str, ready: bool) -> client.V1ContainerStatus:
    return client.V1ContainerStatus(
        name=name,
        ready=ready,
        restart_count=0,
        image="i",
        image_id="",
        state=client.V1ContainerState(running=client.V1ContainerStateRunning()),
    )


def test_ready_count_counts_native_sidecars_like_kubectl() -> None:
    pod = client.V1Pod(
        spec=client.V1PodSpec(
            init_containers=[
                client.V1Container(name="db", restart_policy="Always"),
                client.V1Container(name="setup"),
            ],
            containers=[client.V1Container(name="web")],
        ),
        status=client.V1PodStatus(
            phase="Running",
            init_container_statuses=[status("db", True)],
            container_statuses=[status("web", False)],
        ),
    )
    assert pods.ready_count(pod) == (1, 2)
    assert not pods.all_ready(pod)


def ended(policy: str, exit_code: int) -> Any:
    web = status("web", False)
    web.state = client.V1ContainerState(terminated=client.V1ContainerStateTerminated(exit_code=exit_code))
    return client.V1Pod(
        spec=client.V1PodSpec(restart_policy=policy, containers=[client.V1Container(name="web")]),
        status=client.V1PodStatus(phase="Running", container_statuses=[web]),
    )


def test_a_pod_that_will_be_restarted_can_still_become_ready() -> None:
    assert pods.ended_for_good(ended("Always", 1)) is None  # the kubelet restarts it
    assert pods.ended_for_good(ended("OnFailure", 1)) is None
    assert "restartPolicy is Never" in (pods.ended_for_good(ended("Never", 1)) or "")
    assert "exit code 0" in (pods.ended_for_good(ended("OnFailure", 0)) or "")


def test_a_restart_that_cannot_come_ends_the_wait() -> None:
    pod = ended("OnFailure", 0)
    pod.metadata = client.V1ObjectMeta(name="web2")
    with pytest.raises(Impossible, match="restartPolicy is OnFailure"):
        pods.restarted("web2", "web", 1, give_up=True)({"web2": pod})
    assert pods.restarted("web2", "web", 1)({"web2": pod}) is None  # without give_up: keep waiting
    assert pods.restarted("web2", "web", 1, give_up=True)({"web2": ended("Always", 0)}) is None


def test_kubelet_timestamps_parse_to_the_microsecond() -> None:
    assert pods.stamp("2026-11-24T19:35:55.123456789Z") == datetime(2026, 11, 24, 19, 35, 55, 123456, UTC)
    assert pods.stamp("2026-11-24T19:35:55.286Z") == datetime(2026, 11, 24, 19, 35, 55, 286000, UTC)
    lines = pods.log_lines("2026-11-24T19:00:00.5Z hello world\n2026-11-24T19:00:01Z {}\n")
    assert [text for _, text in lines] == ["hello world", "{}"]


# ---------------------------------------------------------------- artefacts
def test_input_hash_follows_recipe_contents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = REPO / "airgap" / "debian-image.sh"
    first = artefacts.Artefact("t", [recipe], lambda a: None).inputs
    assert first == artefacts.Artefact("t", [recipe], lambda a: None).inputs
    changed = tmp_path / "copy.sh"
    changed.write_text(recipe.read_text() + "\n# changed\n")
    monkeypatch.setattr(artefacts, "REPO", tmp_path)
    assert artefacts.Artefact("t", [changed], lambda a: None).inputs != first


def test_versions_are_pinned() -> None:
    pins = artefacts.versions()
    for key in ("K8S_VERSION", "K8S_STAGING", "KIND_VERSION", "ETCD_VERSION", "COREDNS_VERSION"):
        assert pins[key].startswith("v"), key
    assert pins["K8S_VERSION"].split(".")[1] == pins["K8S_STAGING"].split(".")[1]


# ---------------------------------------------------------------- verdicts and reports
def result(verdict: Verdict, counter: bool = False, **kw: object) -> Result:
    return Result(
        "ready-2-of-2",
        "Life Cycle",
        "web2 2/2 Running",
        verdict,
        {"ready": "1/2|x"},
        "db exited",
        counter_example=counter,
        **kw,
    )  # type: ignore[arg-type]


def test_a_refuted_claim_fails_and_a_counter_example_must_be_refuted() -> None:
    assert require(result(Verdict.CONFIRMED)).verdict is Verdict.CONFIRMED
    assert require(result(Verdict.REFINED)).verdict is Verdict.REFINED
    with pytest.raises(ClaimRefuted, match=r"ready-2-of-2.*\n.*\ntimeline here"):
        require(result(Verdict.REFUTED, timeline="timeline here"))
    expect_refuted(result(Verdict.REFUTED, counter=True))
    for verdict in (Verdict.CONFIRMED, Verdict.REFINED):
        with pytest.raises(AssertionError, match="did not refute ready-2-of-2"):
            expect_refuted(result(verdict, counter=True))


def test_report_has_every_claim_and_a_counter_section(tmp_path: Path) -> None:
    results = [result(Verdict.REFUTED, counter=True), result(Verdict.CONFIRMED)]
    report.write(results, tmp_path, report.Meta("test", "2026-12-04", 1.0), root=tmp_path)
    table = (tmp_path / "claims.md").read_text()
    assert "✅ confirmed" in table and "❌ refuted" in table and "Counter-examples" in table
    assert "1/2\\|x" in table  # a pipe in evidence does not break the table
    data = json.loads((tmp_path / "claims.json").read_text())
    assert [c["verdict"] for c in data["claims"]] == ["confirmed", "refuted"]  # claims first


def test_the_declared_claims_are_found_in_the_scenario_files() -> None:
    ids = {c.id for c in declared(scenario_files([str(REPO / "scenarios")]))}
    assert {"startup-order", "restart-back-off", "rolling-update-no-downtime"} <= ids and len(ids) == 32
