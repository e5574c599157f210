"""What a reader does in a real browser beyond reading: the reading list (Save, My papers,
BibTeX export), My topics, sorting a day, feeds opened in the browser, the Subscribe page,
and hostile values handed to Pagefind (a topic title, an organisation, authors) that must stay
text on the search page.

The site is the embedded content plus one paper with hostile metadata, served under /digest/.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CONTENT, build_into
from tests.e2e.conftest import SUB_PATH, launched_chromium, require_browser, serving

pytestmark = pytest.mark.browser

# Each payload calls the tripwire if it ever runs as markup or script.
TRIP = "window.__tripwire('{}')"
HOSTILE_TOPIC = f'<img src=x onerror="{TRIP.format("topic")}">Evil topic'
HOSTILE_ORG = f"<svg onload=\"{TRIP.format('org')}\">Org"
HOSTILE_AUTHOR = f"<img src=y onerror=\"{TRIP.format('author')}\">"
HOSTILE_PAPER = "quokka-hostile"  # a word no other paper has, to search for
DAY = "date/2026-04-21/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("pages")
    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT, content)
    (content / "topics" / "evil.md").write_text(
        f"---\ntitle: {json.dumps(HOSTILE_TOPIC)}\n---\n\nA topic.\n", "utf-8")
    front = {"title": "Quokka papers and <b>bold</b> claims",
             "authors": [HOSTILE_AUTHOR, "Grace Hopper", "Alan Turing", "Ada Lovelace"],
             "organization": {"name": "evilorg", "fullname": HOSTILE_ORG},
             "topics": ["evil", "regularization"]}
    lines = "".join(f"{key}: {json.dumps(value)}\n" for key, value in front.items())
    (content / "days" / "2026-04-21" / f"{HOSTILE_PAPER}.md").write_text(
        f"---\n{lines}---\n\nQuokka abstract about regularization.\n", "utf-8")
    with serving(root) as url:
        build_into(content, root / SUB_PATH.strip("/"), base_url=url, search=True)
        yield url


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[object]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, site: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    tab = context.new_page()
    tab.errors = []
    tab.tripped = []
    tab.expose_function("__tripwire", lambda where: tab.tripped.append(where))
    tab.on("dialog", lambda dialog: (tab.tripped.append("dialog"), dialog.dismiss()))
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    tab.on("console", lambda m: m.type == "error" and "404" not in m.text
           and tab.errors.append(m.text))
    tab.base = site
    yield tab
    context.close()


def open_page(tab, site_path: str) -> None:
    tab.goto(tab.base + site_path, wait_until="load")


# --- hostile values and Pagefind (issue 16, item 1) ------------------------------------------


def test_hostile_topic_organisation_and_authors_stay_text_on_the_search_page(page) -> None:
    open_page(page, "search/?q=quokka")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
    page.locator(".pagefind-ui__filter-name").first.click()  # open the topic filter
    evil = page.locator(".pagefind-ui__filter-label", has_text="Evil topic").first
    evil.wait_for(state="visible", timeout=15_000)  # its values show once it has opened
    assert "img" in evil.inner_text(), "the topic is listed, its markup shown as text"
    evil.click()
    page.wait_for_timeout(800)  # let the filtered results render
    result = page.locator(".pagefind-ui__result").first.inner_text()
    assert "Quokka papers" in result
    assert page.locator(".pagefind-ui img, .pagefind-ui svg[onload]").count() == 0
    assert page.tripped == [], f"markup ran: {page.tripped}"
    assert page.errors == []


def test_hostile_values_stay_text_on_their_pages(page) -> None:
    for path in (f"papers/{HOSTILE_PAPER}/", DAY, "topics/evil/", "orgs/evilorg/"):
        open_page(page, path)
        assert page.tripped == [], f"{path}: markup ran: {page.tripped}"
    open_page(page, "topics/evil/")
    assert page.locator("h1").inner_text().startswith("<img src=x")  # shown, as text


# --- reading list -----------------------------------------------------------------------


def test_save_a_paper_and_find_it_in_my_papers_with_bibtex(page) -> None:
    open_page(page, DAY)
    card = page.locator("article.card").first
    title = card.locator(".card-title a").inner_text()  # cards say their title once
    star = card.locator("[data-star]")
    assert star.is_visible() and star.get_attribute("aria-pressed") == "false"
    star.click()
    assert star.get_attribute("aria-pressed") == "true"
    assert "Saved" in star.inner_text()
    page.reload()  # kept across visits
    assert page.locator("article.card").first.locator("[data-star]").get_attribute(
        "aria-pressed") == "true"

    open_page(page, "my-papers/")
    items = page.locator("[data-items] li")
    assert items.count() == 1
    assert items.first.locator("a").inner_text() == title
    with page.expect_download() as download_info:
        page.locator("[data-export]").click()
    bib = Path(download_info.value.path()).read_text("utf-8")
    assert bib.startswith("@misc{") and f"title = {{{{{title}}}}}" in bib
    assert "url = {" + page.evaluate("location.origin") in bib

    items.first.locator("button.remove").click()
    assert page.locator("[data-items] li").count() == 0
    assert page.locator("[data-empty]").is_visible()
    assert page.errors == []


def test_bibtex_names_authors_and_the_arxiv_id(page) -> None:
    open_page(page, f"papers/{HOSTILE_PAPER}/")
    page.locator(".paper [data-star]").click()
    open_page(page, "my-papers/")
    with page.expect_download() as download_info:
        page.locator("[data-export]").click()
    bib = Path(download_info.value.path()).read_text("utf-8")
    assert "author = {" in bib and "Ada Lovelace}" in bib
    assert "Quokka papers and <b>bold</b> claims" in bib


def test_a_paper_saved_from_a_card_is_exported_with_every_author(page) -> None:
    open_page(page, DAY)
    paper_id = HOSTILE_PAPER  # four authors: its cards say "et al." after three
    card = page.locator(f"article.card[data-paper='{paper_id}']")
    assert card.locator(".authors").inner_text().endswith("et al.")
    card.locator("[data-star]").click()
    key = page.evaluate("Object.keys(localStorage).find(k => k.endsWith(':papers'))")
    page.wait_for_function(  # the whole list is read from the paper's page
        "([key, id]) => !/ and others$/.test(JSON.parse(localStorage[key])[id].authors)",
        arg=[key, paper_id])
    open_page(page, f"papers/{paper_id}/")
    names = page.evaluate("JSON.parse(document.querySelector("
                          "'script[type=\"application/ld+json\"]').textContent).author"
                          ".map(person => person.name)")
    assert len(names) > 3
    open_page(page, "my-papers/")
    with page.expect_download() as download_info:
        page.locator("[data-export]").click()
    bib = Path(download_info.value.path()).read_text("utf-8")
    assert " and ".join(names[1:]) + "}," in bib and "others" not in bib
    assert page.errors == []


# --- my topics, sorting ----------------------------------------------------------------------


def test_my_topics_highlight_and_filter_cards(page) -> None:
    open_page(page, "topics/")
    button = page.locator("[data-topic='regularization'] [data-mine]")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    open_page(page, DAY)
    mine = page.locator("article.card.is-mine")
    total = page.locator("article.card").count()
    assert 0 < mine.count() < total
    page.locator("[data-mine-only]").check()
    visible = page.locator("ol.cards > li:not([hidden])")
    assert visible.count() == mine.count()
    assert page.errors == []


def test_sorting_a_day_by_title_and_back(page) -> None:
    open_page(page, DAY)
    first_top = page.locator("article.card").first.get_attribute("data-paper")
    page.locator("[data-sort]").select_option("title")
    titles = page.locator("article.card").evaluate_all(
        "cards => cards.map(c => c.dataset.title || "
        "c.querySelector('.card-title a').textContent.trim())")
    assert len(titles) > 10
    assert titles == page.evaluate("t => t.slice().sort((a, b) => a.localeCompare(b))", titles)
    page.locator("[data-sort]").select_option("top")
    assert page.locator("article.card").first.get_attribute("data-paper") == first_top


def test_without_javascript_cards_read_and_no_dead_buttons_show(browser, site) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(site + DAY, wait_until="load")
        assert tab.locator("article.card").count() > 10
        assert tab.locator("[data-star]").count() == 0  # site.js adds the cards' Save buttons
        assert tab.locator("[data-list-tools]").is_hidden()
        tab.goto(site + "my-papers/", wait_until="load")
        assert "needs JavaScript" in tab.locator("main").inner_text()
    finally:
        context.close()


# --- feeds in the browser, the Subscribe page -------------------------------------------------


@pytest.mark.parametrize("feed", ["feed.xml", "atom.xml", "topics/regularization/atom.xml"])
def test_a_feed_opens_as_a_readable_page_with_a_copy_button(browser, site, feed) -> None:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        tab = context.new_page()
        tab.goto(site + feed, wait_until="load")
        assert "This is a feed" in tab.locator("body").inner_text()
        assert tab.locator("ol li").count() > 0
        assert tab.locator("#feed-url").input_value() == site + feed
        tab.locator("#copy").click()
        tab.wait_for_function("document.getElementById('copy').textContent === 'Copied'")
        assert tab.evaluate("navigator.clipboard.readText()") == site + feed
        first = tab.locator("ol li h2 a").first.get_attribute("href")
        assert first.startswith(site + "papers/")
    finally:
        context.close()


def test_the_subscribe_page_lists_every_feed_with_copy_buttons(page) -> None:
    open_page(page, "subscribe/")
    addresses = page.locator(".feed-url").all_inner_texts()
    for name in ("feed.xml", "atom.xml", "feed.json", "digest.xml", "feeds.opml",
                 "topics/regularization/feed.xml", "topics/evil/feed.xml"):
        assert page.base + name in addresses, name
    assert page.locator("button[data-copy]").first.is_visible()
    assert page.tripped == []


# --- one thumb at 390 px --------------------------------------------------------------------

SMALL_TARGETS = """() => Array.from(document.querySelectorAll('a[href], button, select, input'))
  .filter(e => e.offsetParent !== null && !e.closest('.abstract'))  // links in running text
  .filter(e => { const r = e.getBoundingClientRect(); return r.width < 24 || r.height < 24; })
  .map(e => e.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize("site_path", ["", DAY, "week/2026-W17/", "month/2026-04/", "archive/",
                                       "topics/", "trending/", f"papers/{HOSTILE_PAPER}/"])
def test_at_390px_every_control_is_a_24px_target_and_nothing_scrolls_sideways(
        browser, site, site_path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    try:
        tab = context.new_page()
        tab.goto(site + site_path, wait_until="load")
        assert tab.evaluate(SMALL_TARGETS) == []
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        for pill in tab.locator(".day-nav a").all():
            assert pill.bounding_box()["height"] < 40, "prev/next pills stay on one line"
    finally:
        context.close()


def test_go_to_a_day_on_the_home_page_lands_on_the_nearest_listed_day(page) -> None:
    open_page(page, "")
    page.locator("#jump-date").fill("2026-04-25")  # no papers that day: the day before
    page.locator("[data-date-jump] button").click()
    page.wait_for_url("**/digest/date/2026-04-21/")
    assert "21 April 2026" in page.locator("h1").inner_text()
