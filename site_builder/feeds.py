"""Feeds: RSS 2.0, Atom, JSON Feed, digest, weekly and OPML, from one table of feed specs.

``feed_specs(site)`` is the table, one ``FeedSpec`` per channel; one writer per format turns a
spec into bytes. Dates come from ``state/`` or the listing day and every URL is absolute, so an
unchanged site rebuilds to byte-identical feeds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime

import jinja2
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from site_builder import __version__, urls
from site_builder.content import Paper
from site_builder.dates import count, long_date, plain_date
from site_builder.digest_data import EXTENSION, day_data
from site_builder.digest_data import VERSION as DIGEST_DATA_VERSION
from site_builder.fingerprint import digest
from site_builder.markup import math_as_tex, plain_text, truncate
from site_builder.model import Day, Site, Week
from site_builder.outputs import FileOutput, Planned
from site_builder.render import make_environment
from site_builder.schema import SHOWN_LINKS

EPOCH = dt.date(1970, 1, 1)  # the date of a feed of a site with no listing day at all
SUMMARY_LENGTH = 500
GENERATOR = "site-builder"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
STYLESHEET = urls.static("feed.xsl")
DIGEST_TITLE_SUFFIX = ": daily digest"  # digest.xml's title is not the site feed's: two names


@dataclass(frozen=True)
class Category:
    term: str  # the topic slug
    label: str  # the topic title
    scheme: str  # absolute URL of the topic page


@dataclass(frozen=True)
class FeedItem:
    """One entry of any feed: a paper, a day (digest) or a week (weekly)."""

    guid: str  # absolute URL of the item's page; never changes between builds
    title: str  # plain text
    date: dt.date  # the listing day; published and updated at midnight UTC
    summary: str  # plain text
    content_html: str  # sanitised HTML with absolute URLs
    authors: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()
    related: tuple[tuple[str, str, str], ...] = ()  # (title, URL, media type): PDF, code, ...
    external_url: str = ""  # the paper elsewhere (arXiv), for JSON Feed
    data: dict | None = None  # a digest day as data (digest_data), for digest.json
    published: dt.datetime | None = None  # first published by the site (state/), if recorded

    @property
    def stamp(self) -> dt.datetime:
        """When the site first published it, else midnight of its listing day (so RSS-to-email
        services that send "items newer than my last check" never skip a late item)."""
        return self.published or midnight(self.date)


@dataclass(frozen=True)
class FeedSpec:
    """One channel: its items and its files (format, site path), the first listed in OPML."""

    title: str
    description: str
    page: str  # site path of the HTML page the channel follows
    group: str  # heading in feeds.opml
    files: tuple[tuple[str, str], ...]
    items: list[FeedItem] = field(default_factory=list)
    label: str = ""  # its name in feeds.opml when the title alone is ambiguous
    empty_date: dt.date = EPOCH  # the date of the channel while it has no items

    @property
    def updated(self) -> dt.datetime:
        return max((item.stamp for item in self.items), default=midnight(self.empty_date))


def midnight(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(0), tzinfo=dt.UTC)


class ItemMaker:
    """Turns papers, days and weeks into feed items (rendered once, reused by every feed)."""

    def __init__(self, site: Site, env: jinja2.Environment):
        self.site = site
        self.env = env
        self.topic_titles = site.topic_titles()
        self._papers: dict[str, FeedItem] = {}

    def url(self, site_path: str) -> str:
        return urls.absolute(self.site.config.base_url, site_path)

    def render(self, template: str, **context) -> str:
        """An item's HTML, math as TeX (text readers would print each MathML element)."""
        return math_as_tex(self.env.get_template(template).render(
            **context, url=self.url, urls=urls, topic_titles=self.topic_titles,
            config=self.site.config).strip())

    def paper(self, paper: Paper) -> FeedItem:
        if paper.id in self._papers:
            return self._papers[paper.id]
        item = self._papers[paper.id] = FeedItem(
            guid=self.url(urls.paper(paper.id)),
            title=paper.title,
            date=paper.day,
            summary=truncate(paper.summary, SUMMARY_LENGTH),
            content_html=self.render("feeds/paper.html", paper=paper),
            authors=paper.authors,
            categories=tuple(Category(slug, self.topic_titles.get(slug, slug),
                                      self.url(urls.topic(slug)))
                             for slug in paper.topic_slugs),
            related=tuple((link.label, getattr(paper, link.field),
                           "application/pdf" if link.field == "pdf" else "text/html")
                          for link in SHOWN_LINKS if getattr(paper, link.field)),
            external_url=paper.arxiv,
            published=self.site.published.papers.get(paper.id),
        )
        return item

    def day(self, day: Day) -> FeedItem:
        top = "; ".join(p.title for p in day.papers[:3])
        return FeedItem(
            guid=self.url(urls.day(day.date)),
            title=f"{long_date(day.date)}: {count(len(day.papers), 'paper')}",
            date=day.date,
            summary=f"{count(len(day.papers), 'paper')} listed on {long_date(day.date)}. "
                    f"Top: {top}",
            content_html=self.render("feeds/digest.html", day=day),
            data=day_data(day, self.url, self.topic_titles),
            published=self.site.published.days.get(day.date),
        )

    def week(self, week: Week) -> FeedItem:
        top = week.papers[: self.site.config.home_top_size]
        sunday = week.monday + dt.timedelta(days=6)
        return FeedItem(
            guid=self.url(urls.week(week.key)),
            title=f"Week {week.key} ({plain_date(week.monday)} to {plain_date(sunday)}): "
                  f"top {count(len(top), 'paper')}",
            date=week.days[-1].date,
            summary="Top papers of the week: " + "; ".join(p.title for p in top),
            content_html=self.render("feeds/weekly.html", week=week, papers=top),
        )


