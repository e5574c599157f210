"""In Chromium (issue 14, items 4 and 12): MathML with its TeX annotation still renders as
math (the annotation is not shown), and the paper page's "Copy BibTeX" button copies the
entry."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MATH_ABSTRACT_PAPER, ServedSite

pytestmark = pytest.mark.browser
MATH_PAPER = "papers/sp-2-ot-semantic-regularized-progressive-partial-optimal-transport-for/"


def test_math_renders_and_its_tex_annotation_is_hidden(browser, served_site: ServedSite):
    """The abstract of ``MATH_ABSTRACT_PAPER`` holds $\\nabla_x \\log p_t(x)$ (conftest)."""
    page = browser.new_page()
    try:
        page.goto(served_site.url + f"papers/{MATH_ABSTRACT_PAPER}/", wait_until="load")
        math = page.locator(".abstract math").first
        assert math.count() == 1
        box = math.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
        assert page.locator(".abstract annotation").first.is_hidden()
        assert math.get_attribute("alttext") == "\\nabla_x \\log p_t(x)"
        shown = page.locator(".abstract").inner_text()
        assert "\\nabla" not in shown and "p_t" not in shown  # the TeX is not shown as text
    finally:
        page.close()


def test_copy_bibtex_copies_the_entry(browser, served_site: ServedSite):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(served_site.url + MATH_PAPER, wait_until="load")
        button = page.get_by_role("button", name="Copy BibTeX")
        button.click()
        page.wait_for_function("document.querySelector('button[data-copy]').textContent "
                               "=== 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("@misc{sp-2-ot-") and copied.rstrip().endswith("}")
        assert copied == page.locator("#bibtex").inner_text()
    finally:
        context.close()
