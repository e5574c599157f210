"""Feeds: every file parses, counts and order, stable guids and bytes, absolute URLs, OPML."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest

from site_builder import urls
from site_builder.build import BuildOptions, build, load_site
from site_builder.feeds import feed_specs
from site_builder.render import make_environment
from tests.conftest import CONTENT

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "site_builder" / "theme"
EMBEDDED = ROOT / "content"
BASE = "https://example.org/digest/"
NS = {"atom": "http://www.w3.org/2005/Atom",
      "content": "http://purl.org/rss/1.0/modules/content/",
      "dc": "http://purl.org/dc/elements/1.1/"}

HOSTILE_TITLE = '<script>alert("t")</script> Hostile & "quoted" <b>title</b>'
SITE_YAML = """\
title: Test Papers
description: Papers for the feed and email tests.
base_url: https://example.org/digest/
feed_size: 6
topic_feed_size: 3
digest_size: 2
email:
  from_name: Papers Bot
  list_unsubscribe: mailto:unsubscribe@example.org
  footer: Sent by the test suite.
saved_searches:
  - slug: vision
    title: Vision papers
    topics: [vision]
  - slug: acme-popular
    title: Popular at Acme
    organizations: [acme]
    min_upvotes: 5
  - slug: diffusion
    title: Diffusion
    any: [diffusion]
"""
TOPICS = {
    "vision": "---\ntitle: Vision\nkeywords: [image, images]\n---\nSeeing machines.\n",
    "theory": "---\ntitle: Theory\n---\nBounds and proofs.\n",
}
# (day, id, front matter lines, abstract)
PAPERS = [
    ("2026-04-13", "old-vision", "title: Old Vision Paper\nupvotes: 3\ntopics: [vision]",
     "An old paper about seeing."),
    ("2026-04-13", "old-theory", "title: Old Theory Paper\nupvotes: 7\ntopics: [theory]",
     "An old paper about bounds."),
    ("2026-04-20", "diffusion-images",
     "title: Diffusion for Images\nupvotes: 12\nauthors: [Ada Lovelace, Alan Turing]\n"
     "organization: {name: acme, fullname: Acme Research}\n"
     "pdf: https://arxiv.org/pdf/2604.00003\ncode: https://github.com/acme/diffusion\n"
     "arxiv: https://arxiv.org/abs/2604.00003",
     "We denoise pictures with *diffusion*."),
    ("2026-04-20", "a-bound", "title: A Bound on Everything\nupvotes: 1\ntopics: [theory]",
     "A bound."),
    ("2026-04-21", "scaling-laws",
     "title: Scaling $x^2$ Laws\nupvotes: 41\n"
     "authors: [Grace Hopper, Edsger Dijkstra, Barbara Liskov, Donald Knuth, John McCarthy, "
     "Frances Allen, Ken Thompson]\n"
     "organization: {name: acme, fullname: Acme Research}\n"
     "pdf: https://arxiv.org/pdf/2604.00005\ncode: https://github.com/acme/scaling\n"
     "arxiv: https://arxiv.org/abs/2604.00005\nproject_page: https://acme.example/scaling\n"
     "github_stars: 1234\ntopics: [theory]",
     "Loss falls as $x^2$ grows.\n\nA second paragraph with a [link](https://example.com/)."),
    ("2026-04-21", "hostile",
     f"title: {json.dumps(HOSTILE_TITLE)}\nupvotes: 5\nauthors: ['<i>Mallory</i>']",
     'Abstract with <img src=x onerror=alert(1)> and <script>alert(2)</script> and '
     '[a link](javascript:alert(3)) and <a href="javascript:alert(4)">another</a>.'),
    ("2026-04-21", "quiet-paper", "title: Quiet Paper\nupvotes: 0\nauthor_count: 14",
     "Nobody upvoted this."),
    ("2026-04-21", "acme-images",
     "title: Acme Images at Scale\nupvotes: 3\norganization: {name: acme}",
     "Many images, processed quickly."),
]
NOTE = "---\ntitle: Editor's pick\n---\nRead **Scaling** first.\n\nMore on [our blog](https://blog.example.org/).\n"
DAY_ORDER = {  # listing order of each day: upvotes, then title
    "2026-04-21": ["scaling-laws", "hostile", "acme-images", "quiet-paper"],
    "2026-04-20": ["diffusion-images", "a-bound"],
    "2026-04-13": ["old-theory", "old-vision"],
}


def write_content(root: Path) -> Path:
    """A small content folder with every feature the feeds and the email show."""
    (root / "topics").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML, "utf-8")
    for slug, text in TOPICS.items():
        (root / "topics" / f"{slug}.md").write_text(text, "utf-8")
    for day, paper_id, meta, abstract in PAPERS:
        folder = root / "days" / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{paper_id}.md").write_text(f"---\n{meta}\n---\n{abstract}\n", "utf-8")
    (root / "days" / "2026-04-21" / "index.md").write_text(NOTE, "utf-8")
    return root


def build_into(content: Path, out: Path, base_url: str | None = BASE) -> Path:
    """Build a site (without the search index, which these tests do not look at)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITE_BUILDER_PAGEFIND", "off")
        build(BuildOptions(content, TEMPLATES, out, base_url, jobs=1, quiet=True))
    return out


