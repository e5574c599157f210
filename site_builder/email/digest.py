"""Reading one day of the digest back (see the package's docstring for where from)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import html
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser

from site_builder import __version__, schema, urls
from site_builder.config import SavedSearch, SiteConfig
from site_builder.content import Organization, Paper
from site_builder.digest_data import EXTENSION as DATA_KEY
from site_builder.errors import ContentError, problem, source_problem
from site_builder.feeds import DIGEST_TITLE_SUFFIX
from site_builder.markup import sanitise, truncate
from site_builder.model import saved_search_matches

SHORT_ABSTRACT = 320
AUTHORS_SHOWN = 5
TIMEOUT = 30  # seconds, for fetching the digest
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "param", "source", "track", "wbr"}
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "div"}
# class name in the digest HTML -> the field it marks: the schema's, the abstract and the link
FIELD_CLASSES = {**{f.digest_class: f.name for f in schema.FIELDS if f.digest_class},
                 "paper-abstract": "abstract", "paper-link": "url"}
PARAGRAPH = "\u2029"  # marks a </p> inside the text of an element
LINK_PREFIX = "link-"  # link-paper, link-pdf, link-code, link-arxiv, link-project
# a DigestPaper field set from the (squashed text, raw text, href) of the element it marks
READ_BACK: dict[str, Callable[[str, str, str], object]] = {
    "title": lambda text, _raw, _href: text, "url": lambda _text, _raw, href: href,
    "author_count": lambda text, _raw, _href: number_in(text),
    "upvotes": lambda text, _raw, _href: number_in(text),
    "abstract": lambda _text, raw, _href: paragraphs(raw, PARAGRAPH),
    "withdrawn": lambda _text, _raw, _href: True,
}


@dataclass
class DigestPaper:
    """One paper as read back from a digest item."""

    title: str = ""
    url: str = ""
    authors: list[str] = field(default_factory=list)
    author_count: int = 0
    org_name: str = ""
    org_label: str = ""
    upvotes: int | None = None  # None when the site does not know them
    abstract: str = ""
    withdrawn: bool = False
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, label, URL)
    topics: list[tuple[str, str, str]] = field(default_factory=list)  # (slug, title, URL)

    @property
    def short_abstract(self) -> str:
        return truncate(self.abstract, SHORT_ABSTRACT)

    @property
    def short_paragraphs(self) -> list[str]:
        return self.short_abstract.split("\n\n")

    @property
    def byline(self) -> str:
        """``A, B, C, D, E and 12 more`` or ``14 authors``."""
        if self.authors:
            shown = ", ".join(self.authors[:AUTHORS_SHOWN])
            more = len(self.authors) - AUTHORS_SHOWN
            return shown + (f" and {more} more" if more > 0 else "")
        if self.author_count:
            return f"{self.author_count} author{'s' if self.author_count != 1 else ''}"
        return ""

    @property
    def people(self) -> list[str]:
        """The byline and the organisation, those that are known."""
        return [part for part in (self.byline, self.org_label) if part]

    @property
    def meta_line(self) -> str:
        """``▲ 12 · A, B and 3 more · Org``, without the upvotes when they are unknown."""
        votes = [f"▲ {self.upvotes}"] if self.upvotes is not None else []
        return " · ".join(votes + self.people)

    @property
    def outside_links(self) -> list[tuple[str, str, str]]:
        """Links other than the paper's own page (PDF, code, arXiv, project page)."""
        return [link for link in self.links if link[0] != "paper"]

    def as_paper(self, day: dt.date) -> Paper:
        """A Paper with what a saved search looks at (topics, organisation, upvotes, text)."""
        org = None
        if self.org_name:
            fullname = self.org_label if self.org_label != self.org_name else ""
            org = Organization(self.org_name, fullname)
        slugs = tuple(slug for slug, _title, _url in self.topics)
        return Paper(id=self.url, title=self.title, day=day, abstract=self.abstract,
                     authors=tuple(self.authors), organization=org, upvotes=self.upvotes,
                     topics=slugs, topic_slugs=slugs)


