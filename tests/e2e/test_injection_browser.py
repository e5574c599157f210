"""The injection corpus in Chromium: every page kind of the site built from
tests/test_injection_corpus.py is opened with a global tripwire ``__pwned`` installed; no
payload may call it, open a dialog, navigate away, or log a script error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from site_builder import urls
from tests.e2e.conftest import SUB_PATH, launched_chromium, require_browser, serving
from tests.test_injection_corpus import PAYLOADS, make_injection_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRIPWIRE = """
window.__hits = [];
window.__pwned = function (n) { window.__hits.push(String(n)); };
"""
PAGES = ["", "date/2026-04-21/", "date/2026-04-22/", "date/2026-04-23/", "date/2026-04-24/",
         "date/2026-04-25/", "date/2026-04-26/", "topics/evil/", "topics/", "orgs/",
         urls.saved_search("hostile"), "not-a-page/", *(f"papers/paper-{n}/"
                                                        for n in range(0, len(PAYLOADS), 23))]


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("injection-browser")
    served = root / "served"
    served.mkdir()
    with serving(served) as url:
        make_injection_site(root, out=served / SUB_PATH.strip("/"), base_url=url)
        yield url


@pytest.fixture(scope="module")
def chromium(site_url: str) -> Iterator[object]:
    with launched_chromium() as browser:
        yield browser


def visit(chromium, site_url: str, path: str) -> dict[str, list[str]]:
    """Open one page with the tripwire; what ran, which dialogs opened, which errors."""
    context = chromium.new_context()
    context.add_init_script(TRIPWIRE)
    local = site_url.split("/digest/")[0]
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(local)
                  else route.abort())  # no request leaves the machine
    page = context.new_page()
    found: dict[str, list[str]] = {"dialogs": [], "errors": [], "navigations": []}
    page.on("dialog", lambda dialog: (found["dialogs"].append(dialog.message),
                                      dialog.dismiss()))
    page.on("pageerror", lambda exc: found["errors"].append(str(exc)))
    page.on("framenavigated", lambda frame: frame != page.main_frame
            and found["navigations"].append(frame.url))
    page.goto(site_url + path, wait_until="load")
    page.wait_for_timeout(300)  # autofocus, ontoggle and animation handlers fire late
    for element in page.query_selector_all("main a, main button, main summary")[:8]:
        try:
            element.hover(timeout=100)
        except Exception:  # noqa: BLE001 - hidden or detached: nothing to hover
            pass
    found["hits"] = page.evaluate("window.__hits")
    if not page.url.startswith(site_url):
        found["navigations"].append(page.url)
    context.close()
    return found


@pytest.mark.parametrize("path", PAGES)
def test_no_payload_runs_in_chromium(chromium, site_url, path):
    found = visit(chromium, site_url, path)
    assert found["hits"] == [], f"payloads ran on /{path}: {found['hits']}"
    assert found["dialogs"] == []
    assert found["navigations"] == []
    assert [e for e in found["errors"] if "pwned" in e] == []


def test_the_tripwire_works(chromium, site_url):
    """A page that does run a payload is caught (so the test above can fail)."""
    context = chromium.new_context()
    context.add_init_script(TRIPWIRE)
    page = context.new_page()
    page.goto(site_url, wait_until="load")
    page.set_content('<img src=x onerror="__pwned(1)">')
    page.wait_for_timeout(200)
    assert page.evaluate("window.__hits") == ["1"]
    context.close()
