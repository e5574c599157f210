"""Structural tests of the built site: every page kind, links, HTML, math, ordering."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from site_builder.markup import SNIPPET_CHARS, snippet
from tests.conftest import CONTENT, build_into
from tests.htmlcheck import broken_links, scan_html
from tests.trees import snapshot

DAYS = ["2026-03-11", "2026-04-21", "2026-06-26", "2026-06-29"]


def paper_files(content: Path) -> list[Path]:
    return [p for p in (content / "days").rglob("*.md") if p.name != "index.md"]


def test_every_page_kind_is_built(built_root: Path) -> None:
    expected = ["index.html", "404.html", "archive/index.html", "topics/index.html",
                "search/index.html", "trending/index.html", "orgs/index.html",
                "week/2026-W11/index.html", "week/2026-W17/index.html",
                "week/2026-W26/index.html", "week/2026-W27/index.html",
                "month/2026-03/index.html", "month/2026-04/index.html",
                "month/2026-06/index.html", "static/style.css", ".nojekyll", "sitemap.xml",
                "robots.txt"]
    expected += [f"date/{day}/index.html" for day in DAYS]
    expected += [f"topics/{p.stem}/index.html" for p in (CONTENT / "topics").glob("*.md")]
    expected += [f"papers/{p.stem}/index.html" for p in paper_files(CONTENT)]
    missing = [path for path in expected if not (built_root / path).is_file()]
    assert missing == []
    assert len(list((built_root / "papers").iterdir())) == 227


@pytest.mark.parametrize("fixture", ["built_root", "built_subpath"])
def test_every_internal_link_resolves(fixture: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(fixture)
    base_path = "/digest/" if fixture == "built_subpath" else "/"
    assert broken_links(out, base_path) == []


def test_internal_links_are_relative_so_the_site_moves(built_subpath: Path) -> None:
    html = (built_subpath / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    hrefs = re.findall(r'<a [^>]*href="([^"]+)"', html)
    internal = [h for h in hrefs if not h.startswith(("http://", "https://", "mailto:"))]
    assert internal, "a day page links to papers"
    assert not [h for h in internal if h.startswith("/")]
    assert "../../papers/" in html


def test_not_found_page_uses_the_base_path(built_subpath: Path) -> None:
    html = (built_subpath / "404.html").read_text("utf-8")
    assert 'href="/digest/static/style.css"' in html
    assert 'href="/digest/archive/"' in html


def test_every_page_is_well_formed_with_one_h1(built_root: Path) -> None:
    problems = []
    for file in sorted(built_root.rglob("*.html")):
        if "pagefind" in file.parts:
            continue
        scan = scan_html(file.read_text("utf-8"))
        rel = file.relative_to(built_root)
        problems += [f"{rel}: {error}" for error in scan.errors]
        if scan.h1 != 1:
            problems.append(f"{rel}: {scan.h1} h1 elements")
    assert problems == []


def test_math_in_titles_reads_well_in_pages_and_previews(built_root: Path) -> None:
    page = (built_root / "papers" /
            "sp-2-ot-semantic-regularized-progressive-partial-optimal-transport-for")
    html = (page / "index.html").read_text("utf-8")
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert h1.startswith("SP<sup>2</sup>OT:"), "a lone superscript sits on the text before it"
    assert "<mi></mi>" not in html and "<mi/>" not in html
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title.startswith("SP²OT: Semantic-Regularized")
    assert re.search(r'"og:title" content="SP²OT: ', html)
    data = json.loads(re.search(r'application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["headline"].startswith("SP²OT:")
    assert "$" not in title and "$" not in data["headline"]


def test_day_lists_papers_by_upvotes_then_title(built_root: Path) -> None:
    html = (built_root / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    titles = re.findall(r'<h2 class="card-title">.*?<a href="[^"]+">(.*?)</a>', html, re.S)
    assert len(titles) == 31  # 41 on the Apr 21 page, 10 of them were listed earlier on Mar 11
    votes = [int(v) for v in re.findall(r'<span aria-hidden="true">▲ (\d+)</span>', html)]
    assert votes == sorted(votes, reverse=True)
    assert votes[:2] == [2, 2]
    top_two = titles[:2]
    assert top_two == sorted(top_two, key=str.casefold)


def test_previous_and_next_day_links_skip_empty_days(built_root: Path) -> None:
    html = (built_root / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    assert 'rel="prev" href="../../date/2026-03-11/"' in html
    assert 'rel="next" href="../../date/2026-06-26/"' in html
    first = (built_root / "date" / "2026-03-11" / "index.html").read_text("utf-8")
    assert 'rel="prev"' not in first


def test_topic_pages_collect_keyword_matches_newest_first(built_root: Path) -> None:
    html = (built_root / "topics" / "noisy-labels" / "index.html").read_text("utf-8")
    assert "Early-Learning Regularization Prevents Memorization of Noisy Labels" in html
    days = re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">\d+ \w+ \d{4}</time></a></span>', html)
    assert days and days == sorted(days, reverse=True)


def test_big_topics_are_paginated_from_the_oldest(built_root: Path) -> None:
    topic = built_root / "topics" / "regularization"
    numbers = sorted(int(p.name) for p in (topic / "page").iterdir())
    assert numbers and numbers == list(range(1, len(numbers) + 1))
    newest = numbers[-1]
    front = (topic / "index.html").read_text("utf-8")
    assert f'rel="next" href="../../topics/regularization/page/{newest}/"' in front
    oldest = (topic / "page" / "1" / "index.html").read_text("utf-8")
    assert "Page 1: papers 1 to 30, counted from the oldest" in oldest
    assert 'rel="next"' not in oldest  # nothing is older than page 1
    newer = "../../../../topics/regularization/" + ("page/2/" if newest > 1 else "")
    assert f'rel="prev" href="{newer}"' in oldest


def test_paper_page_shows_metadata_and_code_link(built_root: Path) -> None:
    html = (built_root / "papers" / "data-filtering-networks" / "index.html").read_text("utf-8")
    assert "6 authors" in html
    assert "29 Sep 2023" in html  # published
    assert "<dt>Upvotes</dt><dd>1</dd>" in html
    org = (built_root / "papers" /
           "ultra-fineweb-efficient-data-filtering-and-verification-for-high-quality-llm" /
           "index.html").read_text("utf-8")
    assert "OpenBMB" in org and 'href="../../orgs/openbmb/"' in org
    code = (built_root / "papers" / "conr-contrastive-regularizer-for-deep-imbalanced-regression"
            / "index.html").read_text("utf-8")
    assert 'href="https://github.com/BorealisAI/ConR"' in code


def test_archive_groups_days_by_month_with_counts(built_root: Path) -> None:
    html = (built_root / "archive" / "index.html").read_text("utf-8")
    assert html.index("June 2026") < html.index("April 2026") < html.index("March 2026")
    assert "112 papers" in html  # the compact seed's day


def test_hostile_markdown_is_sanitised(content_copy: Path, tmp_path: Path) -> None:
    day = content_copy / "days" / "2026-06-29"
    (day / "hostile.md").write_text(
        "---\ntitle: '<script>alert(1)</script> Attack'\n---\n\n"
        "Text <script>alert(2)</script> <img src=x onerror=alert(3)> "
        "[click](javascript:alert(4))\n", "utf-8")
    out = build_into(content_copy, tmp_path / "out")
    html = (out / "papers" / "hostile" / "index.html").read_text("utf-8")
    assert "<script>" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Attack" in html


BIG_TOPIC_SIZE = 5  # page_size of the archive-pagination site below


def write_archive_site(root: Path, days: int, per_day: int = 3) -> Path:
    """A site with one topic that every paper is in, ``per_day`` papers on each of ``days``
    days from 1 March 2026, and five papers a page."""
    content = root / "content"
    (content / "topics").mkdir(parents=True, exist_ok=True)
    (content / "site.yaml").write_text(f"title: Archive\npage_size: {BIG_TOPIC_SIZE}\n", "utf-8")
    (content / "topics" / "big.md").write_text("---\ntitle: Big\n---\n\nEverything.\n", "utf-8")
    for offset in range(days):
        add_archive_day(content, offset, per_day)
    return content


def add_archive_day(content: Path, offset: int, per_day: int) -> None:
    date = dt.date(2026, 3, 1) + dt.timedelta(days=offset)
    folder = content / "days" / date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(per_day):
        (folder / f"p{offset:03d}-{n}.md").write_text(
            f"---\ntitle: Paper {offset} {n}\ntopics: [big]\nupvotes: {n}\n---\n\n"
            f"About paper {offset} {n}.\n", "utf-8")


def topic_tree(out: Path) -> dict[str, bytes]:
    return snapshot(out / "topics" / "big")


def listed_ids(page: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="paper-([^"]+)"', page)


@pytest.mark.parametrize("days", [16, 17, 18])  # 48, 51, 54 papers: each remainder of 5 pages
def test_a_new_day_changes_only_the_front_page_and_at_most_one_numbered_page(
        tmp_path: Path, days: int) -> None:
    content = write_archive_site(tmp_path, days)
    before = topic_tree(build_into(content, tmp_path / "before"))
    add_archive_day(content, days, per_day=3)
    after = topic_tree(build_into(content, tmp_path / "after"))
    assert set(before) <= set(after), "no topic page goes away"
    changed = {path for path in before if before[path] != after[path]}
    added = set(after) - set(before)
    assert "index.html" in changed  # the front page shows the new day
    numbered = changed - {"index.html", "feed.xml", "atom.xml", "papers.bib"}
    assert len(numbered) <= 1, numbered
    newest_before = max(int(p.split("/")[1]) for p in before if p.startswith("page/"))
    assert numbered <= {f"page/{newest_before}/index.html"}  # its "newer" link, if a page came
    assert all(int(path.split("/")[1]) > newest_before for path in added)


def test_every_paper_of_a_topic_is_on_exactly_one_numbered_page_or_the_front(
        tmp_path: Path) -> None:
    content = write_archive_site(tmp_path, days=12, per_day=3)  # 36 papers: 7 full pages
    out = build_into(content, tmp_path / "out")
    topic = out / "topics" / "big"
    front = listed_ids((topic / "index.html").read_text("utf-8"))
    assert len(front) == BIG_TOPIC_SIZE and front[0].startswith("p011")  # newest first
    pages = {int(p.name): listed_ids((p / "index.html").read_text("utf-8"))
             for p in (topic / "page").iterdir()}
    assert sorted(pages) == list(range(1, 8))
    numbered = [paper for number in sorted(pages) for paper in pages[number][::-1]]
    assert len(numbered) == len(set(numbered)) == 35  # 7 pages of 5, counted from the oldest
    assert numbered[0] == "p000-0"  # the oldest: day 0, the last (fewest upvotes) of its day
    every = {f"p{day:03d}-{n}" for day in range(12) for n in range(3)}
    assert set(numbered) | set(front) == every
    assert "Page 7: papers 31 to 35, counted from the oldest" in (
        topic / "page" / "7" / "index.html").read_text("utf-8")


def test_a_small_listing_is_its_front_page_alone(tmp_path: Path) -> None:
    content = write_archive_site(tmp_path, days=1, per_day=BIG_TOPIC_SIZE)
    out = build_into(content, tmp_path / "out")
    assert not (out / "topics" / "big" / "page").exists()
    front = (out / "topics" / "big" / "index.html").read_text("utf-8")
    assert len(listed_ids(front)) == BIG_TOPIC_SIZE and 'class="pager"' not in front


def test_listing_cards_carry_a_short_snippet_not_the_abstract(built_root: Path) -> None:
    day = (built_root / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    snippets = [html.unescape(text) for text in re.findall(r'<p class="snippet">([^<]*)</p>', day)]
    assert snippets and all(len(text) <= 161 for text in snippets)
    assert any(text.endswith("…") for text in snippets)
    assert 'class="abstract' not in day  # the whole abstract is on the paper page only


def test_week_pages_show_their_top_papers_and_link_their_days(built_root: Path) -> None:
    week = (built_root / "week" / "2026-W17" / "index.html").read_text("utf-8")
    day = (built_root / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    assert len(listed_ids(week)) == 10 < len(listed_ids(day))
    assert listed_ids(week) == listed_ids(day)[:10]  # one day in that week: its top ten
    assert 'href="../../date/2026-04-21/"' in week


def test_a_paper_page_says_its_abstract_once(built_root: Path) -> None:
    page = (built_root / "papers" / "data-filtering-networks" / "index.html").read_text("utf-8")
    opening = "Large training sets have become a cornerstone"
    head, body = page.split("<body>")
    assert body.count(opening) == 1
    previews = re.findall(r'<meta (?:name|property)="[a-z:]*description" content="([^"]*)"', head)
    assert len(previews) == 2 and all(len(html.unescape(text)) <= 161 for text in previews)
    assert opening not in json.dumps(json_ld_of(head))  # JSON-LD: no description, no abstract


# What a paper costs in bytes (README): a paper is listed on several pages, so its card says
# each thing once, and a paper page's head says its description twice, briefly.
PAPER_HEAD_BUDGET = 2_200  # bytes of data-filtering-networks' <head> (2,100 when written)
CARD_BUDGET = 1_700  # bytes of any card of the Apr 21 day page without a thumbnail (1,668)


def test_a_paper_page_head_stays_lean(built_root: Path) -> None:
    page = (built_root / "papers" / "data-filtering-networks" / "index.html").read_text("utf-8")
    head = page.split("<body>")[0]
    assert len(head.encode("utf-8")) <= PAPER_HEAD_BUDGET
    assert "twitter:title" not in head and "twitter:description" not in head
    assert '<meta name="twitter:card" content="summary">' in head
    data = json_ld_of(head)
    assert set(data) <= {"@context", "@type", "headline", "url", "datePublished", "keywords",
                         "author", "sourceOrganization", "sameAs", "identifier", "image"}
    assert page.count("data-authors") == page.count("data-title") == 0  # the JSON-LD says them


def test_a_card_says_each_thing_once(built_root: Path) -> None:
    day = (built_root / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    cards = re.findall(r'<article class="card[^"]*".*?</article>', day, re.S)
    assert cards
    for card in cards:
        opening = card.split(">", 1)[0]
        assert "data-topics" not in opening and "data-url" not in opening
        assert "data-star" not in card  # site.js adds Save
        if "has-thumb" not in opening:
            assert len(card.encode("utf-8")) <= CARD_BUDGET, opening
        authors = re.search(r'<span class="authors">([^<]*)</span>', card)
        if authors:
            names = authors[1].removesuffix(" et al.").split(", ")
            assert len(names) <= 3, authors[1]


def json_ld_of(head: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', head)[1])


def test_a_snippet_is_plain_readable_text_cut_at_a_word() -> None:
    text = "We bound the $O(n^2)$ cost of SP$^2$OT by " + "many careful words " * 30
    cut = snippet(text)
    assert cut.startswith("We bound the O(n^2) cost of SP²OT by many careful words")
    assert cut.endswith("…") and len(cut) <= SNIPPET_CHARS + 1
    assert cut[:-1] == text.replace("$O(n^2)$", "O(n^2)").replace("SP$^2$OT", "SP²OT")[
        : len(cut) - 1]  # a prefix of the text: cut between words, never inside one
    assert snippet("Short abstract.") == "Short abstract."


def test_a_card_snippet_is_escaped_text(tmp_path: Path) -> None:
    content = write_archive_site(tmp_path, days=1, per_day=1)
    paper = next((content / "days").rglob("p000-0.md"))
    paper.write_text("---\ntitle: Hostile\ntopics: [big]\n---\n\n"
                     "We test `<script>alert(1)</script>` & <b>tags</b> and $a < b$.\n", "utf-8")
    day = (build_into(content, tmp_path / "out") / "date" / "2026-03-01" / "index.html")
    shown = re.search(r'<p class="snippet">([^<]*)</p>', day.read_text("utf-8"))[1]
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&amp;" in shown and "tags" in shown