class MissingDayError(ContentError):
    """The feed has no digest item for the asked day."""


@dataclass
class DigestDay:
    """One item of digest.xml: a listing day and its papers, top first."""

    date: dt.date
    guid: str
    url: str
    site_title: str
    site_url: str
    papers: list[DigestPaper]
    note_html: str = ""
    note_text: str = ""


def safe_url(href: str | None) -> str:
    """Only http(s) links make it into an email."""
    href = (href or "").strip()
    return href if urlsplit(href).scheme in ("http", "https") else ""


def number_in(text: str) -> int:
    return int("".join(filter(str.isdigit, text)) or 0)


def squash(text: str) -> str:
    """The text on one line, each run of whitespace one space."""
    return " ".join(text.split())


def paragraphs(text: str, separator: str) -> str:
    """The non-empty paragraphs of a text, each squashed, separated by a blank line."""
    return "\n\n".join(filter(None, (squash(part) for part in text.split(separator))))


class DigestParser(HTMLParser):
    """Reads the papers and the editor's note back from a digest item's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.papers: list[DigestPaper] = []
        self.note_parts: list[str] = []
        self.note_paragraphs: list[str] = []
        self._stack: list[tuple[str, list[str], str, list[str]]] = []  # tag, classes, href, text
        self._note_depth = 0  # stack depth of the open digest-note element, 0 when outside
        self._note_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._note_depth:
            self.note_parts.append(self.get_starttag_text() or "")
        if tag in VOID_TAGS:
            if self._note_depth and tag == "br":
                self._note_text.append(" ")
            return
        if "paper" in classes and tag == "div":
            self.papers.append(DigestPaper())
        self._stack.append((tag, classes, safe_url(attributes.get("href")), []))
        if "digest-note" in classes and not self._note_depth:
            self._note_depth = len(self._stack)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or not any(entry[0] == tag for entry in self._stack):
            return
        if tag == "p":  # a paragraph break, kept by the abstract (whitespace to the rest)
            for _tag, _classes, _href, text in self._stack:
                text.append(PARAGRAPH)
        while self._stack:
            open_tag, classes, href, text = self._stack.pop()
            if self._note_depth > len(self._stack):  # the note element itself closes
                self._end_note_paragraph()
                self._note_depth = 0
            elif self._note_depth:
                self.note_parts.append(f"</{open_tag}>")
                if open_tag in BLOCK_TAGS:
                    self._end_note_paragraph()
            self._close(classes, href, "".join(text))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, _classes, _href, text in self._stack:
            text.append(data)
        if self._note_depth:
            self.note_parts.append(html.escape(data, quote=False))
            self._note_text.append(data)

    def _end_note_paragraph(self) -> None:
        paragraph = squash("".join(self._note_text))
        if paragraph:
            self.note_paragraphs.append(paragraph)
        self._note_text = []

    def _close(self, classes: list[str], href: str, raw: str) -> None:
        if not self.papers:
            return
        text, paper = squash(raw), self.papers[-1]
        for name in classes:
            kind = FIELD_CLASSES.get(name)
            if name.startswith(LINK_PREFIX) and href:
                paper.links.append((name[len(LINK_PREFIX):], text, href))
            elif kind == "authors" and text:
                paper.authors.append(text)
            elif kind == "topics" and href:
                paper.topics.append((urls.name_in(href, "topics"), text, href))
            elif kind == "organization":
                paper.org_name, paper.org_label = urls.name_in(href, "orgs") or text, text
            elif kind in READ_BACK and (href or kind != "url"):
                setattr(paper, kind, READ_BACK[kind](text, raw, href))


class NotFoundError(ContentError):
    """The file or URL does not exist (HTTP 404 or 410, or no such file)."""


def read_source(source: str, what: str = "feed") -> bytes:
    """The bytes of a file or an http(s) URL (errors name the source)."""
    if urlsplit(source).scheme in ("http", "https"):
        request = urllib.request.Request(source, headers={
            "User-Agent": f"site-builder/{__version__} (+email digest)"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            kind = NotFoundError if exc.code in (404, 410) else ContentError
            raise kind([source_problem(
                source, f"cannot read the {what}: HTTP {exc.code} {exc.reason}")]) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ContentError([source_problem(
                source, f"cannot read the {what}: {reason}")]) from None
    if "://" in source:
        scheme = urlsplit(source).scheme or source.split("://")[0]
        raise ContentError([source_problem(
            source, f"cannot read the {what}: '{scheme}://' is not supported (use an http:// "
            "or https:// URL, or a file path)")])
    path = Path(source)
    if not path.is_file():
        raise NotFoundError([problem(path, f"{what} file not found")])
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContentError([problem(path, f"cannot read the {what}: {exc.strerror}")]) from None


def read_feed(source: str) -> feedparser.FeedParserDict:
    """The digest feed (RSS or Atom) from a file or an http(s) URL."""
    feed = feedparser.parse(read_source(source))
    if not feed.get("version") or (feed.get("bozo") and not feed.entries):
        reason = feed.get("bozo_exception") or "no RSS or Atom channel"
        raise ContentError([source_problem(
            source, f"not a readable RSS or Atom feed ({reason})")])
    return feed


def data_source(source: str) -> str:
    """digest.json beside a digest.xml path or URL, or "" for any other source."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.path.endswith("/" + urls.DIGEST):
            path = parts.path.removesuffix(urls.DIGEST) + urls.DIGEST_JSON
            return parts._replace(path=path).geturl()
        return ""
    path = Path(source)
    return str(path.with_name(urls.DIGEST_JSON)) if path.name == urls.DIGEST else ""


