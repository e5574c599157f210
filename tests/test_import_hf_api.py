"""The hf-api importer: Hugging Face's /api/daily_papers (and /api/papers/<id>) JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_builder.cli import main
from site_builder.content import load_content
from site_builder.errors import ContentError
from site_builder.frontmatter import read_front_matter
from site_builder.importers import ImportOptions, detect_format, import_sources, parse_sources
from tests.trees import snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"
DAILY = FIXTURES / "hf_api_daily.json"
PAPER = FIXTURES / "hf_api_paper.json"
LISTED = dt.date(2025, 11, 11)


def parse(path: Path, **options):
    return parse_sources([str(path)], ImportOptions(**options)).papers


def by_id(papers, paper_id: str):
    [paper] = [p for p in papers if p.id == paper_id]
    return paper



def test_detected_as_hf_api() -> None:
    for path in (DAILY, PAPER):
        assert detect_format(path.read_text("utf-8"), path.name) == "hf-api"
    assert detect_format("[]", "empty.json") == "hf-api"  # a day without papers
    compact = json.dumps(json.loads(DAILY.read_text("utf-8"))[0])
    assert detect_format(compact, "item.json") == "hf-api"  # one item on one line


def test_full_item_field_mapping() -> None:
    paper = by_id(parse(DAILY), "2511.07301")
    assert paper.title == "Sparse Routing Makes Long-Context Models Cheaper"
    assert paper.abstract == (
        "Long-context language models spend most of their compute on attention over tokens "
        "that barely matter. We introduce a sparse router that selects, per head, the $k$ most "
        "relevant blocks, cutting prefill cost by 3.1x at 128K tokens with no loss on RULER. "
        "Code and checkpoints are released.")
    assert paper.arxiv == "https://arxiv.org/abs/2511.07301"
    assert paper.pdf == "https://arxiv.org/pdf/2511.07301"
    # the hidden author is left out; names are normalised ("Jonas  Weber")
    assert paper.authors == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert paper.published == dt.date(2025, 11, 10)  # paper.publishedAt
    assert paper.listed == LISTED  # the item's publishedAt (entered Daily Papers)
    assert paper.upvotes == 87
    assert paper.code == "https://github.com/example-lab/sparse-router"
    assert paper.github_stars == 412
    assert paper.project_page == "https://example-lab.github.io/sparse-router/"
    assert paper.ai_summary.startswith("A per-head sparse router")
    assert paper.ai_keywords == ["sparse attention", "long context", "router", "prefill",
                                 "RULER"]
    assert paper.organization == {"name": "example-lab", "fullname": "Example Lab"}
    assert paper.thumbnail == ("https://cdn-thumbnails.huggingface.co/social-thumbnails/"
                               "papers/2511.07301.png")
    assert paper.withdrawn is None


def test_missing_and_null_optional_fields_are_fine() -> None:
    paper = by_id(parse(DAILY), "2511.06420")
    assert paper.authors == ["Lucía Fernández"]
    assert paper.upvotes == 0
    assert (paper.code, paper.project_page, paper.thumbnail, paper.ai_summary) == ("",) * 4
    assert paper.github_stars is None and paper.organization is None
    assert paper.ai_keywords == []


def test_withdrawn_paper() -> None:
    paper = by_id(parse(DAILY), "2511.05012")
    assert paper.withdrawn == dt.date(2025, 11, 12)
    assert paper.upvotes == 12


def test_html_looking_title_is_kept_as_text_and_unsafe_links_dropped(tmp_path: Path) -> None:
    paper = by_id(parse(DAILY), "2511.04999")
    title = ('<script>alert(1)</script> Is All You Need? Escaping <b>Tags</b> & "Quotes" '
             'in Titles')
    assert paper.title == title
    assert paper.abstract == "We show that <img src=x onerror=alert(1)> and 5 < 6 > 4 survive " \
                             "as text."
    assert paper.code == ""  # javascript: URL dropped
    assert paper.project_page == ""  # ftp: dropped
    assert paper.thumbnail == ""
    assert paper.upvotes == 5  # the API types counts as numbers: 5.0 is 5
    content = tmp_path / "content"
    import_sources([str(DAILY)], ImportOptions(content_dir=content))
    doc = read_front_matter(content / "days" / "2025-11-11" / "2511.04999.md")
    assert doc.meta["title"] == title  # YAML quoting round-trips it
    assert "code" not in doc.meta and "thumbnail" not in doc.meta
    assert "javascript" not in (content / "days" / "2025-11-11" / "2511.04999.md").read_text()


def test_written_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    summary = import_sources([str(DAILY)], ImportOptions(content_dir=content))
    assert summary.count("added") == 4
    assert summary.days_touched == ["2025-11-11"]
    text = (content / "days" / "2025-11-11" / "2511.07301.md").read_text("utf-8")
    assert text == """---
