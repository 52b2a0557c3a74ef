"""The profile's pages, written from the typed profiles: ``profile.html`` is HTML (no Markdown in it,
every text escaped), its overview comes first with one row per workload, then the departures and
one section per workload with its picture; ``profile.md`` says the same in Markdown."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from podlife.profiled import Departure, Profile
from podlife.report import Meta, profile_files, profile_md, profile_page
from tests.test_profile_typed import reference_profiles

META = Meta(cluster="kind <3 nodes>", started="2026-12-06T07:52:00+00:00", duration_s=185.1)


class Page(HTMLParser):
    """The page's text (what a person reads), its tables' rows, headings and section ids in order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.order: list[tuple[str, str]] = []  # (tag, id or text) of h1, h2, table, section
        self.rows: dict[int, list[list[str]]] = {}
        self.tag = ""
        self.cells: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        if tag == "table":
            self.order.append(("table", str(dict(attrs).get("class"))))
            self.rows[len(self.order) - 1] = []
        elif tag == "section":
            self.order.append(("section", str(dict(attrs).get("id"))))
        elif tag == "tr":
            self.cells = []
        elif tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            table = max(i for i, (t, _) in enumerate(self.order) if t == "table")
            self.rows[table].append(self.cells)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.tag in ("h1", "h2"):
            self.order.append((self.tag, data))
        if self.cells:
            self.cells[-1] += data


@pytest.fixture(scope="module")
def profiles() -> list[Profile]:
    return sorted(reference_profiles(), key=lambda p: p.workload)


def test_the_page_has_no_markdown_in_it(profiles: list[Profile]) -> None:
    page = profile_page.render(profiles, META)
    read = "".join(Page(page).text)
    assert "`" not in page and "**" not in page
    assert not [line for line in read.splitlines() + page.splitlines() if line.lstrip().startswith("- ")]
    assert "<code>Deployment/cache</code>" in page and "<code>scratch</code>" in page
    assert '<ul class="reasons"><li><code>rolling_update</code>: not applicable' in page
    assert "| " not in read and "---" not in read  # no Markdown table either


def test_the_overview_comes_first_with_one_row_per_workload(profiles: list[Profile]) -> None:
    seen = Page(profile_page.render(profiles, META))
    tables = [i for i, (tag, _) in enumerate(seen.order) if tag == "table"]
    first = tables[0]
    assert seen.order[first - 1] == ("h2", "Overview") and "overview" in seen.order[first][1]
    assert all(tag != "section" for tag, _ in seen.order[:first])  # before every workload's section
    head, *rows = seen.rows[first]
    assert head[:3] == ["workload", "departures", "findings"] and len(head) == 7
    assert [r[0] for r in rows] == [p.workload for p in profiles]
    store = next(r for r in rows if r[0] == "StatefulSet/store")
    assert store[1] == "1" and store[2] == "0" and store[3] == "each container alone (1 of 1)"
    assert next(r for r in rows if r[0] == "Deployment/web-exits")[1:3] == ["0", "1"]
    surge = {r[0]: r[6] for r in rows}
    assert surge["Deployment/web-no-surge"] == "23 of 412 requests failed"
    assert surge["Pod/pair"] == "not applicable"
    sections = [name for tag, name in seen.order if tag == "section"]
    assert len(sections) == len(profiles) and seen.order.index(("section", sections[0])) > first


def test_every_text_is_escaped(profiles: list[Profile]) -> None:
    sly = replace(
        profiles[0],
        workload="Pod/<b>x</b>",
        departures=[Departure("<script>alert(1)</script>", "a & b (https://kubernetes.io/x)", '"y"')],
    )
    page = profile_page.render([sly], META)
    assert "<script>" not in page and "<b>x</b>" not in page and '"y"' not in page
    assert "&lt;script&gt;" in page and "kind &lt;3 nodes&gt;" in page and "&quot;y&quot;" in page
    assert '<a href="https://kubernetes.io/x">kubernetes.io/x</a>' in page  # the promise's source, linked


def test_each_workload_has_its_picture_and_its_reasons(profiles: list[Profile]) -> None:
    page = profile_page.render(profiles, META)
    assert page.count("data:image/png;base64,") == len(profiles)
    sections = re.findall(r"<section .*?</section>", page, flags=re.S)
    pair = next(s for s in sections if "<code>Pod/pair</code>" in s)
    assert "<h3>Containers</h3>" in pair and "killed at grace" in pair
    assert "<code>ignores-term</code>" in pair and "exit" in pair


def test_the_markdown_says_the_same_first_the_overview(profiles: list[Profile], tmp_path: Path) -> None:
    text = profile_md.render(profiles, META)
    assert text.index("## Overview") < text.index("## Departures") < text.index("## `Deployment/cache`")
    overview = text[text.index("## Overview") : text.index("## Departures")]
    assert len([line for line in overview.splitlines() if line.startswith("| `")]) == len(profiles)
    assert "- `rolling_update`: not applicable" in text
    profile_files.write(profiles, tmp_path, META)
    assert (tmp_path / "profile.md").read_text() == text


def test_a_finding_is_the_workloads_part_with_its_mechanism_and_the_remedy_beside_it(
    profiles: list[Profile],
) -> None:
    seen = Page(profile_page.render(profiles, META))
    titles = [name for tag, name in seen.order if tag == "h2"]
    assert (
        titles.index("Findings: the workload's part")
        == titles.index("Departures from what Kubernetes documents") + 1
    )
    table = next(
        rows
        for rows in seen.rows.values()
        if rows[0][:2] == ["workload", "observation"] and "mechanism" in rows[0]
    )
    (row,) = table[1:]
    assert row[0] == "Deployment/web-exits" and row[1] == "rolling update: requests lost"
    assert "2 of 412 request(s) failed while Kubernetes kept at least 2 pod(s) Ready" in row[2]
    assert "pod web-exits-a: deleted at 12.10 s; requests failed from 0.10 s after the deletion" in row[3]
    assert "preStop" in row[4]
    written = profile_md.render(profiles, META)
    assert (
        "## Findings: the workload's part" in written
        and "web-exits-b" not in written.split("## Findings")[1].split("\n## ")[0]
    )