def load_day(source: str, date: dt.date | None) -> DigestDay:
    """One day of the digest: from digest.json (given, or found beside digest.xml), else from
    the RSS feed's HTML (a site built before digest.json existed, or another feed)."""
    if urlsplit(source).path.endswith(".json"):
        return json_day(read_source(source, "digest"), source, date)
    beside, data = data_source(source), b""
    if beside:
        with contextlib.suppress(NotFoundError):  # a site built before digest.json existed
            data = read_source(beside, "digest")
    if data:
        return json_day(data, beside, date)
    return read_day(read_feed(source), source, date)


def pick_day(dated: list[tuple[dt.date, object]], source: str, date: dt.date | None):
    """The (day, item) of the given day, or of the newest day."""
    if not dated:
        raise ContentError([source_problem(source, "the feed has no dated digest items")])
    if date is None:
        return max(dated, key=lambda pair: pair[0])
    for day, entry in dated:
        if day == date:
            return day, entry
    days = sorted({day for day, _entry in dated}, reverse=True)
    shown = ", ".join(d.isoformat() for d in days[:7]) + (", ..." if len(days) > 7 else "")
    raise MissingDayError([source_problem(
        source, f"no digest item for {date.isoformat()} (the feed has {shown})")])


def typed(data: dict, key: str, kind: type, default=None):
    """data[key] when it is of that type (true and false are not numbers), else the default."""
    value = data.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else default


def text_field(data: dict, key: str) -> str:
    return squash(typed(data, key, str, ""))


def json_paper(data: dict) -> DigestPaper:
    """A paper of digest.json (see digest_data.paper_data); wrong types read as missing."""
    def mappings(key: str) -> list[dict]:
        return [value for value in typed(data, key, list, []) if isinstance(value, dict)]

    org = typed(data, "organization", dict, {})
    return DigestPaper(
        title=text_field(data, "title"), url=safe_url(data.get("url")),
        authors=[squash(a) for a in typed(data, "authors", list, []) if isinstance(a, str)
                 and a.strip()],
        author_count=typed(data, "author_count", int, 0),
        org_name=text_field(org, "name"), org_label=text_field(org, "label"),
        upvotes=typed(data, "upvotes", int),
        abstract=paragraphs(typed(data, "abstract", str, ""), "\n\n"),
        withdrawn=bool(data.get("withdrawn")),
        links=[(text_field(link, "kind"), text_field(link, "label"), safe_url(link.get("url")))
               for link in mappings("links") if safe_url(link.get("url"))],
        topics=[(text_field(t, "slug"), text_field(t, "title"), safe_url(t.get("url")))
                for t in mappings("topics")],
    )


