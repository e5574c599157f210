"""Hostile text is inert in every output: pages, JSON-LD, feeds, OPML, sitemap and email.

An XSS corpus goes into every field a paper, topic, note and site.yaml has; the built site is
then read the way a browser and a feed reader would, and must hold no active markup other than
the site's own: no script but JSON-LD (that parses) and the site's own script files, no event
handler attributes, no javascript:/data:/vbscript: URLs, no iframe/object/embed/base/meta refresh.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.build import BuildOptions, build
from site_builder.cli import main
from site_builder.importers.hf_page import PageFormatError, parse_hf_page
from site_builder.markup import MarkupRenderer, plain_title
from tests.conftest import TEMPLATES

PAYLOADS_FILE = Path(__file__).resolve().parent / "fixtures" / "xss" / "payloads.txt"
PAYLOADS = [line for line in PAYLOADS_FILE.read_text("utf-8").splitlines()
            if line and not line.startswith("# ")]
CORPUS = " ".join(PAYLOADS)
JINJA_PRODUCT = str(12345 * 6789)  # the corpus's {{ }} must never be evaluated
HOSTILE_URL = 'https://example.org/x?a="onmouseover=alert(21)&b=<script>alert(22)</script>'
DANGEROUS_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base", "style",
                  "svg", "template", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href",
                  "srcset", "background", "cite", "ping"}
BAD_SCHEME = re.compile(r"^(javascript|data|vbscript):", re.IGNORECASE)
CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]+")
BAD_CSS = re.compile(r"javascript:|vbscript:|expression\s*\(|@import|url\s*\(\s*['\"]?\s*data:",
                     re.IGNORECASE)


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class ActiveMarkupScanner(HTMLParser):
    """Reads HTML the way a browser tokenizer does and lists anything that could run.

    With ``styles`` (an email: its CSS is inlined), style attributes and elements are allowed
    as long as they hold no script URL, ``expression()`` or ``@import``.
    """

    def __init__(self, styles: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.styles = styles
        self._style = False
        self.found = Findings()
        self._script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "style" and self.styles:
            self._style = True
        elif tag in DANGEROUS_TAGS:
            self.found.problems.append(f"<{tag}> element")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.found.problems.append("<meta http-equiv=refresh>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name == "style" and (not self.styles or BAD_CSS.search(value or "")):
                self.found.problems.append(f"style={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                if BAD_SCHEME.match(CONTROL_OR_SPACE.sub("", value)):
                    self.found.problems.append(f"{name}={value!r} on <{tag}>")
        if tag == "script":
            self._script = attributes
            self._script_text = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "style":
            self._style = False
        if tag == "script" and self._script is not None:
            self.found.scripts.append((self._script, "".join(self._script_text)))
            self._script = None

    def handle_data(self, data):
        if self._style and BAD_CSS.search(data):
            self.found.problems.append(f"style element with {BAD_CSS.search(data).group(0)}")
        if self._script is not None:
            self._script_text.append(data)
        else:
            self.found.text.append(data)


def scan_html(markup: str, styles: bool = False) -> Findings:
    scanner = ActiveMarkupScanner(styles)
    scanner.feed(markup)
    scanner.close()
    if scanner._script is not None:  # an unclosed script swallows the rest of the page
        scanner.found.problems.append("unclosed <script>")
    return scanner.found


def active_markup(markup: str, *, site_scripts: bool = False, styles: bool = False) -> list[str]:
    """Everything in an HTML document or fragment that a browser could run.

    With ``site_scripts``, the site's own scripts are allowed: JSON-LD that parses, and
    ``<script src>`` pointing at a file of the site (a relative URL).
    """
    found = scan_html(markup, styles)
    problems = list(found.problems)
    for attributes, body in found.scripts:
        kind = (attributes.get("type") or "").lower()
        src = attributes.get("src")
        if site_scripts and kind == "application/ld+json" and not src:
            try:
                json.loads(body)
            except ValueError:
                problems.append(f"JSON-LD that does not parse: {body[:80]!r}")
            continue
        if site_scripts and src and not re.match(r"^([a-z][a-z0-9+.-]*:|//)", src, re.I):
            if body.strip():
                problems.append(f"<script src={src!r}> with a body")
            continue
        problems.append(f"<script {attributes}>{body[:60]}")
    return problems


def plain_text(markup: str) -> str:
    return " ".join("".join(scan_html(markup).text).split())


# -- the hostile site -----------------------------------------------------------------------

def yaml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars


def hostile_content(root: Path) -> Path:
    (root / "topics").mkdir(parents=True)
    (root / "days" / "2026-04-21").mkdir(parents=True)
    (root / "days" / "2026-04-22").mkdir(parents=True)
    (root / "site.yaml").write_text(
        f"title: {yaml_text('Digest ' + PAYLOADS[0] + PAYLOADS[11])}\n"
        f"description: {yaml_text(CORPUS)}\n"
        f"author: {yaml_text(PAYLOADS[1])}\n"
        "base_url: https://example.org/digest/\n"
        f"email:\n  footer: {yaml_text(CORPUS)}\n  from_name: {yaml_text(PAYLOADS[10])}\n"
        "saved_searches:\n"
        f"  - slug: hostile\n    title: {yaml_text(CORPUS)}\n    any: [alert]\n",
        "utf-8")
    (root / "topics" / "evil.md").write_text(
        f"---\ntitle: {yaml_text('Evil ' + PAYLOADS[12] + PAYLOADS[1])}\n"
        f"keywords: [{yaml_text(PAYLOADS[0])}, script]\n---\n{CORPUS}\n", "utf-8")
    (root / "days" / "2026-04-21" / "index.md").write_text(
        f"---\ntitle: {yaml_text(CORPUS)}\n---\n{CORPUS}\n", "utf-8")
    (root / "days" / "2026-04-22" / "index.md").write_text(CORPUS + "\n", "utf-8")
    for number, payload in enumerate(PAYLOADS):
        day = "2026-04-21" if number % 2 else "2026-04-22"
        meta = {
            "title": f"Paper {number} {payload}",
            "authors": [payload, f"Author {number}", CORPUS[:200]],
            "organization": {"name": f"org{number % 3}{payload.replace('/', '')[:40]}",
                             "fullname": payload},
            "upvotes": number,
            "topics": ["evil"],
            "ai_summary": payload + " " + CORPUS,
            "ai_keywords": [payload, "keyword"],
            "comment": payload,
            "journal_ref": payload,
            "doi": f"10.1234/{payload}",
            "code": HOSTILE_URL,
            "project_page": "https://example.org/</script><script>alert(23)</script>",
            "thumbnail": 'https://example.org/t.png"onerror="alert(24)',
        }
        lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in meta.items()]
        body = f"{payload}\n\n{CORPUS}\n"
        (root / "days" / day / f"paper-{number}.md").write_text(
            "---\n" + "\n".join(lines) + "\n---\n" + body, "utf-8")
    return root


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    content = hostile_content(root / "content")
    out = root / "output"
    build(BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=out, quiet=True,
                       jobs=1))
    return content, out


def html_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html") if not p.relative_to(out).as_posix()
                  .startswith("pagefind/"))


def test_pages_hold_no_active_markup(hostile_site):
    _content, out = hostile_site
    pages = html_files(out)
    assert len(pages) > 30
    problems = {}
    for page in pages:
        text = page.read_text("utf-8")
        found = active_markup(text, site_scripts=True)
        if found:
            problems[page.relative_to(out).as_posix()] = found[:5]
        assert JINJA_PRODUCT not in text, page
    assert problems == {}


def test_json_ld_round_trips_the_hostile_title(hostile_site):
    _content, out = hostile_site
    for number, payload in enumerate(PAYLOADS):
        page = (out / "papers" / f"paper-{number}" / "index.html").read_text("utf-8")
        scripts = [body for attrs, body in scan_html(page).scripts
                   if attrs.get("type") == "application/ld+json"]
        assert len(scripts) == 1, "exactly one JSON-LD block, not closed early by the title"
        article = json.loads(scripts[0])
        assert article["headline"] == plain_title(f"Paper {number} {payload}")  # math as text
        assert "</" not in scripts[0]


def test_hostile_text_is_shown_as_text(hostile_site):
    """Inert does not mean lost: a title with markup characters reads the same on its page."""
    _content, out = hostile_site
    for number, payload in enumerate(PAYLOADS):
        page = (out / "papers" / f"paper-{number}" / "index.html").read_text("utf-8")
        heading = re.search(r"<h1>(.*?)</h1>", page, re.S)
        assert heading, number
        if "$" not in payload:
            assert plain_text(heading.group(1)) == " ".join(f"Paper {number} {payload}".split())
        assert f"Comment: {' '.join(payload.split())}" in plain_text(page)


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.suffix in (".xml", ".opml") and p.is_file())


RSS_HTML = {"description", "encoded"}  # RSS readers render these as HTML


def feed_html(out: Path, rss_tags: set[str]) -> dict[str, list[str]]:
    """Active markup in the feed elements a reader renders as HTML, by file and element."""
    problems: dict[str, list[str]] = {}
    for path in feed_files(out):
        root = ET.parse(path).getroot()  # well-formed XML, whatever the titles hold
        atom = root.tag.endswith("}feed")
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            if atom:
                kind = element.get("type", "text")
                if kind == "html":
                    markup = element.text or ""
                elif kind == "xhtml":
                    markup = "".join(ET.tostring(child, encoding="unicode") for child in element)
                else:
                    continue  # Atom text constructs are plain text by definition
            elif tag in rss_tags:
                markup = element.text or ""
            else:
                continue
            found = active_markup(markup)
            if found:
                problems.setdefault(f"{path.relative_to(out)} <{tag}>", found[:3])
    return problems


def test_feeds_parse_and_their_content_is_inert(hostile_site):
    _content, out = hostile_site
    assert feed_html(out, {"encoded"}) == {}
    for path in feed_files(out):
        for element in ET.parse(path).getroot().iter():
            for name, value in element.attrib.items():
                if name.rsplit("}", 1)[-1] in ("href", "url", "xmlUrl", "htmlUrl", "src"):
                    assert not BAD_SCHEME.match(CONTROL_OR_SPACE.sub("", value)), (path, value)


def test_rss_descriptions_are_inert(hostile_site):
    _content, out = hostile_site
    assert feed_html(out, RSS_HTML) == {}


def test_json_feed_carries_no_active_markup(hostile_site):
    _content, out = hostile_site
    feed = json.loads((out / "feed.json").read_text("utf-8"))
    assert feed["items"]
    for item in feed["items"]:
        assert active_markup(item.get("content_html", "")) == [], item["id"]  # summary: text
        for key in ("url", "external_url", "image"):
            assert not BAD_SCHEME.match(item.get(key, "")), item


def test_digest_email_carries_no_active_markup(hostile_site, tmp_path, capsys):
    content, out = hostile_site
    eml = tmp_path / "digest.eml"
    code = main(["email", "--feed", str(out / "digest.xml"), "--latest", "--content",
                 str(content), "--templates", str(TEMPLATES), "--out", str(eml)])
    assert code == 0, capsys.readouterr().err
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    html_part = message.get_body(("html",))
    assert html_part is not None
    markup = html_part.get_content()
    assert active_markup(markup, styles=True) == []
    assert JINJA_PRODUCT not in markup
    text_part = message.get_body(("plain",))
    assert text_part is not None and JINJA_PRODUCT not in text_part.get_content()


def test_sitemap_and_robots_are_clean(hostile_site):
    _content, out = hostile_site
    ET.parse(out / "sitemap.xml")
    robots = (out / "robots.txt").read_text("utf-8")
    assert "<" not in robots


# -- hostile imports ------------------------------------------------------------------------

HF_PAGE_HEAD = "Daily Papers\nby AK and the research community\nApr 21\n"
hostile_line = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.sampled_from(["·", "• 3 authors", "Apr 29, 2024", "Feb 30", "Jan 27 12", "Subscribe",
                     "new", "", "  ", "Sep 31, 2024 5", "Dec 99"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(hostile_line, max_size=25), header=st.booleans())
def test_hf_page_parser_survives_hostile_pages(lines, header):
    """Any text either parses or fails with PageFormatError; what it parses renders inert."""
    text = (HF_PAGE_HEAD if header else "") + "\n".join(lines)
    try:
        papers = parse_hf_page(text, "page.txt", today=dt.date(2026, 4, 21))
    except PageFormatError as exc:
        assert exc.line >= 1
        return
    renderer = MarkupRenderer()
    for paper in papers:
        assert paper.origin.startswith("page.txt:")
        assert active_markup(renderer.inline(paper.title)) == []
        assert active_markup(renderer.block(paper.abstract)) == []
