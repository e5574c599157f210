"""The injection corpus: 92 payloads that call the global ``__pwned(n)`` if they ever run go
into every field of papers, topics, notes and ``site.yaml``, and through every importer (the
HF API, JSON Lines, arXiv Atom and RSS, a copied page); the site is built once and every
output kind is read as a browser, a feed reader and a mail client would: pages, RSS/Atom,
JSON Feed, OPML, sitemap, the digest email's headers and HTML. tests/e2e/test_injection_browser.py
opens the same site in Chromium with the tripwire installed."""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from site_builder.build import BuildOptions, build
from site_builder.cli import main
from tests.conftest import TEMPLATES, search_enabled
from tests.test_security import (
    BAD_SCHEME,
    CONTROL_OR_SPACE,
    JINJA_PRODUCT,
    RSS_HTML,
    active_markup,
    feed_files,
    feed_html,
    html_files,
)

PAYLOADS = [line for line in (Path(__file__).resolve().parent / "fixtures" / "xss" /
                              "tripwire.txt").read_text("utf-8").splitlines()
            if line and not line.startswith("# ")]
ALL = "\n\n".join(PAYLOADS)
IMPORT_RECORDS = 19  # each record carries five payloads: 95 placements per importer


def yaml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def payload(number: int) -> str:
    return PAYLOADS[number % len(PAYLOADS)]


def write_content(root: Path) -> Path:
    """Every content field, with every payload somewhere in it."""
    (root / "topics").mkdir(parents=True)
    (root / "days" / "2026-04-21").mkdir(parents=True)
    (root / "site.yaml").write_text(
        f"title: {yaml_text('Digest ' + payload(0))}\n"
        f"description: {yaml_text(' '.join(PAYLOADS))}\n"
        f"author: {yaml_text(payload(1))}\n"
        "base_url: https://example.org/digest/\n"
        f"email:\n  footer: {yaml_text(' '.join(PAYLOADS))}\n"
        f"  from_name: {yaml_text(payload(3))}\n"
        f"  subject: {yaml_text('<script>__pwned(0)</script> {title} {papers}')}\n"
        "saved_searches:\n"
        f"  - slug: hostile\n    title: {yaml_text(payload(11) + payload(1))}\n"
        "    any: [paper]\n", "utf-8")
    (root / "topics" / "evil.md").write_text(
        f"---\ntitle: {yaml_text('Evil ' + payload(1))}\n"
        f"keywords: [{yaml_text(payload(2))}, pwned]\n---\n{ALL}\n", "utf-8")
    (root / "days" / "2026-04-21" / "index.md").write_text(
        f"---\ntitle: {yaml_text(payload(5))}\n---\n{ALL}\n", "utf-8")
    for number, text in enumerate(PAYLOADS):
        meta = {
            "title": f"Paper {number} {text}",
            "authors": [text, f"Author {number}"],
            "organization": {"name": f"Org {number} {text}"[:60], "fullname": text},
            "upvotes": number,
            "topics": ["evil"],
            "ai_summary": text,
            "ai_keywords": [text],
            "comment": text,
            "journal_ref": text,
            "doi": f"10.1234/{text}",
            "categories": [text],
        }
        lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in meta.items()]
        (root / "days" / "2026-04-21" / f"paper-{number}.md").write_text(
            "---\n" + "\n".join(lines) + f"\n---\n{text}\n", "utf-8")
    return root


def hf_api_source(folder: Path) -> Path:
    items = [{"paper": {
        "id": f"2604.{10000 + n}", "title": f"API {n} {payload(5 * n)}",
        "summary": payload(5 * n + 1), "authors": [{"name": payload(5 * n + 2)}],
        "ai_summary": payload(5 * n + 3), "ai_keywords": [payload(5 * n + 4)],
        "organization": {"name": f"api-org-{n}", "fullname": payload(5 * n + 4)},
        "githubRepo": f"javascript:__pwned({n})", "projectPage": payload(5 * n)},
        "publishedAt": "2026-04-22T08:00:00Z"} for n in range(IMPORT_RECORDS)]
    path = folder / "api.json"
    path.write_text(json.dumps(items), "utf-8")
    return path


