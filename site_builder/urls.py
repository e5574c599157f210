"""Every URL and output path of the site, in one place.

A *site path* is relative to the site root and has no leading slash: ``""`` is the home
page, ``"date/2024-04-21/"`` a day, ``"feed.xml"`` a file. Pages link to each other with
page-relative URLs (so the site works at ``/`` and under any sub-path); feeds, sitemaps and
emails use absolute URLs built from the base URL.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from site_builder.slugs import slugify

HOME = ""
ARCHIVE = "archive/"
TOPICS = "topics/"
SEARCH = "search/"
TRENDING = "trending/"
ORGS = "orgs/"
SUBSCRIBE = "subscribe/"
READING_LIST = "my-papers/"  # the reader's starred papers, kept in their browser
NOT_FOUND = "404.html"
RSS = "feed.xml"  # the site channel's files (see SITE_FORMATS)
ATOM = "atom.xml"
JSON_FEED = "feed.json"
DIGEST = "digest.xml"
DIGEST_JSON = "digest.json"  # the same days as data, read by `site-builder email`
WEEKLY = "weekly.xml"
OPML = "feeds.opml"
SITEMAP = "sitemap.xml"
ROBOTS = "robots.txt"
NOJEKYLL = ".nojekyll"
CNAME = "CNAME"
PAGEFIND = "pagefind/"  # the search index and UI, written by Pagefind
STATIC = "static/"
PAPERS = "papers/"  # every paper page lives under this folder
UNRESERVED_RE = re.compile(r"[A-Za-z0-9._~-]*")  # what quote() leaves as it is


def day(date: dt.date) -> str:
    return f"date/{date.isoformat()}/"


def day_in(url: str) -> dt.date | None:
    """The listing day of a URL made by ``day()`` (a digest item's link), or None."""
    try:
        return dt.date.fromisoformat(name_in(url, day(dt.date.min).split("/")[0]))
    except ValueError:
        return None


def week_key(date: dt.date) -> str:
    """The ISO week of a date as ``YYYY-Www``."""
    year, week, _ = date.isocalendar()
    return f"{year}-W{week:02d}"


def week(key: str) -> str:
    return f"week/{key}/"


def month_key(date: dt.date) -> str:
    return f"{date.year:04d}-{date.month:02d}"


def month(key: str) -> str:
    return f"month/{key}/"


def paper(paper_id: str) -> str:
    safe = UNRESERVED_RE.fullmatch(paper_id)  # every id the content rules allow: no quoting
    return f"{PAPERS}{paper_id if safe else quote(paper_id)}/"


def topic(slug: str) -> str:
    """A topic's front page: its newest papers."""
    return f"topics/{slug}/"


def numbered_page(front: str, number: int) -> str:
    """Page ``number`` of an archive listing whose front page is ``front``: the papers
    ``(number-1)*size+1 … number*size`` counted from the oldest, which never move."""
    return f"{front}page/{number}/"


def day_bib(date: dt.date) -> str:
    """BibTeX of every paper of a day."""
    return f"date/{date.isoformat()}/papers.bib"


def topic_bib(slug: str) -> str:
    """BibTeX of every paper of a topic."""
    return f"topics/{slug}/papers.bib"


@dataclass(frozen=True)
class FeedFormat:
    """A format a channel is written in: feeds.py's writer, the label readers see, the type."""

    key: str  # the writer in feeds.WRITERS
    label: str  # "RSS", "Atom", "JSON Feed": in follow boxes and alternate links' titles
    media_type: str  # the type of <link rel="alternate"> and of a follow link
    name: str  # the file name in a channel's folder


RSS_FORMAT = FeedFormat("rss", "RSS", "application/rss+xml", "feed.xml")
ATOM_FORMAT = FeedFormat("atom", "Atom", "application/atom+xml", "atom.xml")
JSON_FORMAT = FeedFormat("json", "JSON Feed", "application/feed+json", "feed.json")
DIGEST_RSS_FORMAT = FeedFormat("rss", "RSS", "application/rss+xml", DIGEST)
DIGEST_JSON_FORMAT = FeedFormat("digest-json", "JSON", "application/feed+json", DIGEST_JSON)
WEEKLY_FORMAT = FeedFormat("rss", "RSS", "application/rss+xml", WEEKLY)

# The one list of each channel's formats: feeds are written, linked (<link rel="alternate">)
# and offered in follow boxes in this order; the first is the one feeds.opml lists.
SITE_FORMATS = (RSS_FORMAT, ATOM_FORMAT, JSON_FORMAT)
TOPIC_FORMATS = (RSS_FORMAT, ATOM_FORMAT)
SAVED_SEARCH_FORMATS = (RSS_FORMAT, ATOM_FORMAT)
DIGEST_FORMATS = (DIGEST_RSS_FORMAT, DIGEST_JSON_FORMAT)
WEEKLY_FORMATS = (WEEKLY_FORMAT,)


@dataclass(frozen=True)
class FeedFile:
    """One file of a channel: its format and site path."""

    format: FeedFormat
    path: str


def channel_files(folder: str, formats: tuple[FeedFormat, ...]) -> tuple[FeedFile, ...]:
    return tuple(FeedFile(kind, folder + kind.name) for kind in formats)


def site_feeds() -> tuple[FeedFile, ...]:
    return channel_files(HOME, SITE_FORMATS)


def digest_feeds() -> tuple[FeedFile, ...]:
    return channel_files(HOME, DIGEST_FORMATS)


def weekly_feeds() -> tuple[FeedFile, ...]:
    return channel_files(HOME, WEEKLY_FORMATS)


def topic_feeds(slug: str) -> tuple[FeedFile, ...]:
    return channel_files(topic(slug), TOPIC_FORMATS)


def saved_search_feeds(slug: str) -> tuple[FeedFile, ...]:
    return channel_files(saved_search(slug), SAVED_SEARCH_FORMATS)


def saved_search(slug: str) -> str:
    return f"feeds/{slug}/"


def org(name: str) -> str:
    """An organisation's page: a slug of its name (``Meta AI`` -> ``orgs/meta-ai/``)."""
    return f"orgs/{slugify(name, fallback='org')}/"


def sitemap_part(number: int) -> str:
    """One file of a sitemap split in parts (``sitemap.xml`` is then their index)."""
    return f"sitemap-{number}.xml"


def name_in(url: str, section: str) -> str:
    """The name in a page URL made by ``topic()``, ``org()`` or ``paper()``, or "".

    ``name_in("https://x.org/digest/topics/llm-training/", "topics")`` is ``"llm-training"``:
    how the email command reads topic slugs and organisation names back from a digest feed.
    """
    parts = urlsplit(url).path.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == section.strip("/") and parts[-1]:
        return unquote(parts[-1])
    return ""


def arxiv_search(title: str) -> str:
    """An arXiv search for a paper's title (for papers that came without links)."""
    return "https://arxiv.org/search/?searchtype=title&query=" + quote(title, safe="")


def hf_search(title: str) -> str:
    """A Hugging Face papers search for a paper's title."""
    return "https://huggingface.co/papers?q=" + quote(title, safe="")


ARXIV_ID_RE = re.compile(r"\d{4}\.\d{4,5}")


def hf_paper(paper_id: str) -> str:
    """A paper's page on Hugging Face (its id there is the arXiv id), or "" for other ids."""
    return f"https://huggingface.co/papers/{paper_id}" if ARXIV_ID_RE.fullmatch(paper_id) else ""


def doi(identifier: str) -> str:
    """The resolver address of a DOI (``10.1145/...``)."""
    return "https://doi.org/" + identifier


def static(name: str) -> str:
    return STATIC + name


def output_file(site_path: str) -> str:
    """The file that serves a site path: directories get ``index.html``."""
    if site_path == "" or site_path.endswith("/"):
        return site_path + "index.html"
    return site_path


def absolute(base_url: str, site_path: str) -> str:
    """An absolute URL for a site path under the base URL (which ends with '/')."""
    return base_url + site_path


def rooted(base_path: str, site_path: str) -> str:
    """A root-relative URL (``/digest/date/…``), for pages served at any depth like 404.html."""
    return base_path + site_path


def relative(from_path: str, to_path: str) -> str:
    """A page-relative URL from one site path (a page) to another."""
    from_dir = from_path if from_path.endswith("/") or from_path == "" else posixpath.dirname(
        from_path) + "/"
    if from_dir == "/":
        from_dir = ""
    depth = from_dir.count("/")
    rel = "../" * depth + to_path
    return rel or "./"


class Links:
    """The URL helper templates use: ``links.day(d)``, ``links.paper(id)``, ``links.to(path)``.

    Every method returns a URL usable from the page being rendered: page-relative by default,
    root-relative when the page can be served from any depth (the 404 page).
    """

    def __init__(self, page_path: str, base_url: str, base_path: str, rooted: bool = False):
        self.page_path = page_path
        self.base_url = base_url
        self.base_path = base_path
        self.rooted = rooted

    def to(self, site_path: str) -> str:
        if self.rooted:
            return rooted(self.base_path, site_path)
        return relative(self.page_path, site_path)

    @property
    def prefix(self) -> str:
        """What goes before a site path to link to it from this page (``../../``)."""
        if self.rooted:
            return self.base_path
        rel = relative(self.page_path, "")
        return "" if rel == "./" else rel

    def absolute(self, site_path: str) -> str:
        return absolute(self.base_url, site_path)

    @property
    def canonical(self) -> str:
        return absolute(self.base_url, self.page_path)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        target = globals().get(name)
        if isinstance(target, str):
            return self.to(target)
        if callable(target) and name not in ("relative", "absolute", "rooted", "output_file"):
            return lambda *args, **kwargs: self.to(target(*args, **kwargs))
        raise AttributeError(name)


MARKER = "\ue002site\ue003"  # stands for a page's prefix in fragments shared between pages


class FragmentLinks(Links):
    """Links for a fragment rendered once and placed on many pages: ``MARKER + site path``.

    ``place_fragment`` swaps the marker for the prefix of the page the fragment lands on.
    """

    def __init__(self, base_url: str, base_path: str):
        super().__init__("", base_url, base_path)

    def to(self, site_path: str) -> str:
        return MARKER + site_path


def place_fragment(fragment: str, links: Links) -> str:
    """A fragment made with FragmentLinks, with its links made right for this page."""
    prefix = links.prefix
    return fragment.replace(MARKER + '"', (prefix or "./") + '"').replace(MARKER, prefix)