def paper_url(paper_id: str) -> str:
    return f"{BASE}papers/{paper_id}/"


def feed_paths(out: Path) -> list[Path]:
    """Every RSS and Atom file of a built site."""
    names = {"feed.xml", "atom.xml", "digest.xml", "weekly.xml"}
    return sorted(p for p in out.rglob("*.xml") if p.name in names)


def parse(path: Path) -> feedparser.FeedParserDict:
    return feedparser.parse(path.read_bytes())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("feeds")
    return build_into(write_content(root / "content"), root / "out")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("embedded")
    shutil.copytree(EMBEDDED, root / "content")
    return build_into(root / "content", root / "out")


# -- every feed parses ---------------------------------------------------------------------

def test_every_feed_file_exists_and_parses(site):
    expected = ["feed.xml", "atom.xml", "digest.xml", "weekly.xml",
                *(f"topics/{slug}/{name}" for slug in TOPICS for name in ("feed.xml", "atom.xml")),
                *(f"feeds/{slug}/{name}" for slug in ("vision", "acme-popular", "diffusion")
                  for name in ("feed.xml", "atom.xml"))]
    for name in expected:
        assert (site / name).is_file(), name
    for path in feed_paths(site):
        parsed = parse(path)
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        assert parsed.version in ("rss20", "atom10"), path


def test_embedded_content_feeds_parse(embedded):
    paths = feed_paths(embedded)
    topics = [p for p in (EMBEDDED / "topics").iterdir() if p.suffix == ".md"]
    assert len(paths) == 4 + 2 * len(topics)
    for path in paths:
        parsed = parse(path)
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        assert parsed.entries or path.parent.parent.name == "topics", path


# -- counts, order and item fields ----------------------------------------------------------

def test_site_feed_lists_newest_papers_in_listing_order(site):
    expected = DAY_ORDER["2026-04-21"] + DAY_ORDER["2026-04-20"]  # feed_size: 6
    for name in ("feed.xml", "atom.xml"):
        entries = parse(site / name).entries
        assert [e.id for e in entries] == [paper_url(i) for i in expected], name
    items = json.loads((site / "feed.json").read_text("utf-8"))["items"]
    assert [item["id"] for item in items] == [paper_url(i) for i in expected]


