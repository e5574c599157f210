"""The arxiv (Atom query API) and arxiv-rss (announcement feed) importers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from site_builder.cli import main
from site_builder.content import load_content
from site_builder.errors import ContentError
from site_builder.frontmatter import read_front_matter
from site_builder.importers import ImportOptions, detect_format, import_sources, parse_sources
from site_builder.importers.arxiv import split_authors
from tests.trees import snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"
ATOM = FIXTURES / "arxiv_query.xml"
ATOM_ERROR = FIXTURES / "arxiv_error.xml"
RSS = FIXTURES / "arxiv_rss.xml"


def parse(path: Path, **options):
    return parse_sources([str(path)], ImportOptions(**options))


def by_id(papers, paper_id: str):
    [paper] = [p for p in papers if p.id == paper_id]
    return paper



def test_formats_are_detected_from_content() -> None:
    assert detect_format(ATOM.read_text("utf-8"), "query") == "arxiv"
    assert detect_format(ATOM_ERROR.read_text("utf-8"), "query") == "arxiv"
    assert detect_format(RSS.read_text("utf-8"), "cs.CL") == "arxiv-rss"
    # the name does not matter: an RSS feed saved as .json is still RSS
    assert detect_format(RSS.read_text("utf-8"), "feed.json") == "arxiv-rss"


def test_a_generic_atom_feed_is_not_taken_for_arxiv() -> None:
    text = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>' \
           '</feed>'
    with pytest.raises(ContentError) as caught:
        detect_format(text, "blog.xml")
    assert "cannot tell the format" in str(caught.value)


# --- arXiv Atom API ------------------------------------------------------------------------

def test_atom_entry_field_mapping() -> None:
    paper = by_id(parse(ATOM).papers, "2511.07301")  # <id> ends in v2: the version is dropped
    assert paper.title == "Sparse Routing Makes Long-Context Models Cheaper"  # unwrapped
    assert paper.abstract == (
        "Long-context language models spend most of their compute on attention over tokens "
        "that barely matter. We introduce a sparse router that selects, per head, the $k$ most "
        "relevant blocks, cutting prefill cost by 3.1x at 128K tokens with no loss on RULER.")
    assert paper.authors == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert paper.published == dt.date(2025, 11, 10)
    assert paper.listed == dt.date(2025, 11, 10)  # no --date: the published day
    assert paper.arxiv == "https://arxiv.org/abs/2511.07301"
    assert paper.pdf == "https://arxiv.org/pdf/2511.07301v2"  # the announced version's PDF
    assert paper.doi == "10.48550/arXiv.2511.07301"
    assert paper.journal_ref == ("Proceedings of the Example Conference on Learning "
                                 "(ECL 2026), 112-126")
    assert paper.comment == "14 pages, 6 figures. Code: https://github.com/example-lab/" \
                            "sparse-router"
    assert paper.categories == ["cs.CL", "cs.LG"]  # primary first, no duplicates
    assert paper.code == "https://github.com/example-lab/sparse-router"  # from the comment


def test_atom_paragraphs_entities_and_old_style_ids() -> None:
    papers = parse(ATOM).papers
    tabular = by_id(papers, "2511.06420")
    assert tabular.abstract == ("We release a small benchmark for tabular reasoning.\n\n"
                                "A second paragraph, also wrapped.")
    assert tabular.authors == ["Lucía Fernández"]
    old = by_id(papers, "hep-th_9901001")  # hep-th/9901001v3: '/' cannot be in a file name
    assert old.title == "Strings & Branes in $AdS_5 \\times S^5$"
    assert old.abstract == "We study <D3> branes."
    assert old.arxiv == "https://arxiv.org/abs/hep-th/9901001"
    assert old.listed == dt.date(1999, 1, 4)


def test_atom_import_writes_files(tmp_path: Path) -> None:
    content = tmp_path / "content"
    summary = import_sources([str(ATOM)], ImportOptions(content_dir=content,
                                                        date=dt.date(2025, 11, 12)))
    assert summary.count("added") == 3
    assert summary.days_touched == ["2025-11-12"]
    meta = read_front_matter(content / "days" / "2025-11-12" / "2511.07301.md").meta
    assert meta["id"] == "2511.07301"
    assert meta["doi"] == "10.48550/arXiv.2511.07301"
    assert meta["categories"] == ["cs.CL", "cs.LG"]
    assert meta["comment"].startswith("14 pages")
    assert (content / "days" / "2025-11-12" / "hep-th_9901001.md").is_file()
    assert len(load_content(content).papers) == 3


def test_atom_api_error_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(ATOM_ERROR), "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "the arXiv API answered with an error: incorrect id format for 1234.12345" in err
    assert "arxiv_error.xml:10:" in err  # the entry's line
    assert not (tmp_path / "c").exists()


def test_atom_entry_without_title(tmp_path: Path) -> None:
    text = ATOM.read_text("utf-8").replace("<title>A Minimal Benchmark for Tabular Reasoning"
                                           "</title>", "<title>  </title>")
    source = tmp_path / "q.xml"
    source.write_text(text, "utf-8")
    with pytest.raises(ContentError) as caught:
        parse(source)
    [problem] = caught.value.problems
    assert problem.message == "entry 2: paper without a title"
    assert problem.line == text.splitlines().index("  <entry>", 20) + 1


# --- arXiv RSS -----------------------------------------------------------------------------

def test_rss_imports_new_and_cross_and_skips_replacements() -> None:
    result = parse(RSS)
    assert [p.id for p in result.papers] == ["2511.07301", "2511.07744"]
    assert [origin.rsplit(" ", 1)[1] for origin, _ in result.skipped] == [
        "2409.01234", "2410.05678"]
    assert all("--include-replacements" in reason for _origin, reason in result.skipped)
    included = parse(RSS, include_replacements=True)
    assert [p.id for p in included.papers] == ["2511.07301", "2511.07744", "2409.01234",
                                               "2410.05678"]
    assert included.skipped == []


def test_rss_item_field_mapping() -> None:
    papers = parse(RSS).papers
    new = by_id(papers, "2511.07301")
    assert new.title == "Sparse Routing Makes Long-Context Models Cheaper"
    assert new.abstract == (  # the "arXiv:... Announce Type: new Abstract:" prefix is gone
        "Long-context language models spend most of their compute on attention over tokens "
        "that barely matter. We introduce a sparse router that selects, per head, the $k$ most "
        "relevant blocks.")
    assert new.authors == ["Mei Tanaka", "Jonas Weber", "Priya Raman"]
    assert new.categories == ["cs.CL", "cs.LG"]
    assert new.listed == dt.date(2025, 11, 12)  # the channel's pubDate, in its time zone
    assert new.arxiv == "https://arxiv.org/abs/2511.07301"
    assert new.pdf == "https://arxiv.org/pdf/2511.07301"
    cross = by_id(papers, "2511.07744")
    assert cross.authors == ["Olu Adeyemi", "John Smith, Jr.", "Hana Kim", "Ravi Patel"]
    assert cross.abstract.startswith("We compare twelve speech tokenizers")
    assert "\n" not in cross.abstract
    assert cross.code == "https://github.com/example/speech-tok"


@pytest.mark.parametrize(("creators", "names"), [
    ("Ada Lovelace", ["Ada Lovelace"]),
    ("Ada Lovelace, Alan Turing", ["Ada Lovelace", "Alan Turing"]),
    ("A. Lovelace, B. Babbage, and C. Hopper", ["A. Lovelace", "B. Babbage", "C. Hopper"]),
    ("Ada Lovelace and Alan Turing", ["Ada Lovelace", "Alan Turing"]),
    ("Sandra Anderson,\n  Randall Munroe", ["Sandra Anderson", "Randall Munroe"]),
    ("", []),
    ('<a href="http://arxiv.org/find/cs/1/au:+Lovelace_A/0/1/0/all/0/1">Ada Lovelace</a>, '
     '<a href="http://arxiv.org/find/cs/1/au:+Turing_A/0/1/0/all/0/1">Alan Turing</a>',
     ["Ada Lovelace", "Alan Turing"]),  # the feeds before 2024
])
def test_dc_creator_is_split_into_authors(creators: str, names: list[str]) -> None:
    assert split_authors(creators) == names


def test_old_style_title_suffix_is_removed(tmp_path: Path) -> None:
    source = tmp_path / "old.xml"
    source.write_text(RSS.read_text("utf-8").replace(
        "<title>Sparse Routing Makes Long-Context Models Cheaper</title>",
        "<title>Sparse Routing Makes Long-Context Models Cheaper. (arXiv:2511.07301v1 [cs.CL])"
        "</title>"), "utf-8")
    assert parse(source).papers[0].title == "Sparse Routing Makes Long-Context Models Cheaper"


def test_rss_summary_reports_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    assert main(["import", str(RSS), "--content", str(content)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("skipped 2: a new version of an earlier paper (announce type replace "
                          "or replace-cross); --include-replacements imports these\n")
    assert "arxiv_rss.xml:45 2409.01234" in out
    assert out.rstrip().endswith("imported: 2 added, 0 merged, 0 unchanged, 2 skipped; days "
                                 "touched: 2025-11-12")
    assert sorted(p.name for p in (content / "days" / "2025-11-12").iterdir()) == [
        "2511.07301.md", "2511.07744.md"]
    assert main(["import", str(RSS), "--content", str(content), "--include-replacements"]) == 0
    out = capsys.readouterr().out
    assert "imported: 2 added, 0 merged, 2 unchanged, 0 skipped" in out


def test_rss_date_option_and_missing_channel_date(tmp_path: Path) -> None:
    assert {p.listed for p in parse(RSS).papers} == {dt.date(2025, 11, 12)}
    text = RSS.read_text("utf-8")
    for tag in ("pubDate", "lastBuildDate"):
        text = "\n".join(line for line in text.splitlines() if f"<{tag}>" not in line)
    source = tmp_path / "nodate.xml"
    source.write_text(text, "utf-8")
    with pytest.raises(ContentError) as caught:
        import_sources([str(source)], ImportOptions(content_dir=tmp_path / "c"))
    assert "--date" in str(caught.value)
    summary = import_sources([str(source)], ImportOptions(content_dir=tmp_path / "c",
                                                          date=dt.date(2025, 11, 13)))
    assert summary.days_touched == ["2025-11-13"]


def test_an_empty_announcement_day(tmp_path: Path) -> None:
    text = RSS.read_text("utf-8")
    text = text[: text.index("<item>")] + "</channel>\n</rss>\n"
    source = tmp_path / "holiday.xml"
    source.write_text(text, "utf-8")
    result = parse(source)
    assert result.papers == [] and result.skipped == []


# --- broken and hostile XML ----------------------------------------------------------------

@pytest.mark.parametrize("source", [ATOM, RSS])
def test_malformed_xml_is_a_clean_error_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], source: Path) -> None:
    content = tmp_path / "content"
    import_sources([str(FIXTURES / "hf_api_daily.json")], ImportOptions(content_dir=content))
    before = snapshot(content)
    broken = tmp_path / f"broken-{source.name}"
    text = source.read_text("utf-8")
    broken.write_text(text[: int(len(text) * 0.6)], "utf-8")  # a cut-off download
    assert main(["import", str(source), str(broken), "--content", str(content)]) == 1
    err = capsys.readouterr().err
    assert f"broken-{source.name}:" in err
    assert "malformed XML at line" in err and "column" in err
    assert "Traceback" not in err
    assert snapshot(content) == before


def test_mismatched_tag_position(tmp_path: Path) -> None:
    source = tmp_path / "bad.xml"
    source.write_text(RSS.read_text("utf-8").replace("</title>\n      <link>https://arxiv.org/abs/"
                                                     "2511.07744", "</titel>\n      <link>", 1),
                      "utf-8")
    with pytest.raises(ContentError) as caught:
        parse(source, format="arxiv-rss")
    [problem] = caught.value.problems
    line = next(n for n, text in enumerate(source.read_text().splitlines(), 1)
                if "</titel>" in text)
    assert problem.line == line
    assert "mismatched tag" in problem.message


@pytest.mark.parametrize("doctype", [
    # billion laughs: entity expansion
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    # an external entity that would read a local file
    '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
])
def test_entities_are_refused(tmp_path: Path, doctype: str) -> None:
    text = RSS.read_text("utf-8").replace("<rss ", doctype + "\n<rss ", 1)
    text = text.replace("<title>Sparse Routing", "<title>&b;&xxe; Sparse Routing")
    source = tmp_path / "evil.xml"
    source.write_text(text, "utf-8")
    with pytest.raises(ContentError) as caught:
        parse(source, format="arxiv-rss")
    assert "unsafe XML refused" in str(caught.value)
    assert "root:" not in str(caught.value)


def test_wrong_xml_for_the_format(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as caught:
        parse(RSS, format="arxiv")
    assert "not an Atom feed" in str(caught.value)
    with pytest.raises(ContentError) as caught:
        parse(ATOM, format="arxiv-rss")
    assert "not an RSS 2.0 feed" in str(caught.value)