def jsonl_source(folder: Path) -> Path:
    lines = [json.dumps({
        "id": f"jsonl-{n}", "title": f"JSONL {n} {payload(5 * n + 1)}",
        "abstract": payload(5 * n + 2), "authors": [payload(5 * n + 3)],
        "comment": payload(5 * n + 4), "journal_ref": payload(5 * n), "listed": "2026-04-23",
        "organization": {"name": f"jsonl-org-{n}", "fullname": payload(5 * n + 2)}})
        for n in range(IMPORT_RECORDS)]
    path = folder / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def atom_source(folder: Path) -> Path:
    entries = "".join(
        f"<entry><id>http://arxiv.org/abs/2604.{20000 + n}v1</id>"
        f"<title>{escape('Atom ' + str(n) + ' ' + payload(5 * n + 2))}</title>"
        f"<summary>{escape(payload(5 * n + 3))}</summary>"
        f"<author><name>{escape(payload(5 * n + 4))}</name></author>"
        f"<arxiv:comment>{escape(payload(5 * n))}</arxiv:comment>"
        f"<arxiv:journal_ref>{escape(payload(5 * n + 1))}</arxiv:journal_ref>"
        "<published>2026-04-24T00:00:00Z</published></entry>" for n in range(IMPORT_RECORDS))
    path = folder / "atom.xml"
    path.write_text('<feed xmlns="http://www.w3.org/2005/Atom" '
                    'xmlns:arxiv="http://arxiv.org/schemas/atom">' + entries + "</feed>", "utf-8")
    return path


def rss_source(folder: Path) -> Path:
    items = "".join(
        f"<item><title>{escape('RSS ' + str(n) + ' ' + payload(5 * n + 3))}</title>"
        f"<link>https://arxiv.org/abs/2604.{30000 + n}</link>"
        f"<description>{escape(f'arXiv:2604.{30000 + n}v1 Announce Type: new ')}\n"
        f"{escape('Abstract: ' + payload(5 * n + 4) + ' ' + payload(5 * n))}</description>"
        f"<guid>oai:arXiv.org:2604.{30000 + n}v1</guid>"
        f"<dc:creator>{escape(payload(5 * n + 1) + ', ' + payload(5 * n + 2))}</dc:creator>"
        "<arxiv:announce_type>new</arxiv:announce_type></item>" for n in range(IMPORT_RECORDS))
    path = folder / "feed.rss"
    path.write_text(
        '<rss version="2.0" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>cs.CL</title>'
        "<pubDate>Sat, 25 Apr 2026 00:00:00 -0400</pubDate>" + items + "</channel></rss>",
        "utf-8")
    return path


def hf_page_source(folder: Path) -> Path:
    blocks = [f"Page {n} {' '.join(payload(5 * n + 4).split())}\n\n"
              f"{' '.join((payload(5 * n) + ' ' + payload(5 * n + 1)).split())}\n\n"
              "  • 3 authors\n·\nApr 20, 2026" for n in range(IMPORT_RECORDS)]
    path = folder / "page.txt"
    path.write_text("Daily Papers\n\nbyAK and the research community\n\nApr 26\n\n"
                    + "\n\n".join(blocks) + "\n", "utf-8")
    return path


SOURCES = {"hf-api": hf_api_source, "jsonl": jsonl_source, "arxiv": atom_source,
           "arxiv-rss": rss_source, "hf-page": hf_page_source}


def make_injection_site(root: Path, out: Path | None = None, base_url: str | None = None,
                        ) -> tuple[Path, Path, dict[str, str]]:
    """Content with every payload in every field and through every importer, built."""
    content = write_content(root / "content")
    reports = {}
    for name, make in SOURCES.items():
        source = make(root)
        code = main(["import", str(source), "--content", str(content), "--format", name,
                     "--topic", "evil", "--json"])
        assert code == 0, f"{name} import failed"
        reports[name] = name
    out = out or root / "output"
    with search_enabled():  # the search index's metadata and filters are an output too
        build(BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=out,
                           quiet=True, jobs=1, base_url=base_url))
    return content, out, reports


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    content, out, _reports = make_injection_site(tmp_path_factory.mktemp("injection"))
    return content, out


def test_the_corpus_is_big_enough():
    assert len(PAYLOADS) >= 80
    assert len(set(PAYLOADS)) == len(PAYLOADS)


def test_every_importer_brought_its_papers(injected):
    content, _out = injected
    days = {folder.name: len(list(folder.glob("*.md"))) for folder in (content / "days").iterdir()}
    assert days["2026-04-21"] == len(PAYLOADS) + 1  # the hand-written papers and the note
    for day in ("2026-04-22", "2026-04-23", "2026-04-24", "2026-04-25", "2026-04-26"):
        assert days.get(day, 0) == IMPORT_RECORDS, (day, days)


def test_pages_hold_no_active_markup(injected):
    _content, out = injected
    problems = {}
    for page in html_files(out):
        text = page.read_text("utf-8")
        found = active_markup(text, site_scripts=True)
        if found:
            problems[page.relative_to(out).as_posix()] = found[:3]
        assert JINJA_PRODUCT not in text, page
    assert problems == {}


