"""Markdown, inline LaTeX (as MathML) and sanitising: content text becomes safe HTML here."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser

import latex2mathml.converter
import markdown
import nh3

from site_builder import urls
from site_builder.frontmatter import CONTROL_RE

# $...$ on one line, not preceded by a backslash or followed by a digit (so "$5 and $10" stays).
MATH_RE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)")
PLACEHOLDER = "\ue000{}\ue001"  # private-use characters: survive Markdown and nh3
PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")
# Braces end a URL: abstracts copied from LaTeX have "\url{http://x.org/}" and "{LOST".
BARE_URL_RE = re.compile(
    r"(?<![(<\"'=\]])\bhttps?://[^\s<>()\[\]{}]*[^\s<>()\[\]{}.,;:!?'\"]")
TAG_RE = re.compile(r"<[^>]+>")
# sanitised HTML as tags and text (nh3 escapes '<' and '>' inside attribute values)
TOKEN_RE = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*>|[^<]+|<")
LITERAL_TAGS = {"code", "pre"}  # math inside these stays as its $...$ source

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
    "minsize", "maxsize", "displaystyle", "scriptlevel", "encoding", "alttext",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
    **{tag: set(MATH_ATTRIBUTES) for tag in MATH_TAGS},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Python-Markdown is quadratic or worse on some inputs (thousands of '[' or '<', lists nested
# hundreds deep); text past these limits is shown as plain paragraphs instead of stalling a build.
MAX_MARKDOWN_CHARS = 100_000
MAX_OPENERS = 500  # '[' or '<' in one text
MAX_INDENT = 40  # leading spaces and quote/list markers on one line
MAX_LINES = 500  # Python-Markdown's block parser is quadratic in lines ("a\n=\n" repeated)
MAX_MATH_CHARS = 2_000
NESTING_RE = re.compile(r"^(?:[ \t]|(?:[>*+-]|\d{1,9}[.)])(?=[ \t]))+", re.MULTILINE)


# configured once: building the allowlists per call costs more than cleaning an abstract
CLEANER = nh3.Cleaner(tags=HTML_TAGS | MATH_TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="noopener nofollow ugc", strip_comments=True)


def sanitise(fragment: str) -> str:
    """Keep an allowlist of tags, attributes and URL schemes; drop everything else (and the
    control characters the sanitiser makes of entities such as '&#1;')."""
    return CONTROL_RE.sub(" ", CLEANER.clean(fragment))


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str) -> str:
    """Inline LaTeX as sanitised MathML; the escaped source when it does not parse."""
    try:
        if len(latex) > MAX_MATH_CHARS:
            raise ValueError(latex)
        mathml = latex2mathml.converter.convert(latex)
    except Exception:  # latex2mathml raises many kinds of errors on bad input
        return f'<code class="tex">{html.escape(f"${latex}$")}</code>'
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")
    return sanitise(with_tex_source(mathml, latex))


MATH_OPEN_RE = re.compile(r"^(<math\b[^>]*)>(.*)</math>$", re.S)


def with_tex_source(mathml: str, latex: str) -> str:
    """The TeX source inside the MathML, for what does not render MathML: ``alttext`` (screen
    readers, feeds, see ``math_as_tex``) and a TeX annotation (copy and paste), which browsers
    do not show (only the first child of ``<semantics>`` is rendered)."""
    match = MATH_OPEN_RE.match(mathml)
    if match is None:
        return mathml
    tex = html.escape(latex, quote=True)
    return (f'{match.group(1)} alttext="{tex}"><semantics><mrow>{match.group(2)}</mrow>'
            f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math>')


MATHML_RE = re.compile(r'<math\b[^>]*?\balttext="([^"]*)"[^>]*>.*?</math>', re.S)


def math_as_tex(fragment: str) -> str:
    """Sanitised HTML with each MathML formula replaced by its ``$TeX$`` source.

    For feeds: text readers (newsboat, rss2email) print the text of every MathML element, so
    ``$10^6$`` would read "106"; no markup makes them skip it while a browser renders it."""
    # the attribute as the sanitiser wrote it ('<' raw or as '&lt;', by nh3 release): as text
    return MATHML_RE.sub(lambda m: '<span class="math">$'
                         f'{html.escape(html.unescape(m.group(1)), quote=False)}$</span>', fragment)


# Math that is only a super- or subscript ("SP$^2$OT", "$_{\\text{ft}}$"): it belongs to the
# text before it, so it becomes <sup>/<sub> instead of MathML with an empty base.
SCRIPT_ONLY_RE = re.compile(r"\s*([\^_])\s*(?:\{([^{}]*)\}|(\\[A-Za-z]+|[^\s{}\\]))\s*")
SIMPLE_SCRIPT_RE = re.compile(r"[A-Za-z0-9+\-=*'., ]*")
SUPERSCRIPTS = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
SUBSCRIPTS = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def script_only(latex: str) -> tuple[str, str] | None:
    """("sup" or "sub", the script's LaTeX) for math that is a lone script, else None."""
    match = SCRIPT_ONLY_RE.fullmatch(latex)
    if match is None:
        return None
    inner = match.group(2) if match.group(2) is not None else match.group(3)
    return ("sup" if match.group(1) == "^" else "sub"), inner


def math_html(latex: str) -> str:
    """Inline math as HTML: MathML, or <sup>/<sub> for a lone script."""
    script = script_only(latex)
    if script is None:
        return latex_to_mathml(latex)
    tag, inner = script
    body = html.escape(inner) if SIMPLE_SCRIPT_RE.fullmatch(inner) else latex_to_mathml(inner)
    return f"<{tag}>{body}</{tag}>"


def plain_math(latex: str) -> str:
    """Inline math as readable plain text (for <title>, link previews, JSON-LD)."""
    script = script_only(latex)
    if script is not None:
        tag, inner = script
        table = SUPERSCRIPTS if tag == "sup" else SUBSCRIPTS
        converted = inner.translate(table)
        if all(ord(ch) > 127 for ch in converted):
            return converted
        return ("^" if tag == "sup" else "_") + plain_math(inner)
    if "^" in latex or "_" in latex:  # x^2, a_i: the source reads better than "x2"
        latex = FONT_COMMAND_RE.sub("", latex)
        return " ".join(latex.replace("{", "").replace("}", "").split())
    rendered = ANNOTATION_RE.sub("", latex_to_mathml(latex))  # its TeX copy is not text
    return "".join(TAG_RE.sub("", html.unescape(rendered)).split())


ANNOTATION_RE = re.compile(r"<annotation\b[^>]*>.*?</annotation>", re.S)


def plain_title(text: str) -> str:
    """A title as plain text with its math made readable: "SP$^2$OT" -> "SP²OT"."""
    return MATH_RE.sub(lambda m: plain_math(m.group(1)), text)


DOI_RE = re.compile(r"\b(?:doi:\s*)?(?P<doi_id>10\.\d{4,9}/[^\s<>\"{}]*[^\s<>\"{}.,;:!?)\]])",
                    re.I)
LINKABLE_RE = re.compile(f"(?P<url>{BARE_URL_RE.pattern})|(?P<doi>{DOI_RE.pattern})", re.I)
FONT_COMMAND_RE = re.compile(r"\\(?:text|math[a-z]*|operatorname|boldsymbol)\b")


def linkify(text: str) -> str:
    """Plain text (an arXiv comment) as escaped HTML with its URLs and DOIs as links."""
    parts: list[str] = []
    last = 0
    for match in LINKABLE_RE.finditer(text):
        parts.append(html.escape(text[last:match.start()]))
        shown = match.group(0)
        target = shown if match.group("url") else urls.doi(match.group("doi_id"))
        parts.append(f'<a href="{html.escape(target)}" rel="noopener">{html.escape(shown)}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def extract_math(text: str) -> tuple[str, list[str]]:
    """Swap ``$...$`` spans for placeholders that Markdown and the sanitiser leave alone (the
    placeholders' own characters are dropped from the text first)."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(1))
        return PLACEHOLDER.format(len(spans) - 1)

    return MATH_RE.sub(keep, text.replace("\ue000", "").replace("\ue001", "")), spans


def restore_math(fragment: str, spans: list[str], tex: bool = False) -> str:
    """Put the math back: as MathML in text, as its escaped ``$...$`` source inside attributes
    (a link's address or title) and inside code, where markup would be wrong or unsafe.
    With ``tex``, as its source everywhere (for the plain-text rendering)."""
    if not spans:
        return fragment

    def source(match: re.Match[str]) -> str:
        return html.escape(f"${spans[int(match.group(1))]}$")

    def mathml(match: re.Match[str]) -> str:
        return math_html(spans[int(match.group(1))])

    parts: list[str] = []
    literal = 0
    for token in TOKEN_RE.finditer(fragment):
        text = token.group(0)
        name = (token.group(2) or "").lower()
        if name:
            if name in LITERAL_TAGS:
                literal = max(0, literal - 1) if token.group(1) else literal + 1
            parts.append(PLACEHOLDER_RE.sub(source, text))
        else:
            parts.append(PLACEHOLDER_RE.sub(source if literal or tex else mathml, text))
    return "".join(parts)


class MarkupRenderer:
    """One Markdown instance, reused for every paper (it is reset between documents)."""

    def __init__(self) -> None:
        self._md = markdown.Markdown(extensions=["sane_lists"], output_format="html")

    def block(self, text: str) -> str:
        """A Markdown document (an abstract, a note) as sanitised HTML with MathML."""
        return self.block_and_plain(text)[0]

    def block_and_plain(self, text: str) -> tuple[str, str]:
        """The HTML and the plain text (see ``text_of``, math as its ``$TeX$`` source) of one
        parse, so the plain text says what the HTML shows."""
        if not text.strip():
            return "", ""
        fragment, spans = self._parse(text)
        return restore_math(fragment, spans), text_of(restore_math(fragment, spans, tex=True))

    def _parse(self, text: str) -> tuple[str, list[str]]:
        """Sanitised HTML with math still as placeholders, and the math spans."""
        source, spans = extract_math(text)
        if too_complex(source):
            return plain_paragraphs(source), spans
        fast = only_paragraphs(source)
        if fast is not None:
            return sanitise(BARE_URL_RE.sub(link_url, fast)), spans
        self._md.reset()
        try:
            converted = self._md.convert(BARE_URL_RE.sub(r"<\g<0>>", source))
        except RecursionError:  # nesting the limits above did not catch
            self._md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
            return plain_paragraphs(source), spans
        return sanitise(converted), spans

    @staticmethod
    def inline(text: str) -> str:
        """A one-line plain text (a title) as escaped HTML, with its math as MathML. Quotes are
        escaped too, so the result is safe in an attribute as well as in text."""
        source, spans = extract_math(text)
        return restore_math(html.escape(source, quote=True), spans)


# Text that Markdown would turn into nothing but paragraphs: no character that starts inline
# syntax or an entity, no line that starts a block, no hard line break, single blank lines
# between paragraphs. Most abstracts are like this; tests check the two paths agree.
INLINE_SYNTAX_RE = re.compile(r"[\\`*_\[\]<>!&#|~\t\r\f\v]")
BLOCK_START_RE = re.compile(r"^(?:[ ]|[-+=>]|\d+[.)](?:\s|$))|[ ]$|\n\n\n", re.M)


def only_paragraphs(source: str) -> str | None:
    """Plain paragraphs as HTML without running Markdown, or None when Markdown is needed."""
    if INLINE_SYNTAX_RE.search(source) or BLOCK_START_RE.search(source):
        return None
    return "\n".join(f"<p>{paragraph}</p>" for paragraph in source.strip("\n").split("\n\n"))


def link_url(match: re.Match[str]) -> str:
    url = html.escape(match.group(0))
    return f'<a href="{url}">{url}</a>'


def too_complex(source: str) -> bool:
    """True for text that Markdown would take far too long on (see MAX_OPENERS)."""
    return (len(source) > MAX_MARKDOWN_CHARS or source.count("\n") > MAX_LINES
            or max(source.count("["), source.count("<")) > MAX_OPENERS
            or any(len(match.group(0)) > MAX_INDENT for match in NESTING_RE.finditer(source)))


def plain_paragraphs(source: str) -> str:
    """Text as escaped paragraphs (blank lines separate them), without Markdown."""
    paragraphs = re.split(r"\n[ \t]*\n", source)
    return "\n".join(f"<p>{html.escape(' '.join(p.split()))}</p>"
                     for p in paragraphs if p.strip())


def plain_text(fragment: str) -> str:
    """HTML as plain text: tags removed, entities decoded, whitespace collapsed."""
    text = html.unescape(TAG_RE.sub(" ", fragment))
    return " ".join(CONTROL_RE.sub(" ", text).split())  # '&#1;' decodes to U+0001


def plain_from_markdown(text: str) -> str:
    """A Markdown source as plain text: what its HTML shows, math as its ``$TeX$`` source."""
    return shared_renderer().block_and_plain(text)[1]


@lru_cache(maxsize=1)
def shared_renderer() -> MarkupRenderer:
    return MarkupRenderer()


TEXT_BLOCKS = {"p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "hr",
               "ol", "ul", "table", "div", "br"}


class TextOf(HTMLParser):
    """Text of sanitised HTML: character references decoded, whitespace collapsed within a
    paragraph, one paragraph per block element, a list item starting with "- "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._words: list[str] = []

    def _end_paragraph(self) -> None:
        paragraph = " ".join("".join(self._words).split())
        if paragraph:
            self.paragraphs.append(paragraph)
        self._words = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in TEXT_BLOCKS:
            self._end_paragraph()
        if tag == "li":
            self._words.append("- ")
        elif tag in ("td", "th"):
            self._words.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in TEXT_BLOCKS:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        self._words.append(data)


def text_of(fragment: str) -> str:
    """Sanitised HTML as plain text (see ``TextOf``); paragraphs joined by a blank line."""
    parser = TextOf()
    parser.feed(fragment)
    parser.close()
    parser._end_paragraph()
    return CONTROL_RE.sub(" ", "\n\n".join(parser.paragraphs))  # '&#1;' decodes to U+0001


def truncate(text: str, limit: int) -> str:
    """Cut plain text at a word boundary, adding an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


SNIPPET_CHARS = 240  # a listing card's taste of the abstract: two or three lines


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a plain-text abstract (``Paper.summary``) for a card or link preview: one
    line of text, its ``$TeX$`` made readable as in titles (``$O(n^2)$`` -> ``O(n^2)``), cut
    at a word boundary with an ellipsis. Plain text: the template escapes it."""
    return truncate(" ".join(plain_title(text).split()), limit)
