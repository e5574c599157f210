"""The built site in a real browser (Chromium via Playwright), served under /digest/.

Console errors, clicking through days, search, the 360 px layout, dark mode, the 404 page
at depth, and an axe-core accessibility scan. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import AUTHORS, ServedSite

pytestmark = pytest.mark.browser

KNOWN_TITLE = "Data Filtering Networks"
KNOWN_PAPER = "papers/data-filtering-networks/"
LIGHT_BG, DARK_BG = "rgb(255, 255, 255)", "rgb(15, 17, 21)"

# name -> site path of one page of each kind (search with a query, so results are scanned)
PAGES = {
    "home": "",
    "day": "date/2026-04-21/",
    "topic": "topics/regularization/",
    "paper": KNOWN_PAPER,
    "search": "search/?q=regularization",
    "week": "week/2026-W27/",
    "month": "month/2026-06/",
    "trending": "trending/",
    "org": "orgs/openbmb/",
    "subscribe": "subscribe/",
    "my-papers": "my-papers/",
    "feed": "feed.xml",
}


class Tab:
    """A page of its own browser context that records console errors and failed requests."""

    def __init__(self, browser, site: ServedSite, **context_options):
        self.site = site
        self.context = browser.new_context(**context_options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

    def open(self, site_path: str):
        response = self.page.goto(self.site.url + site_path, wait_until="load")
        return response

    def shot(self, folder: Path, name: str, full_page: bool = True) -> None:
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, served_site: ServedSite) -> Iterator[Tab]:
    opened = Tab(browser, served_site, viewport={"width": 1280, "height": 900})
    yield opened
    opened.close()


def wait_for_results(tab: Tab) -> None:
    tab.page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)


def test_home_page_loads_without_console_errors(tab: Tab, screenshots: Path) -> None:
    response = tab.open("")
    assert response.status == 200
    assert tab.page.title().startswith("Daily Papers")
    assert tab.page.locator("h1").inner_text() == "Daily Papers"
    assert tab.page.evaluate("document.styleSheets.length") >= 1
    tab.shot(screenshots, "home-desktop", full_page=False)
    assert tab.errors == []


@pytest.mark.parametrize("name", [n for n in PAGES if n != "home"])
def test_other_pages_load_without_console_errors(tab: Tab, name: str) -> None:
    assert tab.open(PAGES[name]).status == 200
    if name == "search":
        wait_for_results(tab)
    assert tab.errors == []


def test_previous_and_next_day_by_clicking(tab: Tab, screenshots: Path) -> None:
    tab.open("date/2026-04-21/")
    tab.page.locator(".day-nav a[rel=prev]").first.click()
    tab.page.wait_for_url("**/digest/date/2026-03-11/")
    assert "11 March 2026" in tab.page.locator("h1").inner_text() or \
        "March 11" in tab.page.locator("h1").inner_text()
    assert tab.page.locator(".day-nav a[rel=prev]").count() == 0, "the first day"
    tab.page.locator(".day-nav a[rel=next]").first.click()
    tab.page.wait_for_url("**/digest/date/2026-04-21/")
    tab.page.locator(".day-nav a[rel=next]").first.click()
    tab.page.wait_for_url("**/digest/date/2026-06-26/")
    tab.shot(screenshots, "day-2026-06-26", full_page=False)
    assert tab.errors == []


def test_header_search_finds_a_known_title(tab: Tab, screenshots: Path) -> None:
    tab.open("")
    tab.page.fill("#site-search", KNOWN_TITLE)
    tab.page.press("#site-search", "Enter")
    tab.page.wait_for_url(re.compile(r".*/digest/search/\?q=Data\+Filtering\+Networks$"))
    wait_for_results(tab)
    first = tab.page.locator(".pagefind-ui__result-link").first
    assert first.inner_text().strip() == KNOWN_TITLE
    # one search box on the search page: Pagefind's, holding the query; the tab says it too
    assert tab.page.locator("#site-search").count() == 0
    assert tab.page.locator(".pagefind-ui__search-input").input_value() == KNOWN_TITLE
    assert tab.page.title().startswith(f"\u201c{KNOWN_TITLE}\u201d \u00b7 Search")
    filters = tab.page.locator(".pagefind-ui__filter-name")
    assert "topic" in [t.strip().lower() for t in filters.all_inner_texts()]
    tab.shot(screenshots, "search-results")
    first.click()
    tab.page.wait_for_url("**/digest/" + KNOWN_PAPER)
    assert tab.page.locator("h1").inner_text() == KNOWN_TITLE
    assert tab.errors == []


def test_search_finds_authors_and_filters_by_topic(tab: Tab) -> None:
    tab.open("search/?q=" + AUTHORS[1].replace(" ", "+"))
    wait_for_results(tab)
    links = tab.page.locator(".pagefind-ui__result-link")
    assert links.first.inner_text().strip() == KNOWN_TITLE
    tab.open("search/?q=regularization")
    wait_for_results(tab)
    count = tab.page.locator(".pagefind-ui__message")
    before = count.inner_text()
    tab.page.locator(".pagefind-ui__filter-name").first.click()
    tab.page.locator(".pagefind-ui__filter-label", has_text="Optimal transport").first.click()
    tab.page.wait_for_function(
        "text => document.querySelector('.pagefind-ui__message').innerText !== text", arg=before)
    after = int(count.inner_text().split()[0])
    assert 0 < after < int(before.split()[0])
    assert tab.errors == []


def test_search_page_explains_itself_without_javascript(browser, served_site) -> None:
    tab = Tab(browser, served_site, java_script_enabled=False)
    try:
        tab.open("search/")
        assert "needs JavaScript" in tab.page.locator("main").inner_text()
    finally:
        tab.close()


@pytest.mark.parametrize("name", ["home", "day", "topic", "paper", "search", "archive"])
def test_no_horizontal_scroll_at_360px(browser, served_site, screenshots: Path,
                                       name: str) -> None:
    tab = Tab(browser, served_site, viewport={"width": 360, "height": 740},
              device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        tab.open(PAGES.get(name, "archive/"))
        if name == "search":
            wait_for_results(tab)
        widths = tab.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == 360, f"{name}: content is {widths[0]}px wide"
        tab.shot(screenshots, f"mobile-360-{name}", full_page=False)
    finally:
        tab.close()


@pytest.mark.parametrize("scheme, background", [("light", LIGHT_BG), ("dark", DARK_BG)])
def test_colour_scheme_applies(browser, served_site, screenshots: Path, scheme: str,
                               background: str) -> None:
    tab = Tab(browser, served_site, color_scheme=scheme, viewport={"width": 1280,
                                                                   "height": 900})
    try:
        tab.open(KNOWN_PAPER)
        assert tab.page.evaluate("getComputedStyle(document.body).backgroundColor") == background
        tab.shot(screenshots, f"paper-{scheme}", full_page=False)
        tab.open("search/?q=transport")
        wait_for_results(tab)
        tab.shot(screenshots, f"search-{scheme}", full_page=False)
    finally:
        tab.close()


def test_not_found_page_works_at_any_depth(tab: Tab, screenshots: Path) -> None:
    response = tab.open("no/such/deep/page/")
    assert response.status == 404
    assert tab.page.locator("h1").inner_text() == "Page not found"
    header_bg = tab.page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header_bg == "rgb(246, 247, 249)", "the stylesheet loaded from the base path"
    tab.shot(screenshots, "404-deep", full_page=False)
    tab.page.get_by_role("link", name="archive").first.click()
    tab.page.wait_for_url("**/digest/archive/")
    # the only console message: the 404 status of the page itself, as on GitHub Pages
    assert len(tab.errors) <= 1 and all("404" in error for error in tab.errors), tab.errors


# every page kind at 1280 px; at 390 px the kinds whose layout changes most on a phone
AXE_CASES = [(name, width) for name in PAGES for width in (1280,)] + [
    (name, 390) for name in ("home", "day", "paper", "subscribe")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name, width", AXE_CASES)
def test_no_serious_accessibility_violations(browser, served_site, name: str, width: int,
                                             scheme: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    tab = Tab(browser, served_site, color_scheme=scheme, viewport={"width": width,
                                                                   "height": 900})
    try:
        tab.open(PAGES[name])
        if name == "search":
            wait_for_results(tab)
        if name == "feed":  # Chromium's own notice that it will drop XSLT is not the site's
            tab.page.evaluate("document.querySelectorAll('xslt-warning-banner')"
                              ".forEach(e => e.remove())")
        results = Axe().run(tab.page)
    finally:
        tab.close()
    serious = []
    for violation in results.response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            serious.append(f"{violation['id']} ({violation['impact']}): "
                           f"{violation['help']}: {target}")
    assert serious == [], f"{name} ({scheme}, {width} px):\n" + "\n".join(serious[:20])
