"""The plain-paragraph fast path renders exactly what Markdown renders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import site_builder.markup as markup
from benchmarks.corpus import generate
from tests.conftest import CONTENT


def through_markdown(text: str) -> str:
    """Render with the fast path switched off."""
    original = markup.only_paragraphs
    markup.only_paragraphs = lambda source: None
    try:
        return markup.MarkupRenderer().block(text)
    finally:
        markup.only_paragraphs = original


def abstracts() -> list[str]:
    seeds = [p.read_text("utf-8").split("---\n", 2)[2].strip("\n")
             for p in sorted((CONTENT / "days").rglob("*.md")) if p.name != "index.md"]
    return seeds + [record["abstract"] for record in generate(400)]


def test_most_abstracts_take_the_fast_path() -> None:
    texts = abstracts()
    fast = [t for t in texts if markup.only_paragraphs(markup.extract_math(t)[0]) is not None]
    assert len(fast) > 0.9 * len(texts)


@pytest.mark.parametrize("text", abstracts()[::7])
def test_fast_path_equals_markdown_on_real_abstracts(text: str) -> None:
    assert markup.MarkupRenderer().block(text) == through_markdown(text)


@pytest.mark.parametrize("text", [
    "One paragraph.\nSame paragraph, next line.", "First.\n\nSecond.", "1. a list item",
    "Ratio 2:1 (approx.) costs 5% more; see https://github.com/a/b.", "Ends with a space ",
    "Three\n\n\nblank lines", "  indented", "- a dash", "= an equals sign", "café 日本語 🎉",
    'He said "hi" and it\'s fine', "Math $O(n^2)$ inline and https://x.org/p?q=1",
])
def test_fast_path_equals_markdown_on_edge_cases(text: str) -> None:
    assert markup.MarkupRenderer().block(text) == through_markdown(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .,;:-+=()%$'\"\n1234567890éπ")), max_size=80))
def test_fast_path_equals_markdown_on_generated_text(text: str) -> None:
    assert markup.MarkupRenderer().block(text) == through_markdown(text)


def test_markdown_still_renders_markup() -> None:
    html = markup.MarkupRenderer().block("Some *emphasis* and a [link](https://x.org/).")
    assert "<em>emphasis</em>" in html and 'href="https://x.org/"' in html
