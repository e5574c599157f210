"""The daily email: digest data -> one day's papers -> email message -> a file or SMTP.

The email is made from the published ``digest.json`` (see ``digest_data``), read from a file
or a URL, so it works against any deployed copy of the site and does not depend on the
markup of the digest's HTML. Given ``digest.xml``, it reads ``digest.json`` beside it; only
when there is none (a site built by an older version) does ``DigestParser`` read the papers
back from the RSS item's HTML, by the class names of ``theme/feeds/digest.html``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import json
import os
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import css_inline
import feedparser
import jinja2

from site_builder import __version__, urls
from site_builder.config import SavedSearch, SiteConfig, load_config
from site_builder.content import Organization, Paper
from site_builder.dates import count, long_date, short_date
from site_builder.digest_data import EXTENSION as DATA_KEY
from site_builder.errors import ContentError, Problem, problem
from site_builder.feeds import DIGEST_TITLE_SUFFIX
from site_builder.markup import sanitise, truncate
from site_builder.model import saved_search_matches
from site_builder.render import make_environment, site_templates

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HTML_TEMPLATE = "email/digest.html"
TEXT_TEMPLATE = "email/digest.txt"
SHORT_ABSTRACT = 320
AUTHORS_SHOWN = 5
# Gmail clips an HTML part over 102 KB (hiding the rest and the footer): the email's HTML part
# stays under this many bytes, as sent (see choose_layout)
HTML_BUDGET = 90_000
TITLE_LINES = 200  # at most this many papers as title lines; the rest are counted
TIMEOUT = 30  # seconds, for fetching the feed and for each SMTP operation
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "param", "source", "track", "wbr"}
BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "div"}
# class name in the digest HTML -> field of a DigestPaper
FIELD_CLASSES = {
    "paper-title": "title", "author": "authors", "author-count": "author_count",
    "org": "org", "upvotes": "upvotes", "paper-abstract": "abstract",
    "paper-withdrawn": "withdrawn", "topic": "topics", "paper-link": "url",
}
PARAGRAPH = "\u2029"  # marks a </p> inside the text of an element
LINK_PREFIX = "link-"  # link-paper, link-pdf, link-code, link-arxiv, link-project


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



UNDISCLOSED = "undisclosed-recipients:;"  # the To of an --out file without --to (RFC 5322)


def placeholder_sender(day: DigestDay) -> str:
    """The From address of an --out file made without --from: the site's host, so the file is
    a complete message that any mail client opens (RFC 5322 requires a From)."""
    host = urlsplit(day.site_url or day.url).hostname or "localhost"
    return f"digest@{host}"


def message_date() -> str:
    """The Date header: now, or SOURCE_DATE_EPOCH when set (reproducible .eml files)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return formatdate(int(epoch) if epoch.isdigit() else None, usegmt=True)

def source_problem(source: str | Path, message: str) -> Problem:
    """A problem about a file (path shown as typed) or a URL or server (shown as is)."""
    text = str(source)
    if "://" in text or text.startswith("--"):
        return Problem(text, 0, message)
    return problem(text, message)


def safe_url(href: str | None) -> str:
    """Only http(s) links make it into an email."""
    href = (href or "").strip()
    return href if urlsplit(href).scheme in ("http", "https") else ""