def test_feeds_are_well_formed_and_inert(injected):
    _content, out = injected
    assert len(feed_files(out)) > 5
    assert feed_html(out, RSS_HTML) == {}
    for path in feed_files(out):
        for element in ET.parse(path).getroot().iter():
            for name, value in element.attrib.items():
                if name.rsplit("}", 1)[-1] in ("href", "url", "xmlUrl", "htmlUrl", "src"):
                    assert not BAD_SCHEME.match(CONTROL_OR_SPACE.sub("", value)), (path, value)
            if element.tag.rsplit("}", 1)[-1] in ("link", "loc", "guid", "id", "uri"):
                text = CONTROL_OR_SPACE.sub("", element.text or "")
                assert not BAD_SCHEME.match(text), (path, element.tag, text)


def test_json_feeds_are_inert(injected):
    _content, out = injected
    feeds = sorted(out.rglob("*.json"))
    feeds = [f for f in feeds if not f.relative_to(out).as_posix().startswith("pagefind/")]
    assert feeds
    for path in feeds:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or "items" not in data:
            continue
        for item in data["items"]:
            assert active_markup(item.get("content_html", "")) == [], (path, item["id"])
            for key in ("url", "external_url", "image", "id"):
                assert not BAD_SCHEME.match(CONTROL_OR_SPACE.sub("", str(item.get(key, "")))), \
                    (path, item)


def test_sitemap_and_robots_are_inert(injected):
    _content, out = injected
    for path in out.glob("sitemap*.xml"):
        for element in ET.parse(path).getroot().iter():
            if element.tag.endswith("loc"):
                assert element.text.startswith("https://example.org/digest/"), element.text
    assert "<" not in (out / "robots.txt").read_text("utf-8")


def test_the_digest_email_is_inert(injected, tmp_path, capsys):
    content, out = injected
    for extra in ([], ["--saved-search", "hostile"]):
        eml = tmp_path / f"digest{len(extra)}.eml"
        code = main(["email", "--feed", str(out / "digest.xml"), "--date", "2026-04-21",
                     "--content", str(content), "--templates", str(TEMPLATES), "--out", str(eml),
                     "--from", "a@example.org", *extra])
        err = capsys.readouterr().err
        assert code == 0 and eml.is_file(), err
        raw = eml.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for header in ("Subject", "From"):
            assert "\n" not in str(message[header]) and "\r" not in str(message[header])
        # headers are text to a mail client; what matters is that none was added
        assert set(message.keys()) <= {"Subject", "Date", "Message-ID", "MIME-Version",
                                        "Content-Type", "From", "To", "List-Unsubscribe",
                                        "List-Unsubscribe-Post", "List-Id", "X-Entity-Ref-ID",
                                        "Auto-Submitted", "Precedence"}, message.keys()
        html_part = message.get_body(("html",))
        assert html_part is not None
        markup = html_part.get_content()
        assert active_markup(markup, styles=True) == []
        assert JINJA_PRODUCT not in markup
        text_part = message.get_body(("plain",))
        assert text_part is not None and JINJA_PRODUCT not in text_part.get_content()


MARKUP_START = re.compile(rb"<[A-Za-z/!?]")  # in CBOR, '<' is only ever followed by such a byte
# inside a text string: page numbers are bytes below 0x18 or 0x18/0x19-prefixed


def test_the_search_index_metadata_and_filters_are_inert(injected):
    """Pagefind's interface puts filter names, filter values and metadata into the page as
    HTML (issue 16, item 1): no value it was handed may hold a tag."""
    _content, out = injected
    index = out / "pagefind"
    fragments = sorted(index.glob("*/fragment/*.pf_fragment"))  # one index per month
    filters = sorted(index.glob("*/filter/*.pf_filter"))
    assert fragments and filters
    hostile_values = 0
    for path in fragments:
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(b"pagefind_dcd"), path
        fragment = json.loads(data[len(b"pagefind_dcd"):])
        values = [*fragment["meta"].values()]
        for name, found in fragment["filters"].items():
            values += [name, *found]
        for value in values:
            assert "<" not in value and ">" not in value, (path.name, value)
            hostile_values += "\uff1c" in value  # '<' made inert: the payloads did get there
    assert hostile_values, "no hostile value reached the index: the test checks nothing"
    for path in filters:
        data = gzip.decompress(path.read_bytes())
        assert not MARKUP_START.search(data), (path.name, MARKUP_START.search(data))