def json_day(data: bytes, source: str, date: dt.date | None) -> DigestDay:
    """One day of digest.json (a JSON Feed with the _digest extension, see digest_data)."""
    try:
        feed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ContentError([source_problem(source, f"not a digest JSON feed ({exc})")]) from None
    if not (isinstance(feed, dict) and isinstance(feed.get(DATA_KEY), dict)
            and isinstance(feed.get("items"), list)):
        raise ContentError([source_problem(
            source, f"not a digest JSON feed (no '{DATA_KEY}' extension): is this the site's "
            f"{urls.DIGEST_JSON}?")])
    dated = []
    for item in feed["items"]:
        day_data = item.get(DATA_KEY) if isinstance(item, dict) else None
        if isinstance(day_data, dict) and isinstance(day_data.get("date"), str):
            try:
                dated.append((dt.date.fromisoformat(day_data["date"]), item))
            except ValueError:
                continue
    day, item = pick_day(dated, source, date)
    day_data = item[DATA_KEY]
    papers = [json_paper(p) for p in day_data.get("papers") or [] if isinstance(p, dict)]
    papers = [p for p in papers if p.title and p.url]
    if not papers:
        raise ContentError([source_problem(source, f"the item of {day.isoformat()} lists no "
                                                   "papers")])
    note_title = text_field(day_data, "note_title")
    note_html = typed(day_data, "note_html", str, "")
    note_text = typed(day_data, "note_text", str, "")
    if note_title and (note_html or note_text):
        note_html = f"<h2>{html.escape(note_title)}</h2>{note_html}"
        note_text = f"{note_title}\n\n{note_text}"
    site = feed[DATA_KEY]
    guid = typed(item, "id", str, day.isoformat())
    return DigestDay(
        date=day, guid=guid, url=safe_url(day_data.get("url")) or safe_url(item.get("url")),
        site_title=text_field(site, "site_title") or SiteConfig().title,
        site_url=safe_url(site.get("site_url")), papers=papers,
        note_html=sanitise(note_html).strip(), note_text=note_text.strip())


def entry_date(entry: feedparser.FeedParserDict) -> dt.date | None:
    """The item's listing day: from its link (its date is when it was first published, which
    can be the next day), else from its date."""
    listed = urls.day_in(entry.get("link") or "") or urls.day_in(entry.get("id") or "")
    if listed:
        return listed
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.date(*parsed[:3]) if parsed else None


def read_day(feed: feedparser.FeedParserDict, source: str, date: dt.date | None) -> DigestDay:
    """One day of the digest from the RSS item's HTML."""
    dated = [(entry_date(entry), entry) for entry in feed.entries]
    day, entry = pick_day([(d, entry) for d, entry in dated if d is not None], source, date)
    body = entry.content[0].value if entry.get("content") else entry.get("summary", "")
    parser = DigestParser()
    parser.feed(body)
    parser.close()
    papers = [p for p in parser.papers if p.title and p.url]
    if not papers:
        raise ContentError([source_problem(
            source, f"the item of {day.isoformat()} lists no papers in the digest format: "
            "is this the site's digest.xml?")])
    guid = entry.get("id") or entry.get("link") or day.isoformat()
    return DigestDay(
        date=day, guid=guid, url=safe_url(entry.get("link")) or safe_url(guid),
        site_title=squash(feed.feed.get("title", "")).removesuffix(DIGEST_TITLE_SUFFIX)
        or SiteConfig().title,
        site_url=safe_url(feed.feed.get("link")), papers=papers,
        note_html=sanitise("".join(parser.note_parts)).strip(),
        note_text="\n\n".join(parser.note_paragraphs),
    )


def filter_day(day: DigestDay, search: SavedSearch) -> DigestDay:
    """Only the day's papers that match a saved search (as the site's own search page)."""
    return dataclasses.replace(day, papers=[
        p for p in day.papers if saved_search_matches(search, p.as_paper(day.date))])
