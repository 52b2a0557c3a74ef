"""podlife's own machinery, without a cluster: manifests, hashes, reports, parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client

from podlife import artefacts, pods, report
from podlife.claims import CLAIMS, ClaimRefuted, Result, Verdict, require
from podlife.paths import MANIFESTS, REPO
from scenarios.test_startup_order import log_lines, stamp


def test_load_maps_only_image_names(tmp_path: Path) -> None:
    docs = pods.load(MANIFESTS / "webpod.yml", {"podlife/postgres:15-bookworm": "elsewhere/pg:1"})
    pod = pods.pod_doc(docs)
    images = {c["name"]: c["image"] for c in pod["spec"]["containers"]}
    assert images["db"] == "elsewhere/pg:1"
    assert images["web"] == "podlife/web:0.1.0"
    assert pod["metadata"]["name"] == "web2"


def test_load_maps_templates_and_init_containers(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text(
        "kind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: [{name: i, image: a}]\n"
        "      containers: [{name: c, image: a}, {name: d, image: b}]\n"
    )
    doc = pods.load(path, {"a": "x"})[0]
    spec = doc["spec"]["template"]["spec"]
    assert [c["image"] for c in spec["initContainers"] + spec["containers"]] == ["x", "x", "b"]


@pytest.mark.parametrize("text", ["", "kind: Pod\n  bad: [", "---\n---\n"])
def test_load_rejects_bad_manifests(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.yml"):
        pods.load(path, {})


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.yml"):
        pods.load(tmp_path / "nope.yml", {})


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


def test_refuted_claim_fails_its_scenario() -> None:
    claim = CLAIMS["ready-2-of-2"]
    assert require(Result(claim, Verdict.CONFIRMED, {})).verdict is Verdict.CONFIRMED
    assert require(Result(claim, Verdict.REFINED, {})).verdict is Verdict.REFINED
    with pytest.raises(ClaimRefuted, match="ready-2-of-2"):
        require(Result(claim, Verdict.REFUTED, {"ready": "1/2"}, "db exited"))


def test_report_has_every_claim_and_a_counter_section(tmp_path: Path) -> None:
    results = [
        Result(CLAIMS["ready-2-of-2"], Verdict.CONFIRMED, {"ready": "2/2"}).as_dict()
        | {"counter_example": False},
        Result(CLAIMS["ready-2-of-2"], Verdict.REFUTED, {"ready": "1/2|x"}, "db exited").as_dict()
        | {"counter_example": True},
    ]
    report.write(results, tmp_path, {"cluster": "test", "duration_s": 1.0})
    table = (tmp_path / "claims.md").read_text()
    assert "✅ confirmed" in table and "❌ refuted" in table and "Counter-examples" in table
    assert "1/2\\|x" in table  # a pipe in evidence does not break the table
    data = json.loads((tmp_path / "claims.json").read_text())
    assert [c["verdict"] for c in data["claims"]] == ["confirmed", "refuted"]


def test_kubelet_and_app_timestamps_parse_to_the_microsecond() -> None:
    assert stamp("2026-11-24T19:35:55.123456789Z") == datetime(2026, 11, 24, 19, 35, 55, 123456, UTC)
    assert stamp("2026-11-24T19:35:55.286Z") == datetime(2026, 11, 24, 19, 35, 55, 286000, UTC)
    lines = log_lines("2026-11-24T19:00:00.5Z hello world\n2026-11-24T19:00:01Z {}\n")
    assert [text for _, text in lines] == ["hello world", "{}"]
