"""The plain-text rendering of abstracts (feed summaries, digest abstracts, the email): it says
what the HTML shows, with math as its TeX source (issue 14, items 1 and 4)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.importers import ImportOptions, parse_sources
from site_builder.markup import MATH_RE, MarkupRenderer, math_as_tex, plain_from_markdown

SEEDS = sorted((Path(__file__).resolve().parent / "fixtures" / "seeds").glob("*.txt"))
renderer = MarkupRenderer()


def shown_text(fragment: str) -> str:
    """What a browser shows of sanitised HTML, with each formula read as its TeX (from the
    MathML's alttext), whitespace collapsed: an independent reading of the HTML."""
    tex = re.sub(r'<math\b[^>]*\balttext="([^"]*)"[^>]*>.*?</math>',
                 lambda m: f"${html.escape(html.unescape(m.group(1)))}$", fragment,
                 flags=re.S)  # an attribute may hold '<' raw or as '&lt;' (nh3 releases differ)
    tex = re.sub(r"<li\b[^>]*>", " - ", tex)  # a list item reads "- item"
    blocks = re.sub(r"</?(?:p|li|ul|ol|blockquote|pre|h\d|tr|td|th|hr|br|table)\b[^>]*>", " ", tex)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("source", "expected"), [
    ("We train $D_\\theta(x_t, t)$ on it.", "We train $D_\\theta(x_t, t)$ on it."),
    ("Score $\\nabla_x \\log p_t(x)$ here.", "Score $\\nabla_x \\log p_t(x)$ here."),
    ("(e.g. x < y && y > z) holds.", "(e.g. x < y && y > z) holds."),
    ("*a* and _b_ and **c** with [a link](https://x.org/) and `co_de_`",
     "a and b and c with a link and co_de_"),
    ("$10^6$ steps, $O(n \\log n)$ time, $\\sqrt{n}$ error",
     "$10^6$ steps, $O(n \\log n)$ time, $\\sqrt{n}$ error"),
    ("First paragraph.\n\nSecond & last.", "First paragraph.\n\nSecond & last."),
])
def test_plain_text_keeps_what_the_html_shows(source, expected):
    assert plain_from_markdown(source) == expected


def seed_abstracts() -> list[str]:
    papers = parse_sources([str(seed) for seed in SEEDS[:3]], ImportOptions()).papers
    return [paper.abstract for paper in papers if paper.abstract]


def test_every_seed_abstract_reads_the_same_in_plain_text_and_html():
    abstracts = seed_abstracts()
    assert len(abstracts) > 100
    for abstract in abstracts:
        block, plain = renderer.block_and_plain(abstract)
        assert flat(plain) == shown_text(block), abstract
        for span in MATH_RE.findall(abstract):
            assert f"${span}$" in plain
        for char in "<>&":
            assert plain.count(char) >= abstract.count(char) - abstract.count("&amp;"), abstract


WORDS = st.sampled_from(["x", "y", "model", "a_b", "_", "*", "**", "<", ">", "&", "&&",
                         "$x_t$", "$D_\\theta(x)$", "$10^6$", "$a < b$", "$p_t$ and $q_t$",
                         "x<y", "y>z", "A&B", "&amp;", "<b>", "</i>", "\\*", "`c_d`"])
TEXT = st.lists(st.tuples(WORDS, st.sampled_from([" ", " ", "", "\n", "\n\n"])),
                min_size=1, max_size=40).map(lambda parts: "".join(w + s for w, s in parts))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_generated_text_reads_the_same_in_plain_text_and_html(text):
    block, plain = renderer.block_and_plain(text)
    assert flat(plain) == shown_text(block)
    for span in MATH_RE.findall(text):
        if not re.search(r"`|<[a-z/]", text):  # math inside code is code; <y ...> is a tag
            assert f"${span}$" in plain


def test_mathml_carries_its_tex_for_readers_that_do_not_render_it():
    block = renderer.block("Grows as $O(n \\log n)$.")
    assert 'alttext="O(n \\log n)"' in block
    assert '<annotation encoding="application/x-tex">O(n \\log n)</annotation>' in block
    assert re.search(r"<math[^>]*><semantics><mrow>.*</mrow><annotation", block)
    assert math_as_tex(block) == '<p>Grows as <span class="math">$O(n \\log n)$</span>.</p>'


def test_tex_with_markup_characters_stays_escaped_in_feed_html():
    block = renderer.block("Bound $a < b \\& c$ holds.")
    assert "<math" in block
    assert math_as_tex(block) == \
        '<p>Bound <span class="math">$a &lt; b \\&amp; c$</span> holds.</p>'
