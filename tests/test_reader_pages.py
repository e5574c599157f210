"""What a visitor sees on the built pages (issue 15): cards without unknown values, with
thumbnails, Hugging Face and title-search links and the AI summary; the home page's shape; the
paper page's navigation; topics in title order; feeds that a browser can show; the Subscribe
page; the build summary; plain titles, linked comments and URLs that stop at braces."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import feedparser
import pytest

from site_builder.build import BuildOptions, build
from site_builder.markup import MarkupRenderer, linkify, plain_title
from site_builder.render import hint_terms, inert

from .conftest import CONTENT, TEMPLATES, build_into

BASE = "https://example.org/digest/"
THUMB = "https://cdn.example.org/thumbs/2404.14219.png"


def page_html(out: Path, site_path: str) -> str:
    return (out / site_path / "index.html").read_text("utf-8")


def card_of(page: str, paper_id: str) -> str:
    match = re.search(rf'<article class="card[^"]*" id="paper-{re.escape(paper_id)}".*?</article>',
                      page, re.S)
    assert match, paper_id
    return match.group(0)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded content plus one Hugging Face paper with every optional field."""
    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT, content)
    front = {"title": "Phi-3 Technical Report", "authors": ["Ada Lovelace", "Alan Turing"],
             "upvotes": 250, "thumbnail": THUMB, "arxiv": "https://arxiv.org/abs/2404.14219",
             "ai_summary": "A small model that runs on a phone.",
             "comment": "Code at https://github.com/x/y; DOI 10.1145/3580305.3599999."}
    lines = "".join(f"{key}: {json.dumps(value)}\n" for key, value in front.items())
    (content / "days" / "2026-06-29" / "2404.14219.md").write_text(
        f"---\n{lines}---\n\nA report.\n", "utf-8")
    return build_into(content, tmp_path_factory.mktemp("out") / "output", base_url=BASE)


# --- cards ----------------------------------------------------------------------------------


def test_unknown_upvotes_show_nothing_and_known_ones_show(out: Path) -> None:
    day = page_html(out, "date/2026-06-29")
    plain = card_of(day, "4-3-phases-of-compute-optimal-neural-scaling-laws")
    assert "▲" not in plain and 'class="votes"' not in plain
    assert "▲ 250" in card_of(day, "2404.14219")


def test_a_thumbnail_is_lazy_and_sized_so_nothing_jumps(out: Path) -> None:
    card = card_of(page_html(out, "date/2026-06-29"), "2404.14219")
    (img,) = re.findall(r"<img [^>]*>", card)
    assert f'src="{THUMB}"' in img and 'loading="lazy"' in img
    assert 'width="160"' in img and 'height="90"' in img
    paper = page_html(out, "papers/2404.14219")
    assert re.search(r'<img class="paper-thumb" src="[^"]+" alt="" loading="lazy"', paper)


def test_hugging_face_papers_link_there_and_others_get_labelled_searches(out: Path) -> None:
    day = page_html(out, "date/2026-06-29")
    hf = card_of(day, "2404.14219")
    assert 'href="https://huggingface.co/papers/2404.14219"' in hf
    assert "Search arXiv" not in hf, "it has an arXiv link"
    bare = card_of(day, "4-3-phases-of-compute-optimal-neural-scaling-laws")
    assert "huggingface.co/papers/" not in bare.replace("huggingface.co/papers?q=", "")
    assert re.search(r'href="https://arxiv.org/search/\?searchtype=title&amp;query=4%2B3%20'
                     r'Phases[^"]*"[^>]*>Search arXiv</a>', bare)
    assert re.search(r'href="https://huggingface.co/papers\?q=4%2B3%20Phases[^"]*"[^>]*>'
                     r"Search Hugging Face</a>", bare)


def test_the_ai_summary_is_on_the_card_and_the_page(out: Path) -> None:
    assert '<p class="tldr">A small model that runs on a phone.</p>' in card_of(
        page_html(out, "date/2026-06-29"), "2404.14219")
    assert "A small model that runs on a phone." in page_html(out, "papers/2404.14219")


def test_save_buttons_and_list_tools_are_hidden_until_javascript_shows_them(out: Path) -> None:
    day = page_html(out, "date/2026-06-29")
    assert "data-star" not in day  # site.js adds a card's Save button: no dead button without it
    paper = page_html(out, "papers/2404.14219")
    assert '<button type="button" class="star" data-star hidden' in paper
    assert re.search(r'<div class="list-tools" data-list-tools hidden>', day)


# --- home, trending, topics -------------------------------------------------------------------


def test_home_shows_the_top_of_the_latest_day_and_the_way_to_all_of_it(out: Path) -> None:
    home = page_html(out, "")
    listing = home[home.index('id="latest-title"'):]
    assert len(re.findall(r'<article class="card', listing)) == 10
    assert "Top 10 of 113 papers" in listing
    assert re.search(r'<a class="button" href="date/2026-06-29/">All 113 papers of', home)
    assert home.index('id="top-week-title"') < home.index('id="latest-title"'), \
        "the week's top comes first, so it is above the fold on a phone"
    switch = re.search(r'<nav class="periods".*?</nav>', home, re.S).group(0)
    assert 'href="date/2026-06-29/"' in switch and 'href="week/2026-W27/"' in switch
    assert 'href="month/2026-06/"' in switch
    assert home.count('id="subscribe-title"') == 1