id: '2511.07301'
title: Sparse Routing Makes Long-Context Models Cheaper
authors:
- Mei Tanaka
- Jonas Weber
- Priya Raman
organization:
  name: example-lab
  fullname: Example Lab
published: 2025-11-10
upvotes: 87
arxiv: https://arxiv.org/abs/2511.07301
pdf: https://arxiv.org/pdf/2511.07301
code: https://github.com/example-lab/sparse-router
project_page: https://example-lab.github.io/sparse-router/
github_stars: 412
thumbnail: https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2511.07301.png
ai_summary: A per-head sparse router cuts long-context prefill cost threefold without accuracy loss.
ai_keywords:
- sparse attention
- long context
- router
- prefill
- RULER
---

Long-context language models spend most of their compute on attention over tokens that barely \
matter. We introduce a sparse router that selects, per head, the $k$ most relevant blocks, \
cutting prefill cost by 3.1x at 128K tokens with no loss on RULER. Code and checkpoints are \
released.
"""
    withdrawn = read_front_matter(content / "days" / "2025-11-11" / "2511.05012.md")
    assert withdrawn.meta["withdrawn"] == dt.date(2025, 11, 12)
    assert len(load_content(content).papers) == 4


def test_date_option_overrides_the_listing_day() -> None:
    papers = parse(DAILY)
    assert {p.listed for p in papers} == {LISTED}
    summary = import_sources([str(DAILY)], ImportOptions(content_dir=Path("unused"),
                                                         date=dt.date(2025, 11, 13),
                                                         dry_run=True))
    assert summary.days_touched == ["2025-11-13"]


def test_listing_day_is_the_utc_day(tmp_path: Path) -> None:
    items = json.loads(DAILY.read_text("utf-8"))[:1]
    items[0]["publishedAt"] = "2025-11-11T23:30:00-05:00"  # 04:30 UTC the next day
    source = tmp_path / "late.json"
    source.write_text(json.dumps(items), "utf-8")
    assert parse(source)[0].listed == dt.date(2025, 11, 12)


def test_a_single_paper_object(tmp_path: Path) -> None:
    [paper] = parse(PAPER)
    assert paper.id == "2511.07301"
    assert paper.listed == LISTED  # submittedOnDailyAt: no item around it
    assert paper.authors == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert (paper.upvotes, paper.github_stars) == (131, 655)
    bare = json.loads(PAPER.read_text("utf-8"))
    del bare["submittedOnDailyAt"]
    source = tmp_path / "paper.json"
    source.write_text(json.dumps(bare), "utf-8")
    with pytest.raises(ContentError) as caught:
        import_sources([str(source)], ImportOptions(content_dir=tmp_path / "content"))
    assert "--date" in str(caught.value)
    summary = import_sources([str(source)], ImportOptions(content_dir=tmp_path / "content",
                                                          date=LISTED))
    assert summary.count("added") == 1


def test_a_single_item(tmp_path: Path) -> None:
    item = json.loads(DAILY.read_text("utf-8"))[2]
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item, indent=2), "utf-8")
    [paper] = parse(source)
    assert paper.id == "2511.05012" and paper.listed == LISTED


def test_items_saved_one_per_line(tmp_path: Path) -> None:
    items = json.loads(DAILY.read_text("utf-8"))
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in items), "utf-8")
    assert detect_format(source.read_text("utf-8"), source.name) == "hf-api"
    assert [p.id for p in parse(source)] == ["2511.07301", "2511.06420", "2511.05012",
                                             "2511.04999"]
    source.write_text(json.dumps(items[0]) + "\n" + json.dumps(items[1])[:-1] + "\n", "utf-8")
    with pytest.raises(ContentError) as caught:
        parse(source)
    [problem] = caught.value.problems
    assert problem.line == 2 and "invalid JSON at line 2" in problem.message


def test_an_empty_day_imports_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    source = tmp_path / "empty.json"
    source.write_text("[]\n", "utf-8")
    assert main(["import", str(source), "--content", str(tmp_path / "content")]) == 0
    assert "0 added" in capsys.readouterr().out
    assert not (tmp_path / "content").exists()


def test_non_arxiv_paper_id_is_kept_as_slug(tmp_path: Path) -> None:
    items = json.loads(DAILY.read_text("utf-8"))[:1]
    items[0]["paper"]["id"] = "Some Paper"
    source = tmp_path / "odd.json"
    source.write_text(json.dumps(items), "utf-8")
    [paper] = parse(source)
    assert paper.arxiv == "" and paper.pdf == ""
    import_sources([str(source)], ImportOptions(content_dir=tmp_path / "content"))
    assert (tmp_path / "content" / "days" / "2025-11-11" / "some-paper.md").is_file()


@pytest.mark.parametrize(("text", "expected"), [
    (lambda t: t[: len(t) // 2], "invalid JSON at line"),  # truncated download
    (lambda t: "[" + t, "invalid JSON at line"),
    (lambda t: '{"error": "Invalid date"}', "the API answered with an error: Invalid date"),
    (lambda t: '"just a string"', "expected a JSON array"),
])
def test_broken_input_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       text, expected: str) -> None:
    source = tmp_path / "broken.json"
    source.write_text(text(DAILY.read_text("utf-8")), "utf-8")
    content = tmp_path / "content"
    assert main(["import", str(source), "--content", str(content), "--format", "hf-api"]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "broken.json" in err
    assert "Traceback" not in err
    assert not content.exists()


def test_truncated_json_names_line_and_column(tmp_path: Path) -> None:
    text = DAILY.read_text("utf-8")
    source = tmp_path / "cut.json"
    source.write_text(text[:2000], "utf-8")
    with pytest.raises(ContentError) as caught:
        parse_sources([str(source)], ImportOptions())  # detected as hf-api from its start
    [problem] = caught.value.problems
    assert problem.line == text[:2000].count("\n") + 1
    assert "column" in problem.message


def test_a_paper_without_title_names_the_item(tmp_path: Path) -> None:
    items = json.loads(DAILY.read_text("utf-8"))
    items[2]["paper"]["title"] = "  "
    del items[2]["title"]
    items[3]["paper"] = "not an object"
    source = tmp_path / "notitle.json"
    source.write_text(json.dumps(items), "utf-8")
    with pytest.raises(ContentError) as caught:
        parse_sources([str(source)], ImportOptions())
    messages = [p.message for p in caught.value.problems]
    assert messages == ["item 3: paper without a title", "item 4: 'paper' must be an object"]


def test_reimport_is_idempotent_and_popularity_is_refreshed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_sources([str(DAILY)], ImportOptions(content_dir=content))
    before = snapshot(content)
    again = import_sources([str(DAILY)], ImportOptions(content_dir=content))
    assert snapshot(content) == before
    assert again.count("unchanged") == 4 and again.days_touched == []
    # a day later the same paper has more upvotes and stars: only those change
    later = import_sources([str(PAPER)], ImportOptions(content_dir=content))
    assert [c.status for c in later.changes] == ["merged"]
    meta = read_front_matter(content / "days" / "2025-11-11" / "2511.07301.md").meta
    assert (meta["upvotes"], meta["github_stars"]) == (131, 655)
    assert meta["organization"] == {"name": "example-lab", "fullname": "Example Lab"}  # kept
    assert meta["project_page"] == "https://example-lab.github.io/sparse-router/"  # kept
    changed = {k for k in before if before[k] != snapshot(content).get(k)}
    assert changed == {"days/2025-11-11/2511.07301.md"}
