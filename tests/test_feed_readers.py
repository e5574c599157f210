"""What feed readers show (issue 14 items 3, 6-9, issue 16 item 2): every author, no made-up
upvotes, distinct channels, sensible dates, the page's own feed first, titles as text."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from tests.test_feeds import BASE, alternates, build_into, write_content
from tests.test_security import PAYLOADS

HOSTILE_TITLES = [*PAYLOADS, "javascript&#58;alert(1)", "&#1;javascript:alert(2)",
                  "<img src=x>", '<a href="javascript:alert(3)">click</a>', "&lt;b&gt;x",
                  "A &amp; B", "x <y> z </b>", "&#x6A;avascript:alert(4)", "<!-- c --> t"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("readers")
    content = write_content(root / "content")
    settings = content / "site.yaml"
    settings.write_text(settings.read_text("utf-8").replace("feed_size: 6", "feed_size: 100")
                        .replace("digest_size: 2", "digest_size: 9"), "utf-8")
    unknown = content / "days" / "2026-04-21" / "unknown-votes.md"
    unknown.write_text("---\ntitle: Votes Unknown\nauthors: [Una Known]\n---\nNo count.\n")
    # a later listing day, so the week of 2026-04-20 is over and appears in weekly.xml
    later = content / "days" / "2026-04-28"
    later.mkdir()
    (later / "later.md").write_text("---\ntitle: A Later Paper\nupvotes: 2\n---\nLater.\n")
    (content / "topics" / "empty.md").write_text("---\ntitle: Empty\n---\nNothing yet.\n")
    days = later  # after the weeks checked in weekly.xml
    for number, title in enumerate(HOSTILE_TITLES):
        (days / f"hostile-{number}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\nupvotes: 1\n---\nText.\n", "utf-8")
    return build_into(content, root / "out")


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_charref(self, name):
        self.refs.append(name)

    def handle_entityref(self, name):
        self.refs.append(name)


def test_rss_titles_reach_every_reader_as_plain_text(site):
    for name in ("feed.xml", "digest.xml"):
        root = ET.parse(site / name).getroot()
        raw = {item.findtext("guid"): item.findtext("title") for item in root.iter("item")}
        for entry in parse(site / name).entries:
            assert entry.title_detail.type == "text/plain", entry.title
            # a reader that takes the title for HTML finds no tag and no reference in it
            tags = Tags()
            tags.feed(raw[entry.id])
            tags.close()
            assert tags.tags == [] and tags.refs == [], raw[entry.id]
            assert html.unescape(raw[entry.id]) == raw[entry.id]
    shown = {e.title.replace("\u2060", "") for e in parse(site / "feed.xml").entries}
    assert set(HOSTILE_TITLES) <= shown | {t for t in HOSTILE_TITLES if not t.strip()}


def test_every_author_of_a_paper_is_what_feedparser_shows(site):
    entry = next(e for e in parse(site / "feed.xml").entries
                 if e.id == BASE + "papers/scaling-laws/")
    assert entry.author == ("Grace Hopper, Edsger Dijkstra, Barbara Liskov, Donald Knuth, "
                            "John McCarthy, Frances Allen, Ken Thompson")
    atom = next(e for e in parse(site / "atom.xml").entries
                if e.id == BASE + "papers/scaling-laws/")
    assert atom.author == entry.author  # feedparser shows the first Atom author only


def test_unknown_upvotes_are_left_out_of_digest_and_weekly(site):
    digest = next(e for e in parse(site / "digest.xml").entries
                  if e.id == BASE + "date/2026-04-21/").content[0].value
    card = next(c for c in digest.split('<div class="paper">') if "Votes Unknown" in c)
    assert "▲" not in card and "upvotes" not in card and "Una Known" in card
    assert '<b class="upvotes">41</b>' in digest  # known ones stay
    weekly = parse(site / "weekly.xml").entries
    week = next(e for e in weekly if "2026-W17" in e.id).content[0].value
    line = next(li for li in week.split("<li>") if "Votes Unknown" in li)
    assert "▲" not in line
    assert "▲ 41" in week


def test_digest_channel_has_its_own_title_and_an_author(site):
    digest, main = parse(site / "digest.xml").feed, parse(site / "feed.xml").feed
    assert digest.title != main.title
    assert digest.author == main.author == "Test Papers"


def test_an_empty_feed_is_dated_by_the_newest_listing_day(site):
    for path in ("topics/empty/feed.xml", "topics/empty/atom.xml"):
        parsed = parse(site / path)
        assert parsed.entries == []
        assert tuple(parsed.feed.updated_parsed[:3]) == (2026, 4, 28), path
    assert "1970" not in (site / "topics/empty/feed.xml").read_text("utf-8")


def test_topic_and_saved_search_pages_announce_their_own_feed_first(site):
    for page, own in (("topics/vision/", "topics/vision/feed.xml"),
                      ("feeds/vision/", "feeds/vision/feed.xml")):
        first = next(iter(alternates(site, page)))
        assert first == BASE + own, page