def written_as(files: tuple[urls.FeedFile, ...]) -> tuple[tuple[str, str], ...]:
    """A channel's files (urls.py's one list of its formats) as (writer, site path)."""
    return tuple((file.format.key, file.path) for file in files)


def feed_specs(site: Site, env: jinja2.Environment) -> list[FeedSpec]:
    """The table of every feed of the site."""
    config = site.config
    make = ItemMaker(site, env)
    specs = [
        FeedSpec(config.title, config.description, urls.HOME, "Newest papers",
                 written_as(urls.site_feeds()),
                 [make.paper(p) for p in site.newest_papers[: config.feed_size]]),
        FeedSpec(config.title + DIGEST_TITLE_SUFFIX, "The whole listing of each day in one item, "
                 "newest day first: for RSS-to-email services.", urls.HOME, "Email digests",
                 written_as(urls.digest_feeds()),
                 [make.day(d) for d in reversed(site.days[-config.digest_size:])],
                 label=f"{config.title}: daily digest (one item per day)"),
        FeedSpec(f"{config.title}: top papers of the week", "One item per ISO week with its "
                 "most upvoted papers, once the week is over.", urls.ARCHIVE, "Email digests",
                 written_as(urls.weekly_feeds()),  # weeks that are over: they never change
                 [make.week(w) for w in reversed(site.weeks[:-1][-config.digest_size:])]),
    ]
    for listing in site.topics:
        topic = listing.topic
        about = truncate(plain_text(topic.description_html), 300) or f"New papers: {topic.title}."
        specs.append(FeedSpec(
            f"{topic.title} · {config.title}", about, urls.topic(topic.slug), "Topics",
            written_as(urls.topic_feeds(topic.slug)),
            [make.paper(p) for p in listing.papers[: config.topic_feed_size]]))
    for listing in site.saved_searches:
        search = listing.search
        specs.append(FeedSpec(
            f"{search.title} · {config.title}", f"New papers matching the saved search "
            f"'{search.title}'.", urls.saved_search(search.slug), "Saved searches",
            written_as(urls.saved_search_feeds(search.slug)),
            [make.paper(p) for p in listing.papers[: config.topic_feed_size]]))
    newest_day = site.days[-1].date if site.days else EPOCH
    # only an empty channel takes the newest day (so a new day leaves other feeds' keys alone)
    return [spec if spec.items else dataclasses.replace(spec, empty_date=newest_day)
            for spec in specs]