def number_in(text: str) -> int:
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits else 0


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
            closing_note = self._note_depth and len(self._stack) + 1 == self._note_depth
            if self._note_depth and not closing_note:
                self.note_parts.append(f"</{open_tag}>")
                if open_tag in BLOCK_TAGS:
                    self._end_note_paragraph()
            if closing_note:
                self._end_note_paragraph()
                self._note_depth = 0
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
        paragraph = " ".join("".join(self._note_text).split())
        if paragraph:
            self.note_paragraphs.append(paragraph)
        self._note_text = []

    def _close(self, classes: list[str], href: str, raw: str) -> None:
        if not self.papers:
            return
        text = " ".join(raw.split())
        paper = self.papers[-1]
        for name in classes:
            if name.startswith(LINK_PREFIX) and href:
                paper.links.append((name[len(LINK_PREFIX):], text, href))
            kind = FIELD_CLASSES.get(name)
            if kind == "title":
                paper.title = text
            elif kind == "url" and href:
                paper.url = href
            elif kind == "authors" and text:
                paper.authors.append(text)
            elif kind == "author_count":
                paper.author_count = number_in(text)
            elif kind == "org":
                paper.org_name = urls.name_in(href, "orgs") or text
                paper.org_label = text
            elif kind == "upvotes":
                paper.upvotes = number_in(text)
            elif kind == "abstract":
                paragraphs = (" ".join(part.split()) for part in raw.split(PARAGRAPH))
                paper.abstract = "\n\n".join(part for part in paragraphs if part)
            elif kind == "withdrawn":
                paper.withdrawn = True
            elif kind == "topics" and href:
                paper.topics.append((urls.name_in(href, "topics"), text, href))


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
    beside = data_source(source)
    if beside:
        try:
            data = read_source(beside, "digest")
        except NotFoundError:
            data = b""
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


def text_field(data: dict, key: str) -> str:
    value = data.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def json_paper(data: dict) -> DigestPaper:
    """A paper of digest.json (see digest_data.paper_data); wrong types read as missing."""
    def mappings(key: str) -> list[dict]:
        value = data.get(key)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    org = data.get("organization") if isinstance(data.get("organization"), dict) else {}
    authors = data.get("authors") if isinstance(data.get("authors"), list) else []
    upvotes, count_ = data.get("upvotes"), data.get("author_count")
    abstract = data.get("abstract") if isinstance(data.get("abstract"), str) else ""
    return DigestPaper(
        title=text_field(data, "title"), url=safe_url(data.get("url")),
        authors=[" ".join(a.split()) for a in authors if isinstance(a, str) and a.strip()],
        author_count=count_ if isinstance(count_, int) and not isinstance(count_, bool) else 0,
        org_name=text_field(org, "name"), org_label=text_field(org, "label"),
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        abstract="\n\n".join(" ".join(p.split()) for p in abstract.split("\n\n") if p.strip()),
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
    note_html = day_data.get("note_html") if isinstance(day_data.get("note_html"), str) else ""
    note_text = day_data.get("note_text") if isinstance(day_data.get("note_text"), str) else ""
    if note_title and (note_html or note_text):
        note_html = f"<h2>{html.escape(note_title)}</h2>{note_html}"
        note_text = f"{note_title}\n\n{note_text}"
    site = feed[DATA_KEY]
    guid = item.get("id") if isinstance(item.get("id"), str) else day.isoformat()
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


def pick_entry(feed: feedparser.FeedParserDict, source: str, date: dt.date | None):
    """The digest item of the given day, or of the newest day."""
    dated = [(entry_date(entry), entry) for entry in feed.entries]
    return pick_day([(day, entry) for day, entry in dated if day is not None], source, date)


def read_day(feed: feedparser.FeedParserDict, source: str, date: dt.date | None) -> DigestDay:
    day, entry = pick_entry(feed, source, date)
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
        site_title=" ".join(feed.feed.get("title", "").split()).removesuffix(
            DIGEST_TITLE_SUFFIX) or SiteConfig().title,
        site_url=safe_url(feed.feed.get("link")), papers=papers,
        note_html=sanitise("".join(parser.note_parts)).strip(),
        note_text="\n\n".join(parser.note_paragraphs),
    )


def find_saved_search(config: SiteConfig, content_dir: Path, slug: str) -> SavedSearch:
    for search in config.saved_searches:
        if search.slug == slug:
            return search
    known = ", ".join(s.slug for s in config.saved_searches) or "none defined"
    raise ContentError([problem(content_dir / "site.yaml",
                                f"no saved search '{slug}' (known: {known})")])


def filter_day(day: DigestDay, search: SavedSearch) -> DigestDay:
    """Only the day's papers that match a saved search (as the site's own search page)."""
    papers = [p for p in day.papers if saved_search_matches(search, p.as_paper(day.date))]
    return DigestDay(day.date, day.guid, day.url, day.site_title, day.site_url, papers,
                     day.note_html, day.note_text)