def test_rss_item_fields(site):
    root = ET.parse(site / "feed.xml").getroot()
    item = next(i for i in root.iter("item") if i.findtext("guid") == paper_url("scaling-laws"))
    assert item.findtext("title") == "Scaling $x^2$ Laws"
    assert item.findtext("link") == paper_url("scaling-laws")
    assert item.find("guid").get("isPermaLink") == "true"
    assert item.findtext("pubDate") == "Tue, 21 Apr 2026 00:00:00 +0000"
    creators = [c.text for c in item.findall("dc:creator", NS)]
    assert len(creators) == 1  # readers show only the last of several dc:creator
    assert creators[0].startswith("Grace Hopper, Edsger Dijkstra, ")
    assert len(creators[0].split(", ")) == 7
    categories = item.findall("category")
    assert [(c.text, c.get("domain")) for c in categories] == [
        ("Theory", BASE + "topics/theory/")]
    description = item.findtext("description")
    assert description.startswith("Loss falls as $x^2$ grows.") and "<" not in description
    content = item.findtext("content:encoded", namespaces=NS)
    # text readers print MathML's every element: feeds carry the TeX (issue 14, item 4)
    assert "<math" not in content and '<span class="math">$x^2$</span>' in content
    assert "A second paragraph" in content
    for link in ("https://arxiv.org/pdf/2604.00005", "https://github.com/acme/scaling",
                 "https://acme.example/scaling", BASE + "orgs/acme/"):
        assert f'href="{link}"' in content


def test_atom_entry_fields(site):
    entry = parse(site / "atom.xml").entries[0]
    assert entry.id == paper_url("scaling-laws")
    assert entry.link == paper_url("scaling-laws")
    assert entry.published == entry.updated == "2026-04-21T00:00:00+00:00"
    assert entry.author.startswith("Grace Hopper, Edsger Dijkstra, Barbara Liskov, ")
    assert entry.content[0].type == "text/html" and "$x^2$" in entry.content[0].value
    assert entry.summary_detail.type == "text/plain"
    assert [(t.term, t.label) for t in entry.tags] == [("theory", "Theory")]
    related = {link.title: link.href for link in entry.links if link.rel == "related"}
    assert related["PDF"] == "https://arxiv.org/pdf/2604.00005"
    assert related["Code"] == "https://github.com/acme/scaling"