class RelatedLinks(BaseEntryExtension):
    """Atom ``<link rel="related">`` per PDF, code, ... link of an entry (feedgen 1.0 drops
    rel, type and title of entry links, making every link an alternate)."""

    def __init__(self) -> None:
        self.links: tuple[tuple[str, str, str], ...] = ()

    def extend_atom(self, entry):
        for title, href, kind in self.links:
            xml_elem("link", entry, href=href, rel="related", type=kind, title=title)
        return entry


def new_generator(spec: FeedSpec, site: Site, self_path: str, rss: bool = False) -> FeedGenerator:
    """A feedgen generator with the channel's fields and no build-time values."""
    config, url = site.config, functools.partial(urls.absolute, site.config.base_url)
    author = config.author or config.title
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("related", BaseExtension, RelatedLinks, atom=True, rss=False)
    fg.id(url(self_path))
    fg.title(rss_text(spec.title) if rss else spec.title)
    fg.description(html_text(spec.description) if rss else spec.description)
    fg.link(href=url(self_path), rel="self",
            type="application/rss+xml" if rss else "application/atom+xml")
    fg.link(href=url(spec.page), rel="alternate", type="text/html")
    fg.language(config.language)
    fg.author({"name": author})
    if rss:  # RSS has no author without an email address; readers show dc:creator
        fg.dc.dc_creator(author)
    fg.icon(url(urls.static("favicon.svg")))
    fg.generator(GENERATOR, version=__version__)
    fg.updated(spec.updated)  # feedgen defaults both to the build time
    fg.lastBuildDate(spec.updated)
    for item in spec.items:
        add_entry(fg, item, rss)
    return fg


def html_text(text: str) -> str:
    """Plain text made safe for RSS fields that readers display as HTML (<description>)."""
    return html.escape(text, quote=False)


# what makes feedparser (and readers) take an RSS <title> for HTML: a tag or a reference
MARKUP_START_RE = re.compile(r"(?<=<)(?=[A-Za-z/!?])|(?<=&)(?=#?\w+;)")
WORD_JOINER = "\u2060"


def rss_text(text: str) -> str:
    """Plain text for an RSS <title>, which has no type: an invisible word joiner after each
    '<' that would start a tag and each '&' that would start a reference, so every reader
    shows the text as written (feedparser types it text/plain) and none finds markup in it."""
    return MARKUP_START_RE.sub(WORD_JOINER, text)


def add_entry(fg: FeedGenerator, item: FeedItem, rss: bool = False) -> None:
    entry = fg.add_entry(order="append")
    entry.id(item.guid)
    entry.guid(item.guid, permalink=True)
    entry.title(rss_text(item.title) if rss else item.title)
    entry.link(href=item.guid, rel="alternate", type="text/html")
    entry.related.links = item.related
    entry.published(item.stamp)
    entry.updated(item.stamp)
    # RSS <description> is read as HTML by readers, Atom's text summary as text
    entry.summary(html_text(item.summary) if rss else item.summary, type="text")
    entry.content(item.content_html, type="html")  # RSS <content:encoded>, Atom <content>
    if item.authors:  # one author of all names: readers show only one of several (feedparser
        # and rss2email the first Atom <author>, newsboat the last RSS <dc:creator>)
        byline = ", ".join(item.authors)
        if rss:
            entry.dc.dc_creator(byline)
        else:
            entry.author({"name": byline})
    for category in item.categories:
        entry.category(term=category.term, label=category.label, scheme=category.scheme)


def with_stylesheet(feed: bytes, feed_path: str) -> bytes:
    """The feed with ``<?xml-stylesheet?>`` (relative, so any base path works) after the XML
    declaration, which feedgen cannot add: browsers show ``feed.xsl``'s page, readers ignore it."""
    href = urls.relative(feed_path, STYLESHEET)
    instruction = f'<?xml-stylesheet type="text/xsl" href="{href}"?>'.encode()
    if feed.startswith(b"<?xml"):
        end = feed.index(b"?>") + 2
        return feed[:end] + b"\n" + instruction + feed[end:]
    return instruction + b"\n" + feed


