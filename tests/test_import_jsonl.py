"""The jsonl importer: one paper per line, the front matter keys plus abstract and listed."""

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
JSONL = FIXTURES / "papers.jsonl"


def parse(path: Path, **options):
    return parse_sources([str(path)], ImportOptions(**options)).papers


def write_lines(path: Path, records: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                            for r in records), "utf-8")
    return path



def test_detected_as_jsonl() -> None:
    assert detect_format(JSONL.read_text("utf-8"), "papers.txt") == "jsonl"
    one = '{"title": "A", "abstract": "B", "listed": "2025-01-01"}\n'
    assert detect_format(one, "x") == "jsonl"  # one line, not an API paper object


def test_field_mapping() -> None:
    first, second, third = parse(JSONL)
    assert first.id == "2511.07301"
    assert first.title == "Sparse Routing Makes Long-Context Models Cheaper"
    assert first.abstract == "Long-context language models spend most of their compute on " \
                             "attention."
    assert first.listed == dt.date(2025, 11, 11)
    assert first.authors == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert (first.upvotes, first.github_stars) == (90, 500)
    assert first.topics == ["long-context"]
    assert first.code == "https://github.com/example-lab/sparse-router"
    assert first.origin.endswith("papers.jsonl:1")
    assert second.id == ""
    assert second.abstract == "An abstract with **Markdown** and math $x^2$.\n\n" \
                              "A second paragraph."
    assert second.author_count == 4
    assert second.organization == {"name": "openbmb", "fullname": "OpenBMB"}
    assert second.published == dt.date(2025, 11, 1)
    assert third.origin.endswith("papers.jsonl:4")  # the blank line 3 is skipped
    assert third.id == "custom-slug-1"
    assert third.topics == ["long-context", "evaluation"]
    assert (third.doi, third.categories, third.ai_keywords) == (
        "10.1000/182", ["cs.CL"], ["evaluation"])
    assert third.withdrawn == dt.date(2025, 11, 20)


def test_import_writes_files_and_topics(tmp_path: Path) -> None:
    content = tmp_path / "content"
    summary = import_sources([str(JSONL)], ImportOptions(content_dir=content))
    assert summary.topics_created == ["evaluation", "long-context"]
    assert summary.days_touched == ["2025-11-11", "2025-11-12"]
    days = content / "days"
    assert sorted(str(p.relative_to(days)) for p in days.rglob("*.md")) == [
        "2025-11-11/2511.07301.md", "2025-11-12/custom-slug-1.md",
        "2025-11-12/notes-on-a-paper-without-an-arxiv-id.md"]
    slugged = read_front_matter(days / "2025-11-12" / "notes-on-a-paper-without-an-arxiv-id.md")
    assert slugged.meta["id"] == "notes-on-a-paper-without-an-arxiv-id"
    assert slugged.body == "An abstract with **Markdown** and math $x^2$.\n\nA second paragraph."
    arxiv = read_front_matter(days / "2025-11-11" / "2511.07301.md").meta
    assert arxiv["arxiv"] == "https://arxiv.org/abs/2511.07301"  # filled in from the id
    assert arxiv["pdf"] == "https://arxiv.org/pdf/2511.07301"
    loaded = load_content(content)
    assert len(loaded.papers) == 3 and set(loaded.topics) == {"evaluation", "long-context"}


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_sources([str(JSONL)], ImportOptions(content_dir=content))
    before = snapshot(content)
    again = import_sources([str(JSONL)], ImportOptions(content_dir=content))
    assert snapshot(content) == before
    assert [c.status for c in again.changes] == ["unchanged"] * 3
    assert again.topics_created == []


def test_date_option_overrides_listed(tmp_path: Path) -> None:
    summary = import_sources([str(JSONL)], ImportOptions(content_dir=tmp_path / "c",
                                                         date=dt.date(2025, 12, 1)))
    assert summary.days_touched == ["2025-12-01"]


def test_missing_listed_needs_date(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "p.jsonl", [{"title": "No Day"}])
    with pytest.raises(ContentError) as caught:
        import_sources([str(source)], ImportOptions(content_dir=tmp_path / "c"))
    [problem] = caught.value.problems
    assert problem.path.endswith("p.jsonl:1") and "--date" in problem.message


@pytest.mark.parametrize(("line", "message"), [
    ('{"title": "A", "listed": "2025-01-01"', "invalid JSON at column"),
    ('{"abstract": "no title", "listed": "2025-01-01"}', "paper without a title"),
    ('{"title": "", "listed": "2025-01-01"}', "paper without a title"),
    ('{"title": ["A"], "listed": "2025-01-01"}', "'title' must be text"),
    ('["not", "an", "object"]', "expected a JSON object (one paper), got an array"),
    ('{"title": "A", "listed": "2025-13-01"}', "'listed' must be a date"),
    ('{"title": "A", "listed": "2025-01-01", "upvotes": -1}', "'upvotes' must be a whole"),
    ('{"title": "A", "listed": "2025-01-01", "upvotes": "12"}', "'upvotes' must be a whole"),
    ('{"title": "A", "listed": "2025-01-01", "topics": ["Not A Slug"]}', "is not a slug"),
    ('{"title": "A", "listed": "2025-01-01", "code": "javascript:alert(1)"}',
     "'code' must be an http:// or https:// URL"),
    ('{"title": "A", "listed": "2025-01-01", "id": "../../etc/passwd"}',
     "is not a usable paper id"),
    ('{"title": "A", "listed": "2025-01-01", "upvote": 3}', "unknown key 'upvote'"),
    ('{"title": "A", "listed": "2025-01-01", "organization": {"fullname": "X"}}',
     "'organization' must have a 'name'"),
    ('{"title": "A", "listed": "2025-01-01", "authors": [{"name": "X"}]}',
     "'authors' must be text"),
])
def test_a_bad_line_fails_the_whole_import_with_its_line_number(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str) -> None:
    content = tmp_path / "content"
    import_sources([str(JSONL)], ImportOptions(content_dir=content))
    before = snapshot(content)
    good = {"title": "A Good Paper", "listed": "2025-11-13"}
    source = write_lines(tmp_path / "batch.jsonl", [good, good | {"title": "Another"}, line])
    assert main(["import", str(source), "--content", str(content)]) == 1
    err = capsys.readouterr().err
    assert "batch.jsonl:3: " in err
    assert message in err
    assert "Traceback" not in err
    assert snapshot(content) == before