def subject_line(config: SiteConfig, content_dir: Path, title: str, day: DigestDay) -> str:
    values = {"title": title, "date": short_date(day.date), "count": len(day.papers),
              "papers": count(len(day.papers), "paper")}  # "1 paper", "41 papers"
    try:
        subject = config.email.subject.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ContentError([problem(content_dir / "site.yaml",
                                    f"email.subject: cannot fill in {exc} (use {{title}}, "
                                    "{date}, {count} and {papers})")]) from None
    return " ".join(subject.split())


def message_id(day: DigestDay, search: SavedSearch | None) -> str:
    """The same id for the same day (and saved search), so a resend is recognisable."""
    key = day.guid + ("\0" + search.slug if search else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    host = urlsplit(day.guid).hostname or "site-builder.invalid"
    name = f"digest-{day.date.isoformat()}" + (f"-{search.slug}" if search else "")
    return f"<{name}.{digest}@{host}>"


def unsubscribe_link(value: str) -> str:
    """The List-Unsubscribe setting as a link for the footer (http(s) or mailto only)."""
    value = value.strip().strip("<>")
    return value if urlsplit(value).scheme in ("http", "https", "mailto") else ""


def one_click(value: str) -> bool:
    """True when the List-Unsubscribe setting has an https URL: one-click unsubscribe (a POST
    to it) is then offered. mailto: and http: alone cannot be one-click (RFC 8058)."""
    return any(urlsplit(part.strip().strip("<>")).scheme == "https" for part in value.split(","))


def list_unsubscribe(value: str) -> str:
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


@dataclass(frozen=True)
class Layout:
    """How many of the day's papers (top first) are shown in full and as title lines; the
    rest are counted, with a link to the day's page."""

    full: int
    titles: int


def render_bodies(env: jinja2.Environment, day: DigestDay, config: SiteConfig, title: str,
                  subject: str, search: SavedSearch | None,
                  layout: Layout | None = None) -> tuple[str, str]:
    """The HTML (CSS inlined) and text parts of the email."""
    papers = day.papers
    layout = layout or Layout(len(papers), 0)
    full, titles = papers[:layout.full], papers[layout.full:layout.full + layout.titles]
    context = {
        "day": day, "papers": papers, "title": title, "subject": subject, "search": search,
        "date_long": long_date(day.date), "settings": config.email, "language": config.language,
        "unsubscribe": unsubscribe_link(config.email.list_unsubscribe),
        "full_papers": full, "title_papers": titles,
        "more_count": len(papers) - len(full) - len(titles),
    }
    html_body = env.get_template(HTML_TEMPLATE).render(**context)
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
    return inliner.inline(html_body), env.get_template(TEXT_TEMPLATE).render(**context)


def html_part_size(html_body: str) -> int:
    """Bytes of the HTML part as sent (transfer-encoded), which is what Gmail measures."""
    part = EmailMessage()
    part.set_content(html_body, subtype="html")
    return len(part.as_bytes(policy=SMTP_POLICY))


def fit(size_of: Callable[[int], int], most: int) -> int:
    """The largest n in 0..most with size_of(n) <= HTML_BUDGET (size_of grows with n), or -1."""
    if size_of(most) <= HTML_BUDGET:
        return most
    low, high = -1, most  # size_of(low) fits (or low is -1), size_of(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if size_of(middle) <= HTML_BUDGET:
            low = middle
        else:
            high = middle
    return low


def choose_layout(render: Callable[[Layout], tuple[str, str]], count_: int) -> Layout:
    """The size rule: the most top papers in full such that the next ones (up to TITLE_LINES)
    still fit as title lines within HTML_BUDGET, the rest counted with a link to the day's
    page; so a normal day is all in full and the footer is always there."""
    def size(layout: Layout) -> int:
        return html_part_size(render(layout)[0])

    def with_titles(full: int) -> Layout:
        return Layout(full, min(count_ - full, TITLE_LINES))

    full = fit(lambda k: size(with_titles(k)), count_)
    if full >= 0:
        return with_titles(full)
    return Layout(0, max(0, fit(lambda n: size(Layout(0, n)), min(count_, TITLE_LINES))))


def build_message(day: DigestDay, config: SiteConfig, env: jinja2.Environment,
                  content_dir: Path, search: SavedSearch | None) -> EmailMessage:
    title = f"{day.site_title}: {search.title}" if search else day.site_title
    subject = subject_line(config, content_dir, title, day)

    def render(layout: Layout) -> tuple[str, str]:
        return render_bodies(env, day, config, title, subject, search, layout)

    html_body, text_body = render(choose_layout(render, len(day.papers)))
    message = EmailMessage()
    message["Subject"] = subject
    message["Date"] = message_date()
    message["Message-ID"] = message_id(day, search)
    if config.email.list_unsubscribe:
        message["List-Unsubscribe"] = list_unsubscribe(config.email.list_unsubscribe)
        if one_click(config.email.list_unsubscribe):  # RFC 8058, asked by Gmail and Yahoo
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message


def address_problem(value: str) -> str:
    name, address = parseaddr(value)
    if not address or "@" not in address or address.startswith("@") or address.endswith("@"):
        return f"'{value}' is not an email address"
    return ""


def read_recipients(args: argparse.Namespace) -> list[str]:
    """--to addresses, then --to-file lines (blank lines and # comments skipped), deduplicated."""
    found: list[tuple[str, Problem | None]] = [
        (a, source_problem("--to", msg) if (msg := address_problem(a)) else None) for a in args.to]
    if args.to_file:
        try:
            lines = args.to_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ContentError([problem(args.to_file, f"cannot read recipients: {exc}")]) from None
        for number, line in enumerate(lines, 1):
            value = line.strip()
            if value and not value.startswith("#"):
                msg = address_problem(value)
                found.append((value, problem(args.to_file, msg, number) if msg else None))
    problems = [p for _addr, p in found if p]
    if problems:
        raise ContentError(problems)
    return list(dict.fromkeys(addr for addr, _p in found))


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    use_ssl: bool = False
    starttls: bool = False

    @property
    def label(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def connect(self) -> smtplib.SMTP:
        """A connected (and logged-in, when SMTP_USER is set) session, or a ContentError."""
        smtp: smtplib.SMTP | None = None
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            user = os.environ.get("SMTP_USER", "")
            if user and not (self.use_ssl or self.starttls):
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("auth") and smtp.has_extn("starttls"):
                    close(smtp)
                    raise ContentError([source_problem(
                        self.label, "the server offers login (SMTP_USER) only over TLS: add "
                        "--starttls (or --ssl for a server on port 465)")])
            if user:
                smtp.login(user, os.environ.get("SMTP_PASSWORD", ""))
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            close(smtp)
            raise ContentError([source_problem(
                self.label, f"the server refused the login of SMTP_USER ({smtp_reason(exc)})"
            )]) from None
        except (OSError, smtplib.SMTPException) as exc:
            close(smtp)
            raise ContentError([source_problem(
                self.label, f"cannot connect to the SMTP server: {smtp_reason(exc)}")]) from None


def close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{exc.verify_message or exc} (the server's certificate is not signed by an "
                "authority this machine trusts; SSL_CERT_FILE can name one)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text.decode(errors='replace')}"
                         for code, text in exc.recipients.values()) or "refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def parse_server(value: str, use_ssl: bool, starttls: bool) -> SmtpServer | str:
    """``HOST:PORT`` (``[::1]:25`` for IPv6) as a server, or an error message."""
    host, _sep, port_text = value.rpartition(":")
    if not _sep:
        host, port_text = value, str(465 if use_ssl else 587 if starttls else 25)
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return f"--smtp '{value}' is not HOST:PORT"
    return SmtpServer(host, int(port_text), use_ssl, starttls)


def send_all(message: EmailMessage, sender: str, recipients: list[str],
             server: SmtpServer) -> list[Problem]:
    """One message per recipient over one connection; the failures, reported per recipient."""
    failures: list[Problem] = []
    smtp: smtplib.SMTP | None = server.connect()
    try:
        for recipient in recipients:
            del message["To"]
            message["To"] = recipient
            try:
                if smtp is None:
                    smtp = server.connect()
                smtp.send_message(message, from_addr=parseaddr(sender)[1],
                                  to_addrs=[parseaddr(recipient)[1]])
                print(f"sent to {recipient}")
            except ContentError as exc:  # reconnecting failed
                failures.append(source_problem(
                    server.label, f"{recipient}: not sent: {exc.problems[0].message}"))
            except (smtplib.SMTPException, OSError) as exc:
                failures.append(source_problem(
                    server.label, f"{recipient}: not sent: {smtp_reason(exc)}"))
                if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                    close(smtp)
                    smtp = None
    finally:
        close(smtp)
    return failures


def usage_error(message: str) -> int:
    print(f"site-builder email: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_arguments(args: argparse.Namespace) -> str:
    if args.ssl and args.starttls:
        return "use --ssl or --starttls, not both"
    if args.smtp:
        if not args.sender:
            return "--smtp needs --from ADDR"
        if not args.to and not args.to_file:
            return "--smtp needs --to ADDR or --to-file FILE"
    return ""


def check_sender(sender: str | None) -> None:
    """A bad --from is an input error, as a bad --to is (exit 1, the value named)."""
    if sender and address_problem(sender):
        raise ContentError([source_problem("--from", address_problem(sender))])


def load_settings(content_dir: Path) -> SiteConfig:
    """site.yaml of the content folder when there is one, else the defaults."""
    return load_config(content_dir) if content_dir.is_dir() else SiteConfig()


def email_environment(templates_dir: Path | None, content_dir: Path) -> jinja2.Environment:
    """The email templates: the site's own where it has them, else the built-in theme's."""
    return make_environment(site_templates(templates_dir, content_dir))


def send_digest_command(args: argparse.Namespace) -> int:
    """``site-builder email``: build one day's email from the digest feed; write or send it."""
    error = check_arguments(args)
    if error:
        return usage_error(error)
    server = parse_server(args.smtp, args.ssl, args.starttls) if args.smtp else None
    if isinstance(server, str):
        return usage_error(server)
    config = load_settings(args.content)
    search = find_saved_search(config, args.content, args.saved_search) \
        if args.saved_search else None
    check_sender(args.sender)
    recipients = read_recipients(args)
    env = email_environment(args.templates, args.content)
    if getattr(args, "pending", False):  # every closed day not mailed yet (site_builder.daily)
        from site_builder.daily import PendingRun, now_from, send_pending

        if server is None:
            return usage_error("--pending sends: give --smtp HOST:PORT, not --out")
        return send_pending(PendingRun(args, config, env, search, recipients,
                                       now_from(args.now)), server)
    try:
        day = load_day(args.feed, None if args.latest else args.date)
    except MissingDayError as exc:
        if not getattr(args, "skip_missing", False):
            raise
        print(f"{exc.problems[0]}: nothing to send.", file=sys.stderr)
        return EXIT_OK
    if search:
        day = filter_day(day, search)
        if not day.papers:
            print(f"no paper of {day.date.isoformat()} matches the saved search "
                  f"'{search.slug}': nothing to send.", file=sys.stderr)
            return EXIT_OK
    message = build_message(day, config, env, args.content, search)
    address = parseaddr(args.sender)[1] if args.sender else placeholder_sender(day)
    message["From"] = formataddr((config.email.from_name or day.site_title, address))
    if args.out:
        message["To"] = ", ".join(recipients) or UNDISCLOSED
        write_message(message, args.out)
        print(f"wrote {args.out}: {message['Subject']}", file=sys.stderr)
        return EXIT_OK
    assert server is not None
    failures = send_all(message, args.sender, recipients, server)
    sent = len(recipients) - len(failures)
    print(f"sent {sent} of {len(recipients)} message{'s' if len(recipients) != 1 else ''}: "
          f"{message['Subject']}", file=sys.stderr)
    if failures:
        raise ContentError(failures)
    return EXIT_OK


def write_message(message: EmailMessage, path: Path) -> None:
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(message.as_bytes(policy=SMTP_POLICY))
    except OSError as exc:
        raise ContentError([problem(path, f"cannot write the message: {exc.strerror or exc}")]) \
            from None
