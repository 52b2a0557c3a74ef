"""Every picture tells the same story as its evidence (issue: the update chart counted failures from
before the update), and no report names an absolute path of the machine it ran on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podlife import report
from podlife.claims import LEARNINGS, Result, Verdict
from podlife.kube import traffic
from podlife.kube.pod.traffic import Sample
from podlife.pictures import LadderTable, RequestSeries, StartupRun, StartupTimeline, Step, StepsTable
from podlife.report import __main__ as cli
from podlife.report import agree, page

META = report.Meta(cluster="c", started="2026-12-04T00:00:00+00:00", duration_s=1.0)


def samples(*spec: tuple[float, bool]) -> list[Sample]:
    return [Sample(at, 0.01, ok, "200" if ok else "connection refused") for at, ok in spec]


# failing while the loop's pod cannot reach the subject yet, then answered, then an update's failures
LOOP = samples(
    (0.1, False),
    (0.3, False),
    (0.9, False),
    (1.2, True),
    (1.4, True),
    (2.1, False),
    (2.2, False),
    (3.5, True),
)


def result(picture: object, evidence: dict) -> Result:
    return Result("update-needs-downtime", LEARNINGS, "s", Verdict.CONFIRMED, evidence, picture=picture)  # type: ignore[arg-type]


def test_the_chart_counts_what_the_evidence_counts_and_shows_the_baseline_apart() -> None:
    measured = traffic.measured(LOOP)
    series = traffic.series(LOOP, {"update": 2.0})
    assert (measured["requests"], measured["failed"]) == series.counted() == (5, 2)
    assert measured["baseline"] == {
        "requests": 3,
        "failed": 3,
        "errors": {"connection refused": 3},
        "until_s": 1.2,
    }
    assert series.baseline() == (3, 3)
    assert series.failed == [0, 0, 2, 0] and series.baseline_failed == [3, 0, 0, 0]  # bin 1 holds both phases
    assert page.title(series) == "2 of 5 requests failed (baseline before: 3 of 3)"
    agree.check([result(series, measured)])


def test_a_loop_that_never_got_an_answer_counts_nothing_and_says_so() -> None:
    failing = samples((0.1, False), (0.5, False))
    measured = traffic.measured(failing)
    assert (measured["requests"], measured["failed"]) == (0, 0) and measured["baseline"]["until_s"] is None
    agree.check([result(traffic.series(failing, {}), measured)])


@pytest.mark.parametrize(
    ("picture", "evidence", "says"),
    [
        # the chart of issue 22: 136 of 263 drawn beside 83 of 210 in the evidence
        (
            RequestSeries(1.0, [127], [136], {}),
            {"requests": 210, "failed": 83},
            "the chart counts 136 of 263",
        ),
        (
            RequestSeries(1.0, [5], [0], {}, [0], [2]),
            {"requests": 5, "failed": 0, "baseline": {"requests": 3, "failed": 3}},
            "baseline",
        ),
        (StartupTimeline([StartupRun(1, 1, 2, None)]), {"runs": 10}, "1 runs, the evidence 10"),
        (
            LadderTable({"emptyDir": {"recreated": "lost"}}),
            {"ladder": {"emptyDir": {"recreated": "kept"}}},
            "table",
        ),
        (StepsTable([Step("db-0 deleted", 3, True, 1.0)]), {"steps": []}, "steps"),
    ],
)
def test_a_picture_that_disagrees_with_its_evidence_fails(picture: object, evidence: dict, says: str) -> None:
    with pytest.raises(agree.Disagreement, match=says):
        agree.check([result(picture, evidence)])


def test_the_reports_are_written_and_then_the_disagreement_fails_them(tmp_path: Path) -> None:
    bad = result(RequestSeries(1.0, [1], [1], {}), {"requests": 1, "failed": 0})
    with pytest.raises(agree.Disagreement):
        report.write([bad], tmp_path, META, root=tmp_path)
    assert (tmp_path / "claims.json").exists()  # a person can still look at what disagreed
    assert cli.main([str(tmp_path / "claims.json")]) == 1


def test_saved_reports_are_checked_from_the_command_line(tmp_path: Path) -> None:
    good = result(traffic.series(LOOP, {}), traffic.measured(LOOP))
    report.write([good], tmp_path, META, root=tmp_path)
    assert cli.main([str(tmp_path / "claims.json")]) == 0


def test_no_report_names_an_absolute_path_of_this_machine(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    manifest = root / "manifests" / "webpod.yml"
    r = Result("ready-2-of-2", LEARNINGS, "s", Verdict.CONFIRMED, {}, manifest=str(manifest))
    reports = tmp_path / "reports"
    report.write([r], reports, META, root=root)
    for name in ("claims.json", "claims.md", "claims.html"):
        text = (reports / name).read_text()
        assert str(tmp_path) not in text, name
    assert (
        json.loads((reports / "claims.json").read_text())["claims"][0]["manifest"] == "manifests/webpod.yml"
    )


def test_a_failed_request_says_why_the_connection_failed() -> None:
    import urllib.error

    from podlife.kube import inpod

    assert (
        inpod._why(urllib.error.URLError(ConnectionRefusedError(111, "refused"))) == "URLError: ECONNREFUSED"
    )
    assert inpod._why(urllib.error.URLError(OSError(113, "no route"))) == "URLError: EHOSTUNREACH"
    assert inpod._why(urllib.error.URLError(TimeoutError())) == "URLError: TimeoutError"
    assert inpod._why(ValueError("bad url")) == "ValueError"


def test_the_job_summary_gets_the_table_on_github_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = result(traffic.series(LOOP, {}), traffic.measured(LOOP))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    report.write([good], tmp_path / "a", META, root=tmp_path)
    assert not list(tmp_path.glob("summary*"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    report.write([good], tmp_path / "b", META, root=tmp_path)
    assert (tmp_path / "summary.md").read_text() == (tmp_path / "b" / "claims.md").read_text() + "\n"


def test_a_pods_stop_is_drawn_from_its_evidence_and_a_changed_end_disagrees() -> None:
    from podlife.pictures import ContainerEnd, StopTimeline, from_dict, to_dict

    evidence = {
        "grace_s": 10,
        "ends": {"web": {"seconds": 0.0, "exit_code": 0}, "clock": {"seconds": 12.0, "exit_code": 137}},
        "clock_sigterm_after_s": 10.1,
    }
    drawn = StopTimeline(
        10, [ContainerEnd("web", 0.0, 0), ContainerEnd("clock", 12.0, 137)], {"clock_sigterm_after_s": 10.1}
    )
    assert agree.disagreements(drawn, evidence) == [] and from_dict(to_dict(drawn)) == drawn
    assert page.stop_chart(drawn).startswith("<img")
    moved = StopTimeline(10, [ContainerEnd("web", 0.0, 0), ContainerEnd("clock", 11.0, 137)], {})
    assert any("clock drawn ending at 11.0 s" in d for d in agree.disagreements(moved, evidence))
    late = StopTimeline(10, [], {"clock_sigterm_after_s": 2.0})
    assert any("clock_sigterm_after_s drawn at 2.0 s" in d for d in agree.disagreements(late, evidence))
