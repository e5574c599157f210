"""Markdown, inline LaTeX (as MathML) and sanitising: content text becomes safe HTML here."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import latex2mathml.converter
import markdown
import nh3

# $...$ on one line, not preceded by a backslash or followed by a digit (so "$5 and $10" stays).
MATH_RE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)")
PLACEHOLDER = "\ue000{}\ue001"  # private-use characters: survive Markdown and nh3
PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")
BARE_URL_RE = re.compile(r"(?<![(<\"'=\]])\bhttps?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"]")
TAG_RE = re.compile(r"<[^>]+>")

HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h3", "h4", "h5", "h6", "hr",
    "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul", "span",
}
MATH_TAGS = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot",
    "mstyle", "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup", "munder",
    "mover", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "semantics", "annotation",
}
MATH_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder",
    "columnalign", "columnspacing", "rowspacing", "width", "height", "depth", "lspace",
    "rspace", "linethickness", "notation", "movablelimits", "form", "symmetric", "largeop",
    "minsize", "maxsize", "displaystyle", "scriptlevel", "encoding",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    **{tag: set(MATH_ATTRIBUTES) for tag in MATH_TAGS},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(fragment: str) -> str:
    """Keep an allowlist of tags, attributes and URL schemes; drop everything else."""
    return nh3.clean(
        fragment,
        tags=HTML_TAGS | MATH_TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow ugc",
        strip_comments=True,
    )


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str) -> str:
    """Inline LaTeX as sanitised MathML; the escaped source when it does not parse."""
    try:
        mathml = latex2mathml.converter.convert(latex)
    except Exception:  # latex2mathml raises many kinds of errors on bad input
        return f'<code class="tex">{html.escape(latex)}</code>'
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")
    return sanitise(mathml)


def extract_math(text: str) -> tuple[str, list[str]]:
    """Swap ``$...$`` spans for placeholders that Markdown and the sanitiser leave alone."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(1))
        return PLACEHOLDER.format(len(spans) - 1)

    return MATH_RE.sub(keep, text), spans


def restore_math(fragment: str, spans: list[str]) -> str:
    return PLACEHOLDER_RE.sub(lambda m: latex_to_mathml(spans[int(m.group(1))]), fragment)


class MarkupRenderer:
    """One Markdown instance, reused for every paper (it is reset between documents)."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=["sane_lists"], output_format="html")

    def block(self, text: str) -> str:
        """A Markdown document (an abstract, a note) as sanitised HTML with MathML."""
        if not text.strip():
            return ""
        source, spans = extract_math(text.replace("\ue000", "").replace("\ue001", ""))
        source = BARE_URL_RE.sub(r"<\g<0>>", source)
        self._md.reset()
        rendered = sanitise(self._md.convert(source))
        return restore_math(rendered, spans)

    @staticmethod
    def inline(text: str) -> str:
        """A one-line plain text (a title) as escaped HTML, with its math as MathML."""
        source, spans = extract_math(text.replace("\ue000", "").replace("\ue001", ""))
        return restore_math(html.escape(source, quote=False), spans)


def plain_text(fragment: str) -> str:
    """HTML as plain text: tags removed, entities decoded, whitespace collapsed."""
    text = TAG_RE.sub(" ", fragment)
    return " ".join(html.unescape(text).split())


def plain_from_markdown(text: str) -> str:
    """A Markdown source as readable plain text (math stays as its LaTeX source)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]{1,3}([^*_`]+)[*_`]{1,3}", r"\1", text)
    text = TAG_RE.sub(" ", text)
    return " ".join(html.unescape(text).split())


def truncate(text: str, limit: int) -> str:
    """Cut plain text at a word boundary, adding an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
