"""Markdown, math and sanitising: content text becomes safe HTML, whatever it holds."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.frontmatter import CONTROL_RE
from site_builder.markup import (
    MAX_OPENERS,
    MarkupRenderer,
    plain_from_markdown,
    plain_text,
    sanitise,
    truncate,
)
from tests.test_security import PAYLOADS, active_markup, scan_html

renderer = MarkupRenderer()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_block_leaves_no_active_markup(payload):
    assert active_markup(renderer.block(payload)) == []
    assert active_markup(renderer.block(f"Intro.\n\n{payload}\n\n- item {payload}\n")) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_inline_escapes_everything_but_math(payload):
    html = renderer.inline(payload)
    assert active_markup(html) == []
    tags = {tag for tag in _tags(html)}
    assert tags <= {"math", "mrow", "mi", "mn", "mo", "msup", "mtext", "code", "semantics",
                    "annotation"}


def _tags(html: str) -> list[str]:
    return re.findall(r"<([a-z]+)", html)


def test_inline_output_is_safe_in_an_attribute_too():
    html = renderer.inline('He said "hi" & \'bye\' <b>')
    assert '"' not in html and "'" not in html and "<b>" not in html
    assert plain_text(html) == "He said \"hi\" & 'bye' <b>"


def test_markdown_links_keep_only_web_and_mail_schemes():
    html = renderer.block("[a](https://ok.example/) [b](mailto:x@example.org) "
                          "[c](javascript:alert(1)) [d](JAVASCRIPT:alert(1)) [e](data:text/html,x)"
                          " [f](vbscript:x) [g](ftp://files.example/)")
    assert 'href="https://ok.example/"' in html
    assert 'href="mailto:x@example.org"' in html
    for bad in ("javascript", "JAVASCRIPT", "data:", "vbscript", "ftp:"):
        assert bad not in html
    assert 'rel="noopener nofollow ugc"' in html


def test_math_renders_as_mathml():
    html = renderer.block("Loss $\\mathcal{L} = x^2$ here.")
    assert "<math" in html and "<msup>" in html


def test_math_inside_a_link_address_or_title_stays_source():
    html = renderer.block('[a](http://x.org/$x$) <a href="http://y/$a$" title="$b$">t</a> $y$')
    found = scan_html(html)
    assert found.problems == []
    assert 'href="http://x.org/$x$"' in html
    assert 'title="$b$"' in html
    assert html.count("<math") == 1  # only the $y$ in text


def test_math_inside_code_stays_source():
    html = renderer.block("`$x$` and\n\n    $y$\n\nbut $z$")
    assert "<code>$x$</code>" in html
    assert "$y$" in html
    assert html.count("<math") == 1


def test_math_that_does_not_parse_is_shown_as_code():
    html = renderer.block("bad $\\frac{$ math")
    assert active_markup(html) == []


def test_money_is_not_math():
    assert "<math" not in renderer.block("It costs $5 and $10.")


def test_placeholder_characters_in_content_are_harmless():
    html = renderer.block("\ue0000\ue001 and $x$ and \ue000999\ue001")
    assert "<math" in html and "\ue000" not in html


@pytest.mark.parametrize("text", [
    "[" * 20_000,
    "<b>" * 20_000,
    "- " * 5_000 + "x",
    "> " * 20_000 + "x",
    "".join("  " * i + "- x\n" for i in range(300)),
    "![" * 10_000,
    "<http://" * 5_000,
    "$" + "x^" * 20_000 + "$",
    "word " * 30_000,
])
def test_pathological_text_renders_quickly_and_safely(text):
    started = time.perf_counter()
    html = renderer.block(text)
    assert time.perf_counter() - started < 2.0
    assert active_markup(html) == []
    assert html.startswith("<")


def test_many_links_still_render_as_markdown():
    text = " ".join(f"[ref {i}](https://example.org/{i})" for i in range(MAX_OPENERS - 10))
    assert renderer.block(text).count("<a ") == MAX_OPENERS - 10


def test_plain_helpers():
    assert plain_text("<p>a &amp; <b>b</b></p>") == "a & b"
    assert plain_from_markdown("**bold** [link](http://x) `code`") == "bold link code"
    assert truncate("one two three", 8) == "one two…"
    assert truncate("short", 10) == "short"


def test_sanitise_drops_comments_and_unknown_tags():
    assert sanitise("<p>a<!-- secret --><custom>b</custom></p>") == "<p>ab</p>"


# -- properties ---------------------------------------------------------------------------

markdown_bits = st.sampled_from([
    "*", "**", "_", "`", "```", "[", "]", "(", ")", "<", ">", "!", "#", "-", "1.", "\n", "\n\n",
    "    ", "$", "\\", "&", "&amp;", "&#x3c;", "http://x.org", "javascript:", "<script>", "</",
    "<a href=", '"', "'", "=", "onerror=", "<img src=x ", "<svg", "<math>", "<mtext>", "\ue000",
    "\ue001", "|", "---", ">", "<!--", "-->", "<![CDATA[", "]]>", "{{", "}}", "%", "\u202e",
])
hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(markdown_bits, st.text(max_size=5)), max_size=60).map("".join),
    st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=4).map("\n\n".join),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_text)
def test_block_never_fails_and_never_lets_markup_through(text):
    html = renderer.block(text)
    assert isinstance(html, str)
    assert active_markup(html) == []
    assert "\ue000" not in html and "\ue001" not in html


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_text)
def test_inline_never_fails_and_keeps_the_text(text):
    html = renderer.inline(text)
    assert active_markup(html) == []
    if "$" not in text:  # without math, the visible text is exactly the input
        cleaned = text.replace("\ue000", "").replace("\ue001", "")
        cleaned = CONTROL_RE.sub(" ", cleaned)  # plain text goes to feeds: no control chars
        assert plain_text(html) == " ".join(cleaned.split())