def xml_bytes(spec: FeedSpec, site: Site, path: str, rss: bool = False) -> bytes:
    fg = new_generator(spec, site, path, rss)
    return with_stylesheet(fg.rss_str(pretty=True) if rss else fg.atom_str(pretty=True), path)


def json_bytes(spec: FeedSpec, site: Site, path: str, with_data: bool = False) -> bytes:
    """JSON Feed 1.1 (feedgen does not write it), keys in a fixed order; ``with_data`` makes
    digest.json, each item with its day as data."""
    feed = json_feed(spec, site, path)
    if with_data:
        feed[EXTENSION] = {"version": DIGEST_DATA_VERSION, "site_title": site.config.title,
                           "site_url": urls.absolute(site.config.base_url, urls.HOME)}
        for item, data in zip(feed["items"], spec.items, strict=True):
            item[EXTENSION] = data.data
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def json_feed(spec: FeedSpec, site: Site, path: str) -> dict:
    config = site.config
    return {
        "version": JSON_FEED_VERSION,
        "title": spec.title,
        "home_page_url": urls.absolute(config.base_url, spec.page),
        "feed_url": urls.absolute(config.base_url, path),
        "description": spec.description,
        "language": config.language,
        "authors": [{"name": config.author or config.title}],
        "items": [json_item(item) for item in spec.items],
    }


def json_item(item: FeedItem) -> dict:
    optional = {  # left out when empty
        "external_url": item.external_url,
        "authors": [{"name": name} for name in item.authors],
        "tags": [category.label for category in item.categories],
        "attachments": [{"url": href, "mime_type": kind} for _title, href, kind in item.related
                        if kind == "application/pdf"][:1],
    }
    return {
        "id": item.guid,
        "url": item.guid,
        "title": item.title,
        "content_html": item.content_html,
        "summary": item.summary,
        "date_published": item.stamp.isoformat().replace("+00:00", "Z"),
        **{key: value for key, value in optional.items() if value},
    }


WRITERS: dict[str, Callable[[FeedSpec, Site, str], bytes]] = {
    "rss": functools.partial(xml_bytes, rss=True), "atom": xml_bytes, "json": json_bytes,
    "digest-json": functools.partial(json_bytes, with_data=True),
}


def opml_bytes(site: Site, specs: list[FeedSpec]) -> bytes:
    """Every channel once (its first file), grouped, for a one-step import into a reader."""
    config = site.config
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{config.title}: every feed"
    newest = max((spec.updated for spec in specs), default=midnight(EPOCH))
    ET.SubElement(head, "dateModified").text = format_datetime(newest, usegmt=True)
    body = ET.SubElement(root, "body")
    groups: dict[str, ET.Element] = {}
    for spec in specs:
        if spec.group not in groups:
            groups[spec.group] = ET.SubElement(body, "outline", text=spec.group,
                                               title=spec.group)
        kind, path = spec.files[0]
        name = spec.label or spec.title
        ET.SubElement(groups[spec.group], "outline", type=kind, text=name,
                      title=name, description=spec.description,
                      xmlUrl=urls.absolute(config.base_url, path),
                      htmlUrl=urls.absolute(config.base_url, spec.page))
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def planned_feeds(site: Site, env: jinja2.Environment | None = None) -> list[Planned]:
    """Every feed file of the site (its bytes made only when needed), and feeds.opml."""
    specs = feed_specs(site, env or make_environment())
    settings, planned = repr(site.config), []
    for spec in specs:
        made_from = digest(settings, repr(spec))
        planned += [Planned(path, f"{kind}:{path}:{made_from}", f"feed {spec.title}",
                            functools.partial(WRITERS[kind], spec, site, path))
                    for kind, path in spec.files]
    planned.append(Planned(urls.OPML, "", "feeds.opml", functools.partial(opml_bytes, site, specs)))
    return planned


def feed_files(site: Site, env: jinja2.Environment | None = None) -> list[FileOutput]:
    """Every feed of the site, and feeds.opml listing them, as bytes."""
    return [FileOutput(feed.path, feed.make(), feed.source) for feed in planned_feeds(site, env)]