def test_every_bad_line_is_reported_up_to_a_limit(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "bad.jsonl", ['{"title": ""}'] * 50)
    with pytest.raises(ContentError) as caught:
        parse(source)
    problems = caught.value.problems
    assert len(problems) == 21
    assert any("too many problems" in p.message for p in problems)


def test_jsonl_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(JSONL.read_text("utf-8")))
    assert main(["import", "-", "--content", str(tmp_path / "c")]) == 0
    assert "3 added" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO('{"title": "x"'))
    assert main(["import", "-", "--content", str(tmp_path / "c")]) == 1
    assert "<stdin>:1: invalid JSON" in capsys.readouterr().err


def test_numbers_as_ids_and_bare_organisation_names(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "p.jsonl", [
        {"id": 2401.12345, "title": "Float Id", "listed": "2025-01-01",
         "organization": "openbmb"},
    ])
    [paper] = parse(source)
    assert paper.id == "2401.12345"
    assert paper.organization == {"name": "openbmb"}


def test_the_corpus_scale_is_handled(tmp_path: Path) -> None:
    """Not a timing test (see benchmarks/import_jsonl.py): 2,000 papers over 50 days."""
    records = [{"id": f"2501.{n:05d}", "title": f"Paper number {n}", "abstract": "Text.",
                "listed": (dt.date(2025, 1, 1) + dt.timedelta(days=n % 50)).isoformat(),
                "upvotes": n % 17} for n in range(2000)]
    source = write_lines(tmp_path / "many.jsonl", records)
    content = tmp_path / "content"
    summary = import_sources([str(source)], ImportOptions(content_dir=content))
    assert summary.count("added") == 2000 and len(summary.days_touched) == 50
    assert "50 days from 2025-01-01 to 2025-02-19" in summary.report()
    again = import_sources([str(source)], ImportOptions(content_dir=content))
    assert again.count("unchanged") == 2000


EVERY_FIELD = {
    "id": "2604.00001", "title": "Every Field Paper", "authors": ["Ada Lovelace", "Alan Turing"],
    "organization": {"name": "acme", "fullname": "Acme Labs"}, "published": "2026-04-19",
    "upvotes": 12, "topics": ["llm"], "arxiv": "https://arxiv.org/abs/2604.00001",
    "pdf": "https://arxiv.org/pdf/2604.00001", "code": "https://github.com/acme/every",
    "project_page": "https://acme.example/every", "github_stars": 1234,
    "thumbnail": "https://acme.example/every.png", "ai_summary": "A summary.",
    "ai_keywords": ["fields"], "withdrawn": "2026-04-22", "doi": "10.1000/every",
    "journal_ref": "Journal of Fields 1", "comment": "5 pages", "categories": ["cs.LG"],
}


def test_every_field_round_trips_in_the_files_order(tmp_path: Path) -> None:
    """A JSON Lines paper with every front matter field becomes a file with them all, in the
    documented order (author_count is left out: the names are there), which check reads back."""
    source = tmp_path / "every.jsonl"
    line = {**EVERY_FIELD, "abstract": "The abstract.", "listed": "2026-04-21"}
    source.write_text(json.dumps(line) + "\n", "utf-8")
    content = tmp_path / "content"
    import_sources([str(source)], ImportOptions(content_dir=content))
    path = content / "days" / "2026-04-21" / "2604.00001.md"
    doc = read_front_matter(path)
    assert list(doc.meta) == list(EVERY_FIELD)
    assert doc.body == "The abstract."
    (paper,) = load_content(content).papers
    assert paper.organization is not None and paper.organization.label == "Acme Labs"
    assert (paper.title, paper.authors, paper.author_count) == (
        "Every Field Paper", ("Ada Lovelace", "Alan Turing"), 2)
    assert (paper.published, paper.withdrawn) == (dt.date(2026, 4, 19), dt.date(2026, 4, 22))
    assert (paper.upvotes, paper.github_stars, paper.topics) == (12, 1234, ("llm",))
    for key in ("arxiv", "pdf", "code", "project_page", "thumbnail", "ai_summary", "doi",
                "journal_ref", "comment"):
        assert getattr(paper, key) == EVERY_FIELD[key], key
    assert (paper.ai_keywords, paper.categories) == (("fields",), ("cs.LG",))