def test_no_page_repeats_an_id(out: Path) -> None:
    for path in ("", "trending", "date/2026-06-29", "week/2026-W27", "subscribe"):
        ids = re.findall(r'\sid="([^"]+)"', page_html(out, path))
        assert len(ids) == len(set(ids)), path


def test_topics_index_is_in_the_order_of_the_shown_titles(out: Path) -> None:
    titles = re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', page_html(out, "topics"))
    assert len(titles) > 10 and titles == sorted(titles, key=str.casefold)


def test_generic_pretraining_words_no_longer_file_papers_under_llm_training(out: Path) -> None:
    llm = "".join(page_html(out, p.parent.relative_to(out).as_posix())
                  for p in (out / "topics" / "llm-training").rglob("index.html"))
    assert "deep-clustering-via-joint-convolutional-autoencoder" not in llm
    assert "Large Language" in llm


# --- paper page -----------------------------------------------------------------------------


def test_a_paper_page_links_its_day_and_neighbours_and_says_listed_once(out: Path) -> None:
    page = page_html(out, "papers/2404.14219")
    nav = re.search(r'<nav class="paper-nav".*?</nav>', page, re.S).group(0)
    assert 'href="../../date/2026-06-29/">← All papers of Mon 29 Jun 2026' in nav
    assert 'rel="prev"' in nav or 'rel="next"' in nav
    assert page.count("<dt>Listed</dt>") == 1 and ">Listed <" not in page


def test_urls_and_dois_in_a_comment_are_links(out: Path) -> None:
    page = page_html(out, "papers/2404.14219")
    comment = re.search(r'<p class="muted comment">.*?</p>', page, re.S).group(0)
    assert '<a href="https://github.com/x/y" rel="noopener">' in comment
    assert '<a href="https://doi.org/10.1145/3580305.3599999" rel="noopener">' in comment


def test_search_indexes_text_and_shows_date_upvotes_and_topics(out: Path) -> None:
    page = page_html(out, "papers/2404.14219")
    assert 'data-pagefind-meta="date:29 Jun 2026"' in page
    assert 'data-pagefind-meta="upvotes:250"' in page
    assert 'data-pagefind-meta="title:Phi-3 Technical Report"' in page
    assert '<div data-pagefind-ignore><h2 id="abstract-title">' in page
    assert 'id="site-search"' not in page_html(out, "search")  # one search box there


def test_related_hints_leave_out_vague_words_and_plurals() -> None:
    assert hint_terms(("performance various", "gradient", "gradients", "noisy labels")) == [
        "gradient", "noisy labels"]


def test_values_for_pagefind_cannot_start_markup() -> None:
    value = inert('<img src=x onerror="alert(1)"> & \'q\'')
    assert not set("<>&\"'") & set(value)
    assert "img src=x onerror=" in value


# --- titles, links in abstracts ------------------------------------------------------------


def test_math_in_titles() -> None:
    assert MarkupRenderer.inline("SP$^2$OT") == "SP<sup>2</sup>OT"
    assert "<msup><mi>x</mi>" in MarkupRenderer.inline("$x^2$")
    assert plain_title("SP$^2$OT: $\\alpha$-divergence") == "SP²OT: α-divergence"
    assert plain_title("Fine-tuning$_{\\text{ft}}$") == "Fine-tuning_ft"


def test_bare_urls_stop_at_latex_braces() -> None:
    html = MarkupRenderer().block("See \\url{http://www.bhchen.cn/} and "
                                  "https://github.com/a/Large-Language-Models{LOST} now.")
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs == ["http://www.bhchen.cn/", "https://github.com/a/Large-Language-Models"]


def test_linkify_escapes_the_rest() -> None:
    assert linkify("<b> x https://a.org/p.") == (
        '&lt;b&gt; x <a href="https://a.org/p" rel="noopener">https://a.org/p</a>.')


# --- feeds, Subscribe page, build summary --------------------------------------------------


@pytest.mark.parametrize("feed, href", [("feed.xml", "static/feed.xsl"),
                                        ("topics/regularization/atom.xml",
                                         "../../static/feed.xsl")])
def test_feeds_carry_a_stylesheet_a_browser_shows_and_readers_ignore(out: Path, feed: str,
                                                                     href: str) -> None:
    data = (out / feed).read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n"
                           b'<?xml-stylesheet type="text/xsl" href="' + href.encode() + b'"?>')
    assert (out / "static" / "feed.xsl").is_file()
    parsed = feedparser.parse(data)
    assert not parsed.bozo and len(parsed.entries) > 5


def test_the_subscribe_page_lists_every_feed(out: Path) -> None:
    page = page_html(out, "subscribe")
    addresses = set(re.findall(r'<code class="feed-url">([^<]+)</code>', page))
    topics = [p.name for p in (out / "topics").iterdir() if (p / "feed.xml").is_file()]
    assert {BASE + f"topics/{slug}/feed.xml" for slug in topics} <= addresses
    for name in ("feed.xml", "atom.xml", "feed.json", "digest.xml", "weekly.xml", "feeds.opml"):
        assert BASE + name in addresses


def test_the_build_summary_counts_every_file_and_says_how_to_look(tmp_path: Path,
                                                                   capsys) -> None:
    out = tmp_path / "output"
    build(BuildOptions(CONTENT, TEMPLATES, out))
    summary = capsys.readouterr().err
    on_disk = [p for p in out.rglob("*") if p.is_file()]
    assert f"\n{len(on_disk):,} files, " in summary
    assert "(search index included)" in summary and "site-builder serve --out" in summary
