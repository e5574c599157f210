"""Fixtures for browser tests: the site built for a GitHub project path and served like Pages.

One build and one Chromium per test module. The site (the embedded content, plus author
names on one paper) is built with the base URL ``http://127.0.0.1:PORT/digest/`` into
``<tmp>/digest`` and the parent folder is served, so
every page lives under ``/digest/`` as on ``https://<user>.github.io/<repo>/``; unknown
paths get the site's ``404.html`` with status 404, as GitHub Pages does.

Debian's Chromium is used (``/usr/bin/chromium`` or ``$CHROMIUM``); no browser is
downloaded. Without it (or without Playwright) the browser tests skip with the reason,
except when ``CI=true``: there a missing browser fails them, so CI never passes silently.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CONTENT, REPO, build_into

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
SUB_PATH = "/digest/"
# the seed papers have author counts but no names: give one paper names to search for
AUTHORED_PAPER = "data-filtering-networks"
AUTHORS = ("Alex Fang", "Albin Madappally Jose", "Vaishaal Shankar")
# and one abstract some inline math, to see MathML rendered in the page
MATH_ABSTRACT_PAPER = "data-selection-for-language-models-via-importance-resampling"
MATH_SENTENCE = "\n\nThe score uses $\\nabla_x \\log p_t(x)$.\n"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--font-render-hinting=none"]


def browser_missing() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright or axe-playwright-python is not installed ({exc.name})"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    return ""


def require_browser() -> None:
    reason = browser_missing()
    if not reason:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


class PagesHandler(http.server.SimpleHTTPRequestHandler):
    """Static files like GitHub Pages: a missing path gets the site's 404.html."""

    def log_message(self, format: str, *args) -> None:
        pass

    def send_error(self, code, message=None, explain=None) -> None:
        page = Path(self.directory) / SUB_PATH.strip("/") / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextlib.contextmanager
def serving(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 as GitHub Pages would; yields the URL of ``root/digest/``
    (known before the site is built, so it can be the build's base URL)."""
    handler = functools.partial(PagesHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{SUB_PATH}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def launched_chromium() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass(frozen=True)
class ServedSite:
    url: str  # http://127.0.0.1:PORT/digest/
    out: Path  # the built output folder


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSite]:
    require_browser()
    root = tmp_path_factory.mktemp("pages")
    content = tmp_path_factory.mktemp("content") / "content"
    shutil.copytree(CONTENT, content)
    paper = content / "days" / "2026-04-21" / f"{AUTHORED_PAPER}.md"
    text = paper.read_text("utf-8").replace("author_count: 6\n", "")
    paper.write_text(text.replace("---\n", f"---\nauthors: [{', '.join(AUTHORS)}]\n", 1), "utf-8")
    math_paper = content / "days" / "2026-04-21" / f"{MATH_ABSTRACT_PAPER}.md"
    math_paper.write_text(math_paper.read_text("utf-8") + MATH_SENTENCE, "utf-8")
    with serving(root) as url:
        yield ServedSite(url, build_into(content, root / SUB_PATH.strip("/"), base_url=url,
                                         search=True))


@pytest.fixture(scope="module")
def browser(served_site: ServedSite) -> Iterator[object]:
    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
