"""The fixes' machinery without a cluster: the HTML report (from synthetic results), the
problem → fix pairing in claims.md, the node-local provisioner's manifest, the fixed
architecture's manifests and the storage ladder's manifest handling."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from podlife import html_report, pods, report, storage
from podlife.claims import CLAIMS
from podlife.paths import MANIFESTS
from scenarios.test_storage_ladder import EMPTYDIR, FIX, describe_cell, pinned, prepared

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def result(claim_id: str, verdict: str, evidence: dict[str, Any], counter: bool = False) -> dict[str, Any]:
    claim = CLAIMS[claim_id]
    return {
        "id": claim_id,
        "section": claim.section,
        "sentence": claim.sentence,
        "verdict": verdict,
        "evidence": evidence,
        "statement": f"measured {claim_id}",
        "duration_s": 12.5,
        "manifest": "m.yml",
        "counter_example": counter,
    }


def run(db_start: float, db_ready: float, web_first: float, waited_ms: int, attempts: int) -> dict[str, Any]:
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    return {
        # as claims.json holds them: str() of datetimes, the app's own RFC 3339 with Z
        "db_first_log": str(at(db_start)),
        "db_accepting": at(db_ready).isoformat(),
        "web_first_attempt": at(web_first).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "web_waited_ms": waited_ms,
        "web_attempts": attempts,
    }


@dataclass
class Sample:
    at: float
    ok: bool


def all_results() -> list[dict[str, Any]]:
    series = html_report.request_series(
        [Sample(i / 10, not 30 <= i < 45) for i in range(100)], marks={"update": 2.5}
    )
    return [
        result(
            "startup-order", "refined", {"per_run": [run(0.2, 3.0, 0.0, 3100, 4), run(0, 2.5, 0.1, 2500, 3)]}
        ),
        result("update-needs-downtime", "confirmed", {"windows_s": [[3.0, 4.5]], "update_at_s": 2.5}),
        result("ordered-start", "confirmed", {"per_run": [run(0, 2.0, 3.1, 5, 1)]}),
        result("rolling-update-no-downtime", "confirmed", {"series": series, "failed": 0, "requests": 100}),
        result(
            "storage-ladder",
            "confirmed",
            {"ladder": {"emptyDir": {"db container restarted": "kept", "pod deleted and recreated": "lost"}}},
        ),
        result(
            "separated-survives",
            "confirmed",
            {"steps": [{"step": "db-0 deleted", "lines": 3, "intact": True, "seconds": 9.0}]},
        ),
        result("ordered-start", "refuted", {"per_run": [run(0, 2.0, 0.1, 1900, 3)]}, counter=True),
    ]


def pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)]


def test_html_pairs_each_problem_with_its_fix_and_draws_the_pictures() -> None:
    page = html_report.render(all_results(), {"cluster": "kind podlife", "duration_s": 60})
    for problem, fix in [
        ("startup-order", "ordered-start"),
        ("delete-loses-data", "storage-ladder"),
        ("no-horizontal-scale", "separated-survives"),
        ("update-needs-downtime", "rolling-update-no-downtime"),
    ]:
        assert f"<h3>{problem} → {fix}</h3>" in page
    images = pngs(page)
    # two start-up charts, two update charts, one for the counter-example
    assert len(images) == 5
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images)
    assert "no picture" not in page
    assert page.count("not run in this report") == 2  # delete-loses-data, no-horizontal-scale
    assert "Counter-examples" in page
    assert 'style="background:#ffebe9">lost<' in page  # the ladder's lost cell


def test_html_renders_from_a_single_result_and_from_evidence_it_cannot_draw() -> None:
    only = [result("rolling-update-no-downtime", "refuted", {"requests": 3})]
    page = html_report.render(only, {})
    assert "<h3>update-needs-downtime → rolling-update-no-downtime</h3>" in page
    assert "not run in this report" in page
    assert "no picture: the evidence lacks what it needs" in page
    assert html_report.render([], {}).count("no problem or fix ran") == 1


def test_request_series_counts_per_second() -> None:
    series = html_report.request_series(
        [Sample(0.1, True), Sample(0.9, False), Sample(2.2, True)], marks={"update": 1.0}
    )
    assert series == {"bin_s": 1.0, "ok": [1, 0, 1], "failed": [1, 0, 0], "marks": {"update": 1.0}}


def test_markdown_puts_each_fix_beside_its_problem(tmp_path: Path) -> None:
    results = all_results()
    report.write(results, tmp_path, {"cluster": "c", "duration_s": 1})
    md = (tmp_path / "claims.md").read_text()
    assert "## Problems and their fixes" in md
    assert "| `startup-order` | 🔎 refined | `ordered-start` | ✅ confirmed |" in md
    assert "| `delete-loses-data` | not run | `storage-ladder` | ✅ confirmed |" in md
    assert md.index("Problems and their fixes") < md.index("## Conclusion: the fixes")
    assert (tmp_path / "claims.html").read_text().startswith("<!doctype html>")


def test_when_reads_every_timestamp_form_the_evidence_holds() -> None:
    forms = [T0, str(T0), T0.isoformat(), "2026-01-02T03:04:05.000000000Z", "2026-01-02T03:04:05Z"]
    assert {html_report.when(f) for f in forms} == {T0}


# ---------------------------------------------------------------- node-local provisioner
def test_provisioner_manifest_uses_the_built_image_and_local_helpers() -> None:
    docs = storage.manifest_docs("abc123")
    kinds = {d["kind"]: d for d in docs}
    deployment = kinds["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == storage.image() == "podlife/local-path-provisioner:v0.0.30"
    assert container["imagePullPolicy"] == "Never"
    assert deployment["spec"]["template"]["metadata"]["annotations"]["podlife.inputs"] == "abc123"
    args = dict(a.split("=", 1) for a in container["args"] if "=" in a)
    assert args["--provisioner-name"] == kinds["StorageClass"]["provisioner"]
    assert args["--provisioner-name"] in storage.NODE_LOCAL_PROVISIONERS
    assert kinds["StorageClass"]["metadata"]["name"] == storage.OURS
    assert kinds["StorageClass"]["volumeBindingMode"] == "WaitForFirstConsumer"
    helper = yaml.safe_load(kinds["ConfigMap"]["data"]["helperPod.yaml"])
    assert helper["spec"]["containers"][0]["image"] == "podlife/debian:bookworm"
    assert all(d["metadata"].get("namespace", storage.NAMESPACE) == storage.NAMESPACE for d in docs)


# ---------------------------------------------------------------- manifests of the fixes
def test_separated_manifests_describe_the_fixed_architecture() -> None:
    docs = pods.load(MANIFESTS / "separated" / "db.yml", {}) + pods.load(
        MANIFESTS / "separated" / "web.yml", {}
    )
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
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


@pytest.mark.parametrize("path", [FIX, EMPTYDIR])
def test_ladder_names_the_class_and_drops_host_ports(path: Path) -> None:
    docs = prepared(pods.load(path, {}), "node-local")
    pod = pods.pod_doc(docs)
    assert not [p for c in pods.containers_of(pod) for p in c.get("ports", []) if "hostPort" in p]
    assert all(
        d["spec"]["storageClassName"] == "node-local" for d in docs if d["kind"] == "PersistentVolumeClaim"
    )
    moved = pinned(pod, "node-a", "NotIn")
    term = moved["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"][0] == {
        "key": "kubernetes.io/hostname",
        "operator": "NotIn",
        "values": ["node-a"],
    }
    assert "affinity" not in pod["spec"]  # the row's own documents are left as they were


def test_ladder_cell_names_the_schedulers_volume_refusal() -> None:
    message = (
        "0/3 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity, "
        "1 node(s) had untolerated taint(s). preemption: 0/3 nodes are available"
    )
    cell = {"lines_found": 3, "lines_written": 3, "scheduling": f"Pending: {message}"}
    cell |= {"node_before": "a", "returned_to": "a", "node_after": "a"}
    assert describe_cell(cell) == (
        "pod stays Pending (1 node(s) didn't match PersistentVolume's node affinity); "
        "recreated back on a: data kept"
    )
    moved = {"lines_found": 0, "lines_written": 3, "node_before": "a", "node_after": "b"}
    assert describe_cell(moved) == "lost (moved a → b)"
