"""Search across monthly indexes in a real browser: the search page merges every month's
Pagefind index, so a paper from the oldest month and one from a month a later build added
are both found (issue 18, item 3)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import CONTENT, build_into
from tests.e2e.conftest import SUB_PATH, launched_chromium, require_browser, serving

pytestmark = pytest.mark.browser

OLD_TITLE = ("Adapt then Unlearn: Exploring Parameter Space Semantics for Unlearning in "
             "Generative Adversarial Networks")  # listed in March 2026, the oldest month
NEW_TITLE = "Zebrafish Lattice Sieves for Quasicrystal Tilings"  # a July day, added later


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("pages")
    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT, content)
    out = root / SUB_PATH.strip("/")
    with serving(root) as url:
        build_into(content, out, base_url=url, search=True)
        day = content / "days" / "2026-07-01"
        day.mkdir()
        (day / "zebrafish-lattice-sieves.md").write_text(
            f"---\ntitle: {NEW_TITLE}\nupvotes: 4\ntopics: []\n---\n\n"
            "Aperiodic tilings from sieves.\n", "utf-8")
        build_into(content, out, base_url=url, search=True)  # incremental: a new month
        assert (out / "pagefind" / "2026-07").is_dir()
        yield url


def first_result(page, url: str, query: str) -> str:
    page.goto(url + "search/?q=" + query.replace(" ", "+"), wait_until="load")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
    return page.locator(".pagefind-ui__result-link").first.inner_text().strip()


def test_search_finds_papers_of_the_oldest_and_the_newest_month(site_url: str) -> None:
    with launched_chromium() as chromium:
        context = chromium.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        assert first_result(page, site_url, "Adapt then Unlearn") == OLD_TITLE
        assert first_result(page, site_url, "Zebrafish Quasicrystal") == NEW_TITLE
        link = page.locator(".pagefind-ui__result-link").first
        link.click()
        page.wait_for_url("**/digest/papers/zebrafish-lattice-sieves/")
        assert page.locator("h1").inner_text() == NEW_TITLE
        context.close()
        assert errors == []
