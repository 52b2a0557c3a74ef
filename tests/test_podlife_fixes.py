"""The fixes' machinery without a cluster: the HTML report (from synthetic results with typed
pictures), the problem → fix pairing in claims.md, the node-local provisioner's manifest,
the fixed architecture's manifests and the storage ladder's manifest handling."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from podlife import claims, pictures, report
from podlife.kube import pods, shape, storage
from podlife.kube.chapter.subject import Subject
from podlife.paths import MANIFESTS
from podlife.pictures import LadderTable, RequestSeries, StartupRun, StartupTimeline, Step, StepsTable
from podlife.report import agree, page
from scenarios.test_storage_ladder import EMPTYDIR, FIX, describe, prepared

STARTUP = StartupTimeline([StartupRun(100.0, 100.1, 102.5, 102.6), StartupRun(200.2, 200.3, 203.0, None)])
SERIES = RequestSeries(1.0, [10, 4, 10], [0, 6, 0], {"update": 1.0}, [0, 0, 0], [3, 0, 0], 0.8)
META = report.Meta(cluster="kind podlife", started="2026-12-04T00:00:00+00:00", duration_s=60)


def evidence_of(picture: Any) -> dict[str, Any]:
    """The evidence a measurement records beside ``picture`` (what the reports compare)."""
    if isinstance(picture, RequestSeries):
        return {"requests": 30, "failed": 6, "baseline": {"requests": 3, "failed": 3}}
    if isinstance(picture, StartupTimeline):
        return {"runs": len(picture.runs)}
    if isinstance(picture, LadderTable):
        return {"ladder": picture.rows}
    if isinstance(picture, StepsTable):
        return {"steps": [dataclasses.asdict(s) for s in picture.steps]}
    return {"n": 1}


def result(
    claim_id: str, verdict: str, picture: Any = None, *, fixes: str = "", counter: bool = False
) -> claims.Result:
    return claims.Result(
        id=claim_id,
        section=claims.FIXES if fixes else claims.LEARNINGS,
        sentence=f"the chapter on {claim_id}",
        verdict=claims.Verdict(verdict),
        evidence=evidence_of(picture),
        statement=f"measured {claim_id}",
        duration_s=12.5,
        manifest="m.yml",
        fixes=fixes,
        counter_example=counter,
        picture=picture,
    )


def all_results() -> list[claims.Result]:
    return [
        result("startup-order", "refined", STARTUP),
        result("update-needs-downtime", "confirmed", SERIES),
        result("ordered-start", "confirmed", STARTUP, fixes="startup-order"),
        result("rolling-update-no-downtime", "confirmed", SERIES, fixes="update-needs-downtime"),
        result(
            "storage-ladder",
            "confirmed",
            LadderTable({"emptyDir": {"db restarted": "kept", "recreated": "lost"}}),
            fixes="delete-loses-data",
        ),
        result(
            "separated-survives",
            "confirmed",
            StepsTable([Step("db-0 deleted", 3, True, 9.0)]),
            fixes="no-horizontal-scale",
        ),
        result("ordered-start", "refuted", STARTUP, fixes="startup-order", counter=True),
    ]


def pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)]


def test_html_pairs_each_problem_with_its_fix_and_draws_the_pictures() -> None:
    page_html = page.render(all_results(), META)
    for problem, fix in [
        ("startup-order", "ordered-start"),
        ("delete-loses-data", "storage-ladder"),
        ("no-horizontal-scale", "separated-survives"),
        ("update-needs-downtime", "rolling-update-no-downtime"),
    ]:
        assert f"<h3>{problem} → {fix}</h3>" in page_html
    images = pngs(page_html)
    assert len(images) == 5  # two start-up charts, two update charts, one for the counter-example
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images)
    assert page_html.count("not run in this report") == 2  # delete-loses-data, no-horizontal-scale
    assert "Counter-examples" in page_html
    assert 'style="background:#ffebe9">lost<' in page_html  # the ladder's lost cell


def test_every_picture_type_has_a_drawing_and_survives_the_json_report() -> None:
    assert set(page.DRAW) == set(pictures.PICTURES.values()) == set(agree.AGREE)
    for picture in (
        STARTUP,
        SERIES,
        LadderTable({"a": {"b": "kept"}}),
        StepsTable([Step("s", 1, False, 1.0)]),
    ):
        assert pictures.from_dict(pictures.to_dict(picture)) == picture
    for r in all_results():  # and a whole result crosses from a worker typed as it was
        assert claims.Result.from_json(json.loads(json.dumps(r.to_json()))) == r


def test_a_picture_whose_fields_drifted_fails_loudly() -> None:
    saved = pictures.to_dict(SERIES)
    assert saved is not None
    saved["data"]["okay"] = saved["data"].pop("ok")
    with pytest.raises(TypeError):
        pictures.from_dict(saved)


def test_markdown_puts_each_fix_beside_its_problem(tmp_path: Path) -> None:
    report.write(all_results(), tmp_path, META, root=tmp_path)
    md = (tmp_path / "claims.md").read_text()
    assert "## Problems and their fixes" in md
    assert "| `startup-order` | 🔎 refined | `ordered-start` | ✅ confirmed |" in md
    assert "| `delete-loses-data` | not run | `storage-ladder` | ✅ confirmed |" in md
    assert md.index("Problems and their fixes") < md.index("## Conclusion: the fixes")
    assert (tmp_path / "claims.html").read_text().startswith("<!doctype html>")


# ---------------------------------------------------------------- the air-gapped node image's defaults
AIRGAP_NODE = Path(__file__).parent.parent / "airgap" / "node"


def test_default_storage_is_node_local_like_kinds() -> None:
    docs = list(yaml.safe_load_all((AIRGAP_NODE / "default-storage.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "podlife/local-path-provisioner:v0.0.30"
    assert container["imagePullPolicy"] == "Never"
    args = dict(a.split("=", 1) for a in container["args"] if "=" in a)
    assert args["--provisioner-name"] == kinds["StorageClass"]["provisioner"] == "rancher.io/local-path"
    assert args["--provisioner-name"] in storage.NODE_LOCAL_PROVISIONERS
    assert kinds["StorageClass"]["metadata"]["name"] == "standard"
    assert kinds["StorageClass"]["metadata"]["annotations"][storage.DEFAULT_MARK] == "true"
    assert kinds["StorageClass"]["volumeBindingMode"] == "WaitForFirstConsumer"
    helper = yaml.safe_load(kinds["ConfigMap"]["data"]["helperPod.yaml"])
    assert helper["spec"]["containers"][0]["image"] == "podlife/debian:bookworm"


def test_default_cni_is_templated_and_patched_by_kind() -> None:
    text = (AIRGAP_NODE / "default-cni.yaml").read_text()
    assert "would you kindly template this file" in text and "would you kindly patch this file" in text
    daemonset = next(d for d in yaml.safe_load_all(text) if d["kind"] == "DaemonSet")
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e.get("value") for e in container["env"]}["POD_SUBNET"] == "{{ .PodSubnet }}"
    assert container["imagePullPolicy"] == "Never" and daemonset["spec"]["template"]["spec"]["hostNetwork"]


# ---------------------------------------------------------------- manifests of the fixes
def test_separated_manifests_describe_the_fixed_architecture() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in Subject.load(MANIFESTS / "separated").docs}
    sts = kinds["StatefulSet", "db"]
    assert sts["spec"]["serviceName"] == "db" and kinds["Service", "db"]["spec"]["clusterIP"] == "None"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    web = kinds["Deployment", "web"]
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {e["name"]: e.get("value") for e in container["env"]}["db_host"] == "db"
    assert kinds["Service", "web"]["spec"]["ports"][0] == {"name": "http", "port": 80, "targetPort": "http"}


def test_separated_counter_examples_change_one_thing_each() -> None:
    fixed = Subject.load(MANIFESTS / "separated").docs
    counter = Path(__file__).parent.parent / "scenarios" / "counter"
    for name, changed in [
        ("separated-db-on-emptydir.yml", "StatefulSet"),
        ("separated-recreate.yml", "Deployment"),
    ]:
        docs = Subject.load(counter / name).docs
        differ = [a["kind"] for a, b in zip(fixed, docs, strict=True) if a != b]
        assert differ == [changed], name


@pytest.mark.parametrize("path", [FIX, EMPTYDIR])
def test_ladder_names_the_class_and_drops_host_ports(path: Path) -> None:
    docs = prepared(Subject.load(path).loaded({}), "node-local")
    assert not [
        p for c in shape.containers(pods.pod_doc(docs)) for p in c.get("ports", []) if "hostPort" in p
    ]
    assert all(
        d["spec"]["storageClassName"] == "node-local" for d in docs if d["kind"] == "PersistentVolumeClaim"
    )


def test_ladder_cell_names_the_schedulers_volume_refusal() -> None:
    message = (
        "0/3 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity, "
        "1 node(s) had untolerated taint(s). preemption: 0/3 nodes are available"
    )
    cell = {
        "lines_found": 3,
        "scheduling": f"Pending: {message}",
        "node_before": "a",
        "returned_to": "a",
        "node_after": "a",
    }
    assert describe(cell) == (
        "pod stays Pending (1 node(s) didn't match PersistentVolume's node affinity); "
        "recreated back on a: data kept"
    )
    assert describe({"lines_found": 0, "node_before": "a", "node_after": "b"}) == "lost (moved a → b)"
    assert dataclasses.is_dataclass(Step)
