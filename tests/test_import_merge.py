"""Merging the same paper from several sources, idempotency, and all-or-nothing imports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_builder.cli import main
from site_builder.content import load_content
from site_builder.errors import ContentError
from site_builder.frontmatter import read_front_matter
from site_builder.importers import ImportOptions, import_sources
from tests.trees import snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"
PAGE = FIXTURES / "hf_page_copy.txt"
DAILY = FIXTURES / "hf_api_daily.json"
PAPER = FIXTURES / "hf_api_paper.json"
ATOM = FIXTURES / "arxiv_query.xml"
RSS = FIXTURES / "arxiv_rss.xml"
JSONL = FIXTURES / "papers.jsonl"
TODAY = dt.date(2025, 11, 20)
SPARSE_SLUG = "sparse-routing-makes-long-context-models-cheaper"


def run(content: Path, *sources: Path | str, **options):
    return import_sources([str(s) for s in sources],
                          ImportOptions(content_dir=content, today=TODAY, **options))



def papers(content: Path) -> dict[str, Path]:
    """Paper files by 'day/id'."""
    days = content / "days"
    return {f"{p.parent.name}/{p.stem}": p for p in sorted(days.rglob("*.md"))
            if p.name != "index.md"}


def meta(path: Path) -> dict:
    return read_front_matter(path).meta


def test_page_copy_then_api_merges_into_one_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    first = run(content, PAGE)
    assert first.count("added") == 3
    page_file = content / "days" / "2025-11-11" / f"{SPARSE_SLUG}.md"
    assert meta(page_file)["author_count"] == 4 and meta(page_file)["upvotes"] == 54
    second = run(content, DAILY)
    assert [c.status for c in second.changes] == ["merged", "merged", "added", "added"]
    files = papers(content)
    assert sorted(files) == [
        "2025-11-11/2511.04999", "2025-11-11/2511.05012",
        "2025-11-11/a-minimal-benchmark-for-tabular-reasoning",
        "2025-11-11/grounded-captions-at-scale", f"2025-11-11/{SPARSE_SLUG}"]
    merged = meta(page_file)
    # the file keeps its name (its URL and feed id stay stable); the API's fields fill it in
    assert merged["id"] == SPARSE_SLUG
    assert merged["arxiv"] == "https://arxiv.org/abs/2511.07301"
    assert merged["authors"] == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert "author_count" not in merged  # the names replace the count
    assert merged["upvotes"] == 87  # refreshed from the newer source
    assert merged["github_stars"] == 412
    assert merged["published"] == dt.date(2025, 11, 10)
    tabular = meta(files["2025-11-11/a-minimal-benchmark-for-tabular-reasoning"])
    assert tabular["organization"] == {"name": "example-lab", "fullname": "Example Lab"}  # kept
    assert tabular["authors"] == ["Lucía Fernández"]
    assert tabular["published"] == dt.date(2025, 11, 9)
    # and now every later source finds it by arXiv id
    third = run(content, ATOM, RSS, PAPER)
    assert len(papers(content)) == 7  # + hep-th_9901001 and the cross-listed RSS paper
    assert {c.paper_id for c in third.changes if "2511.07301" in c.origin or
            c.paper_id == SPARSE_SLUG} == {SPARSE_SLUG}
    assert len(load_content(content).papers) == 7


def test_api_then_page_copy_merges_too(tmp_path: Path) -> None:
    content = tmp_path / "content"
    run(content, DAILY)
    summary = run(content, PAGE)
    assert [c.status for c in summary.changes] == ["merged", "merged", "added"]
    files = papers(content)
    assert "2025-11-11/2511.07301" in files and len(files) == 5
    sparse = meta(files["2025-11-11/2511.07301"])
    assert sparse["upvotes"] == 54  # the page was imported last: its count wins
    assert sparse["authors"] == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert "author_count" not in sparse  # a count never replaces names


def test_earliest_listing_day_wins_and_missing_fields_are_kept(tmp_path: Path) -> None:
    content = tmp_path / "content"
    run(content, DAILY)  # listed 2025-11-11
    run(content, RSS)  # announced 2025-11-12: the paper stays on the 11th
    files = papers(content)
    assert "2025-11-11/2511.07301" in files and "2025-11-12/2511.07301" not in files
    sparse = meta(files["2025-11-11/2511.07301"])
    assert sparse["categories"] == ["cs.CL", "cs.LG"]  # new from the RSS
    assert sparse["upvotes"] == 87 and sparse["github_stars"] == 412  # RSS has none: kept
    assert sparse["project_page"] == "https://example-lab.github.io/sparse-router/"
    summary = run(content, ATOM, date=dt.date(2025, 11, 10))  # an earlier day: it moves
    files = papers(content)
    assert "2025-11-10/2511.07301" in files and "2025-11-11/2511.07301" not in files
    assert summary.days_touched == ["2025-11-10", "2025-11-11"]
    sparse = meta(files["2025-11-10/2511.07301"])
    assert sparse["doi"] == "10.48550/arXiv.2511.07301"
    assert sparse["pdf"] == "https://arxiv.org/pdf/2511.07301"  # the first source's kept


def test_topics_are_united(tmp_path: Path) -> None:
    content = tmp_path / "content"
    run(content, DAILY, topics=("reading-list",))
    run(content, JSONL)  # 2511.07301 with topics: [long-context]
    run(content, DAILY, topics=("reading-list", "favourites"))
    sparse = meta(papers(content)["2025-11-11/2511.07301"])
    assert sparse["topics"] == ["reading-list", "long-context", "favourites"]
    assert sparse["upvotes"] == 87  # the API was imported last
    assert {p.stem for p in (content / "topics").glob("*.md")} == {
        "reading-list", "long-context", "evaluation", "favourites"}
    assert len(load_content(content).papers) == 6


def test_same_title_with_different_arxiv_ids_stays_two_papers(tmp_path: Path) -> None:
    content = tmp_path / "content"
    run(content, DAILY)
    twin = tmp_path / "twin.jsonl"
    twin.write_text(json.dumps({"id": "2401.00001", "title": "A Minimal Benchmark for Tabular "
                                "Reasoning", "listed": "2025-11-11"}) + "\n", "utf-8")
    summary = run(content, twin)
    assert [c.status for c in summary.changes] == ["added"]
    assert "2025-11-11/2401.00001" in papers(content)


def test_reimporting_every_source_is_byte_identical(tmp_path: Path) -> None:
    content = tmp_path / "content"
    sources = (PAGE, DAILY, PAPER, ATOM, RSS, JSONL)
    run(content, *sources, include_replacements=True)
    before = snapshot(content)
    again = run(content, *sources, include_replacements=True)
    assert snapshot(content) == before
    assert again.count("added") == 0 and again.count("merged") == 0
    assert again.days_touched == []
    # and one at a time, in order
    for source in sources:
        run(content, source, include_replacements=True)
    assert snapshot(content) == before


def test_files_the_import_does_not_change_are_left_alone(tmp_path: Path) -> None:
    content = tmp_path / "content"
    day = content / "days" / "2025-11-11"
    day.mkdir(parents=True)
    hand = ("---\n# written by hand\ntitle: \"A Hand-Written Note\"\nupvotes: 3\n---\n\n"
            "Body.\n")
    (day / "hand-written.md").write_text(hand, "utf-8")
    # the same paper the API brings, written by hand with its own formatting
    same = ("---\ntitle:   Self-Correcting Agents Through Tool Feedback\nid: '2511.05012'\n"
            "authors: [Tomás Silva, Ana Costa]\npublished: 2025-11-07\nupvotes: 12\n"
            "arxiv: https://arxiv.org/abs/2511.05012\npdf: https://arxiv.org/pdf/2511.05012\n"
            "thumbnail: https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/"
            "2511.05012.png\nwithdrawn: 2025-11-12\n---\n\nThis paper has been withdrawn by the "
            "authors due to an error in Section 4.\n")
    (day / "2511.05012.md").write_text(same, "utf-8")
    summary = run(content, DAILY)
    assert (day / "hand-written.md").read_text("utf-8") == hand
    assert (day / "2511.05012.md").read_text("utf-8") == same
    assert {c.paper_id: c.status for c in summary.changes}["2511.05012"] == "unchanged"


def test_an_existing_broken_content_file_stops_the_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    run(content, JSONL)
    broken = content / "days" / "2025-11-12" / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n", "utf-8")
    before = snapshot(content)
    assert main(["import", str(DAILY), "--content", str(content)]) == 1
    err = capsys.readouterr().err
    assert "broken.md" in err and "invalid YAML" in err
    assert snapshot(content) == before


def test_several_sources_are_one_transaction(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    run(content, JSONL)
    before = snapshot(content)
    no_title = tmp_path / "no-title.jsonl"
    no_title.write_text('{"title": "Fine", "listed": "2025-11-13"}\n'
                        '{"abstract": "where is my title?", "listed": "2025-11-13"}\n', "utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(DAILY.read_text("utf-8")[:3000], "utf-8")
    code = main(["import", str(DAILY), str(ATOM), str(no_title), str(cut), "--content",
                 str(content), "--topic", "new-topic"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no-title.jsonl:2: paper without a title" in err
    assert "cut.json:" in err and "invalid JSON" in err
    assert "2 problems found." in err
    assert snapshot(content) == before  # no paper and no topic file written


def test_bad_topic_option_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(DAILY), "--content", str(tmp_path / "c"), "--topic",
                 "Not A Slug"]) == 1
    assert "'Not A Slug' is not a slug" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_titles_that_would_be_reserved_names_get_a_usable_id(tmp_path: Path) -> None:
    content = tmp_path / "content"
    source = tmp_path / "odd.jsonl"
    source.write_text("".join(json.dumps({"title": t, "listed": "2025-11-11"}) + "\n"
                              for t in ("Index", "Feed", "CON", "日本語の論文", "???")), "utf-8")
    run(content, source)
    assert sorted(p.split("/")[1] for p in papers(content)) == [
        "con-paper", "feed-paper", "index-paper", "paper", "ribenyunolunwen"]
    assert len(load_content(content).papers) == 5


def test_json_summary_lists_every_paper(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    content = tmp_path / "content"
    assert main(["import", str(RSS), str(DAILY), "--content", str(content), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["merged"], report["unchanged"]) == (5, 1, 0)
    assert [s["source"].rsplit(" ", 1)[1] for s in report["skipped"]] == [
        "2409.01234", "2410.05678"]
    assert report["days_touched"] == ["2025-11-11", "2025-11-12"]
    assert {p["id"]: p["day"] for p in report["papers"]}["2511.07301"] == "2025-11-11"


def test_control_characters_are_removed(tmp_path: Path) -> None:
    content = tmp_path / "content"
    source = tmp_path / "ctl.jsonl"
    source.write_text(json.dumps({"title": "Bell\u0007 and\u0000 Null", "listed": "2025-11-11",
                                  "abstract": "Line one\u001b[31m.\n\nLine\ttwo.",
                                  "authors": ["Ada\u0008 Lovelace"]}) + "\n"
                      + json.dumps({"title": "\u0000", "listed": "2025-11-11"}) + "\n", "utf-8")
    with pytest.raises(ContentError) as caught:  # a title of control characters only
        run(content, source)
    assert [p.message for p in caught.value.problems] == ["paper without a title"]
    source.write_text(source.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    run(content, source)
    [paper] = load_content(content).papers  # the build's checks accept it
    assert paper.title == "Bell and Null"
    assert paper.abstract == "Line one[31m.\n\nLine\ttwo."
    assert paper.authors == ("Ada Lovelace",)


def test_ids_that_differ_only_in_case_are_one_paper(tmp_path: Path) -> None:
    content = tmp_path / "content"
    source = tmp_path / "ids.jsonl"
    source.write_text(json.dumps({"id": "My-Paper", "title": "First", "listed": "2025-11-11"})
                      + "\n", "utf-8")
    run(content, source)
    source.write_text(json.dumps({"id": "my-paper", "title": "First (again)", "upvotes": 4,
                                  "listed": "2025-11-11"}) + "\n"
                      + json.dumps({"title": "My Paper", "listed": "2025-11-11"}) + "\n",
                      "utf-8")
    summary = run(content, source)
    assert [(c.status, c.paper_id) for c in summary.changes] == [
        ("merged", "My-Paper"), ("added", "my-paper-2")]
    assert len(load_content(content).papers) == 2


def test_organisation_names_keep_one_spelling(tmp_path: Path) -> None:
    content = tmp_path / "content"
    run(content, PAGE)  # "example-lab Example Lab"
    source = tmp_path / "org.jsonl"
    source.write_text(json.dumps({"title": "Another Paper", "listed": "2025-11-12",
                                  "organization": {"name": "Example-Lab",
                                                   "fullname": "Example Lab"}}) + "\n",
                      "utf-8")
    run(content, source)
    meta_ = meta(papers(content)["2025-11-12/another-paper"])
    assert meta_["organization"] == {"name": "example-lab", "fullname": "Example Lab"}
    assert len(load_content(content).papers) == 4