def test_json_feed_is_json_feed_1_1(site):
    feed = json.loads((site / "feed.json").read_text("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE + "feed.json" and feed["home_page_url"] == BASE
    first = feed["items"][0]
    assert first["url"] == first["id"] == paper_url("scaling-laws")
    assert first["date_published"] == "2026-04-21T00:00:00Z"
    assert first["authors"][0] == {"name": "Grace Hopper"}
    assert first["tags"] == ["Theory"]
    assert first["external_url"] == "https://arxiv.org/abs/2604.00005"
    assert first["attachments"] == [{"url": "https://arxiv.org/pdf/2604.00005",
                                     "mime_type": "application/pdf"}]
    assert all(item["content_html"] and item["summary"] for item in feed["items"])


def test_channel_dates_are_the_newest_item_not_the_build_time(site):
    for path in feed_paths(site):
        parsed = parse(path)
        if not parsed.entries:
            continue
        newest = max(e.published_parsed for e in parsed.entries)
        channel = parsed.feed.get("updated_parsed")
        assert channel == newest, path
    root = ET.parse(site / "feed.xml").getroot()
    assert root.findtext("channel/lastBuildDate") == "Tue, 21 Apr 2026 00:00:00 +0000"


def test_topic_feeds_list_the_topic_newest_first(site):
    theory = [e.id for e in parse(site / "topics/theory/feed.xml").entries]
    # scaling-laws (21 Apr), a-bound (20 Apr), old-theory (13 Apr): topic_feed_size is 3
    assert theory == [paper_url(i) for i in ("scaling-laws", "a-bound", "old-theory")]
    vision = [e.id for e in parse(site / "topics/vision/atom.xml").entries]
    assert vision == [paper_url(i) for i in ("acme-images", "diffusion-images", "old-vision")]
    assert parse(site / "topics/vision/feed.xml").feed.link == BASE + "topics/vision/"


def test_saved_search_feeds(site):
    popular = [e.id for e in parse(site / "feeds/acme-popular/feed.xml").entries]
    assert popular == [paper_url("scaling-laws"), paper_url("diffusion-images")]
    diffusion = [e.id for e in parse(site / "feeds/diffusion/atom.xml").entries]
    assert diffusion == [paper_url("diffusion-images")]


def test_digest_has_one_item_per_day_newest_first(site):
    parsed = parse(site / "digest.xml")
    assert [e.id for e in parsed.entries] == [BASE + "date/2026-04-21/",
                                              BASE + "date/2026-04-20/"]  # digest_size: 2
    assert parsed.feed.title == "Test Papers: daily digest"  # not the site feed's title
    first = parsed.entries[0]
    assert first.link == first.id
    assert first.title == "Tuesday 21 April 2026: 4 papers"
    assert first.published == "Tue, 21 Apr 2026 00:00:00 +0000"
    html = first.content[0].value
    assert "Editor&#x27;s pick" in html or "Editor's pick" in html
    assert "our blog" in html
    positions = [html.index(paper_url(i)) for i in DAY_ORDER["2026-04-21"]]
    assert positions == sorted(positions)
    assert '<b class="upvotes">41</b>' in html and "Acme Research" in html
    assert "Grace Hopper" in html and "14 authors" in html


def test_weekly_lists_finished_weeks_with_their_top_papers(site):
    parsed = parse(site / "weekly.xml")
    assert [e.id for e in parsed.entries] == [BASE + "week/2026-W16/"]  # W17 is not over
    html = parsed.entries[0].content[0].value
    assert html.index(paper_url("old-theory")) < html.index(paper_url("old-vision"))
    assert parsed.entries[0].published == "Mon, 13 Apr 2026 00:00:00 +0000"


# -- stability ------------------------------------------------------------------------------

def feed_bytes(out: Path) -> dict[str, bytes]:
    files = [*feed_paths(out), out / "feed.json", out / "feeds.opml"]
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def test_unchanged_site_rebuilds_to_byte_identical_feeds(tmp_path):
    content = write_content(tmp_path / "content")
    first = feed_bytes(build_into(content, tmp_path / "one"))
    second = feed_bytes(build_into(content, tmp_path / "two"))
    assert first.keys() == second.keys() and len(first) == 16
    for name in first:
        assert first[name] == second[name], name
    now = dt.datetime.now(dt.UTC)
    stamps = (now.date().isoformat(), now.strftime("%d %b %Y"), now.strftime(", %d %b %Y"))
    if now.date().isoformat() not in DAY_ORDER:  # no build time anywhere
        for name, data in first.items():
            assert not any(stamp in data.decode("utf-8") for stamp in stamps), name


def test_guids_survive_a_rebuild_and_an_upvote_change(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(EMBEDDED, content)
    first = parse(build_into(content, tmp_path / "one") / "feed.xml").entries
    before = {e.id for e in first}
    last_id = first[-1].id.removeprefix(BASE + "papers/").strip("/")
    paper = next((content / "days").glob(f"*/{last_id}.md"))  # the feed's last paper
    text = paper.read_text("utf-8")
    lines = [line for line in text.split("\n") if not line.startswith("upvotes:")]
    lines.insert(1, "upvotes: 9999")
    paper.write_text("\n".join(lines), "utf-8")
    out = build_into(content, tmp_path / "two")
    entries = parse(out / "feed.xml").entries
    assert {e.id for e in entries} == before
    assert entries[0].id == paper_url(paper.stem)  # now the top paper of the newest day
    assert '<b class="upvotes">9999</b>' in parse(out / "digest.xml").entries[0].content[0].value


def test_empty_site_has_valid_deterministic_feeds(tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    out = build_into(content, tmp_path / "out")
    for name in ("feed.xml", "atom.xml", "digest.xml", "weekly.xml"):
        parsed = parse(out / name)
        assert not parsed.bozo and parsed.entries == [], name
    assert "1970" in (out / "feed.xml").read_text("utf-8")
    assert json.loads((out / "feed.json").read_text("utf-8"))["items"] == []


# -- URLs -----------------------------------------------------------------------------------

class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if name in ("href", "src") and value]


def hrefs_in(fragment: str) -> list[str]:
    parser = Hrefs()
    parser.feed(fragment)
    return parser.hrefs


def test_every_url_is_absolute_under_the_sub_path(embedded):
    for path in feed_paths(embedded):
        parsed = parse(path)
        assert parsed.feed.link.startswith(BASE), path
        for entry in parsed.entries:
            assert entry.id.startswith(BASE) and entry.link.startswith(BASE), path
            for link in entry.get("links", []):
                assert link.href.startswith(("https://", "http://")), path
            for href in hrefs_in(entry.content[0].value):
                assert href.startswith(("https://", "http://", "mailto:")), (path, href)
    internal = [h for h in hrefs_in(parse(embedded / "digest.xml").entries[0].content[0].value)
                if "example.org" in h]
    assert internal and all(h.startswith(BASE) for h in internal)
    for item in json.loads((embedded / "feed.json").read_text("utf-8"))["items"]:
        assert item["id"].startswith(BASE + "papers/")


class Alternates(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and attributes.get("rel") == "alternate":
            self.links.append((attributes.get("type", ""), attributes.get("href", "")))


def alternates(out: Path, page: str) -> dict[str, str]:
    """Each alternate of a page as absolute URL -> type, resolved like a browser would."""
    parser = Alternates()
    parser.feed((out / page / "index.html").read_text("utf-8"))
    return {urljoin(BASE + page, href): kind for kind, href in parser.links}


def test_pages_link_their_feeds_for_autodiscovery(site):
    site_feeds = {BASE + "feed.xml": "application/rss+xml",
                  BASE + "atom.xml": "application/atom+xml",
                  BASE + "feed.json": "application/feed+json"}
    for page in ("", "date/2026-04-21/", "papers/scaling-laws/", "topics/"):
        assert site_feeds.items() <= alternates(site, page).items(), page
    topic = alternates(site, "topics/vision/")
    assert topic[BASE + "topics/vision/feed.xml"] == "application/rss+xml"
    assert topic[BASE + "topics/vision/atom.xml"] == "application/atom+xml"
    search = alternates(site, "feeds/vision/")
    assert search[BASE + "feeds/vision/feed.xml"] == "application/rss+xml"
    for url in [*topic, *search]:  # every advertised feed exists
        assert (site / url.removeprefix(BASE)).is_file(), url


def test_opml_lists_every_feed_grouped(site):
    root = ET.parse(site / "feeds.opml").getroot()
    assert root.get("version") == "2.0"
    groups = {g.get("text"): [o.get("xmlUrl") for o in g] for g in root.find("body")}
    assert groups == {
        "Newest papers": [BASE + "feed.xml"],
        "Email digests": [BASE + "digest.xml", BASE + "weekly.xml"],
        "Topics": [BASE + "topics/theory/feed.xml", BASE + "topics/vision/feed.xml"],
        "Saved searches": [BASE + f"feeds/{s}/feed.xml"
                           for s in ("vision", "acme-popular", "diffusion")],
    }
    for outline in root.iter("outline"):
        if outline.get("xmlUrl"):
            assert outline.get("type") == "rss" and outline.get("htmlUrl").startswith(BASE)
            assert (site / outline.get("xmlUrl").removeprefix(BASE)).is_file()


def test_opml_lists_every_topic_of_the_embedded_site(embedded):
    root = ET.parse(embedded / "feeds.opml").getroot()
    urls = {o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")}
    topics = {f"{BASE}topics/{p.stem}/feed.xml" for p in (EMBEDDED / "topics").glob("*.md")}
    assert topics <= urls


# -- hostile text ---------------------------------------------------------------------------

def test_hostile_text_is_inert_in_every_feed(site):
    for path in [*feed_paths(site), site / "feed.json"]:
        if path.suffix == ".json":
            items = json.loads(path.read_text("utf-8"))["items"]
            fragments = [item["content_html"] for item in items]
        else:
            fragments = [c.value for e in parse(path).entries for c in e.get("content", [])]
            fragments += [ET.tostring(el, encoding="unicode")
                          for el in ET.parse(path).getroot().iter()
                          if el.tag in ("{http://purl.org/rss/1.0/modules/content/}encoded",
                                        "{http://www.w3.org/2005/Atom}content")]
        for fragment in fragments:
            lowered = fragment.lower()
            assert "<script" not in lowered and "onerror" not in lowered, path
            assert "javascript:" not in lowered, path
    root = ET.parse(site / "feed.xml").getroot()
    hostile = next(i for i in root.iter("item") if i.findtext("guid") == paper_url("hostile"))
    # plain text, kept as written but for invisible word joiners that stop markup
    assert hostile.findtext("title").replace("\u2060", "") == HOSTILE_TITLE
    content = hostile.findtext("content:encoded", namespaces=NS)
    assert "&lt;i&gt;Mallory&lt;/i&gt;" in content  # author names are escaped text
    assert "<script" not in hostile.findtext("description")
    digest = parse(site / "digest.xml").entries[0].content[0].value
    assert "&lt;script&gt;alert(" in digest and "<script" not in digest


def test_feed_dates_follow_the_listing_day(site):
    for entry in parse(site / "feed.xml").entries:
        day = dt.date(*entry.published_parsed[:3])
        assert entry.published_parsed[3:6] == (0, 0, 0)
        assert day.isoformat() in {"2026-04-21", "2026-04-20"}


def test_feed_item_html_comes_from_the_given_templates(tmp_path):
    """build() can pass its Jinja environment, so --templates also styles the feeds."""
    from site_builder.build import load_site
    from site_builder.feeds import feed_files
    from site_builder.render import make_environment

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    paper = templates / "feeds" / "paper.html"
    paper.write_text(paper.read_text("utf-8") + "<p>custom footer</p>\n", "utf-8")
    site = load_site(write_content(tmp_path / "content"), BASE)[2]
    files = {f.path: f.data for f in feed_files(site, make_environment(templates))}
    assert b"custom footer" in files["feed.xml"] and b"custom footer" in files["atom.xml"]
    assert b"custom footer" not in {f.path: f.data for f in feed_files(site)}["feed.xml"]


def test_a_format_added_to_a_channel_s_list_is_written_linked_and_offered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """urls.TOPIC_FORMATS is the one list of a topic's formats: adding JSON Feed to it gives
    every topic the file, the page's <link rel="alternate">, the follow link and the index's."""
    monkeypatch.setattr(urls, "TOPIC_FORMATS", (*urls.TOPIC_FORMATS, urls.JSON_FORMAT))
    out = build_into(CONTENT, tmp_path / "out")
    feed = json.loads((out / "topics" / "llm-training" / "feed.json").read_text("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["items"]
    page = (out / "topics" / "llm-training" / "index.html").read_text("utf-8")
    head, body = page.split("<body>")
    assert ('<link rel="alternate" type="application/feed+json" title="LLM training (JSON Feed)" '
            'href="../../topics/llm-training/feed.json">') in head
    assert ('<a href="../../topics/llm-training/feed.json" type="application/feed+json">'
            'JSON Feed</a>') in body
    index = (out / "topics" / "index.html").read_text("utf-8")
    assert 'href="../topics/llm-training/feed.json"' in index
    subscribe = (out / "subscribe" / "index.html").read_text("utf-8")
    assert 'href="../topics/llm-training/feed.json"' in subscribe


def test_every_channel_s_formats_come_from_urls() -> None:
    """Each channel's files are its formats in urls.py, in the same order."""
    site = load_site(CONTENT)[2]
    specs = feed_specs(site, make_environment())
    by_page = {spec.page: spec for spec in specs}
    for listing in site.topics:
        slug = listing.topic.slug
        assert by_page[urls.topic(slug)].files == tuple(
            (f.format.key, f.path) for f in urls.topic_feeds(slug))
    assert specs[0].files == tuple((f.format.key, f.path) for f in urls.site_feeds())
    assert [kind for kind, _ in specs[0].files] == [f.key for f in urls.SITE_FORMATS]
