"""Citations (issue 14, item 12): a BibTeX entry on each paper page with a copy button, and a
papers.bib per day and per topic, linked from those pages; every file parses with
bibtexparser whatever the content holds."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import bibtexparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.citations import bibtex
from site_builder.content import Paper
from tests.test_feeds import BASE, HOSTILE_TITLE, build_into, write_content

TRICKY = {
    "title": "Unbalanced {brace and 50% of $x_t^{2}$ & #1_x",
    "authors": ["Tom and Jerry Lab", "Ada Lovelace", "Ren\u00e9 Descartes"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("citations")
    content = write_content(root / "content")
    (content / "days" / "2026-04-21" / "tricky.md").write_text(
        f"---\ntitle: {json.dumps(TRICKY['title'])}\nupvotes: 2\n"
        f"authors: {json.dumps(TRICKY['authors'])}\ncategories: [cs.LG, stat.ML]\n"
        "pdf: https://arxiv.org/pdf/2604.01234v2\ntopics: [theory]\n---\nText.\n", "utf-8")
    return build_into(content, root / "out")


def parse_bib(path: Path):
    library = bibtexparser.parse_string(path.read_text("utf-8"))
    assert library.failed_blocks == [], path
    return {entry.key: entry for entry in library.entries}


def field(entry, name: str) -> str:
    return entry.fields_dict[name].value


def test_every_day_and_topic_has_a_bib_file_that_parses(site):
    days = sorted(p.parent.name for p in (site / "date").glob("*/index.html"))
    assert days == ["2026-04-13", "2026-04-20", "2026-04-21"]
    counts = {"2026-04-13": 2, "2026-04-20": 2, "2026-04-21": 5}
    for day in days:
        entries = parse_bib(site / "date" / day / "papers.bib")
        assert len(entries) == counts[day]
        assert all(e.entry_type == "misc" for e in entries.values())
    theory = parse_bib(site / "topics" / "theory" / "papers.bib")
    assert {"scaling-laws", "tricky", "old-theory", "a-bound"} <= set(theory)


def test_an_arxiv_paper_is_cited_as_arxiv_does(site):
    entries = parse_bib(site / "date" / "2026-04-21" / "papers.bib")
    scaling = entries["scaling-laws"]
    assert field(scaling, "eprint") == "2604.00005" and field(scaling, "archivePrefix") == "arXiv"
    assert field(scaling, "url") == "https://arxiv.org/abs/2604.00005"
    assert field(scaling, "title") == "{Scaling $x^2$ Laws}"
    assert field(scaling, "author").split(" and ")[:2] == ["Grace Hopper", "Edsger Dijkstra"]
    assert len(field(scaling, "author").split(" and ")) == 7 and field(scaling, "year") == "2026"
    tricky = entries["tricky"]
    assert field(tricky, "eprint") == "2604.01234"  # no version
    assert field(tricky, "primaryClass") == "cs.LG"
    assert field(tricky, "author") == \
        "{Tom and Jerry Lab} and Ada Lovelace and Ren\u00e9 Descartes"
    title = field(tricky, "title")
    # unbalanced braces are dropped (they would end the field early)
    assert r"50\% of $x_t^2$ \& \#1\_x" in title and "{brace" not in title
    quiet = entries["quiet-paper"]  # not on arXiv: the paper's page
    assert field(quiet, "url") == BASE + "papers/quiet-paper/" and "eprint" not in \
        quiet.fields_dict
    assert "hostile" in entries and "Hostile" in field(entries["hostile"], "title")


def test_paper_pages_show_the_entry_with_a_copy_button_and_pages_link_their_files(site):
    page = (site / "papers" / "scaling-laws" / "index.html").read_text("utf-8")
    code = re.search(r'<code id="bibtex">(.*?)</code>', page, re.S).group(1)
    assert code.startswith("@misc{scaling-laws,") and "eprint = {2604.00005}" in code
    assert 'data-copy="bibtex"' in page and "cite.js" in page
    assert 'href="../../date/2026-04-21/papers.bib"' in page
    day = (site / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    assert 'href="../../date/2026-04-21/papers.bib"' in day
    topic = (site / "topics" / "theory" / "index.html").read_text("utf-8")
    assert 'href="../../topics/theory/papers.bib"' in topic
    assert (site / "static" / "cite.js").is_file()
    subscribe = (site / "subscribe" / "index.html").read_text("utf-8")
    assert 'href="../topics/theory/papers.bib"' in subscribe
    assert re.search(r'href="\.\./date/[0-9-]+/papers\.bib"', subscribe)


def test_hostile_titles_stay_text_on_the_page(site):
    page = (site / "papers" / "hostile" / "index.html").read_text("utf-8")
    code = re.search(r'<code id="bibtex">(.*?)</code>', page, re.S).group(1)
    assert "<script" not in code and "&lt;script&gt;" in code
    assert HOSTILE_TITLE.split()[1] in code.replace("&#34;", '"').replace("&quot;", '"')


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(TEXT, st.lists(TEXT, max_size=4), st.sampled_from(["", "https://arxiv.org/abs/2604.00001"]))
def test_any_title_and_authors_make_an_entry_that_parses(title, authors, arxiv):
    paper = Paper(id="p-1", title=title or "x", day=dt.date(2026, 4, 21), authors=tuple(authors),
                  arxiv=arxiv)
    library = bibtexparser.parse_string(bibtex(paper, BASE))
    assert library.failed_blocks == [] and len(library.entries) == 1
    assert library.entries[0].key == "p-1"
