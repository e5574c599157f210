"""Files for publishing: sitemap.xml, robots.txt, .nojekyll and CNAME; their dates come from
the content, never the clock, so an unchanged site rebuilds to identical files."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from site_builder import urls
from site_builder.model import Site
from site_builder.outputs import FileOutput
from site_builder.pages import Page
from site_builder.related import Related

SITEMAP_LIMIT = 50_000  # URLs per sitemap file, the protocol's maximum
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# context values that hold no listing day (a related paper's day is its own page's, not this one's)
NO_DATES = frozenset({str, int, float, bool, type(None), dict, Related})


class DateFinder:
    """Finds the content dates reachable from page contexts, remembering shared listings."""

    def __init__(self) -> None:
        self.seen: dict[int, dt.date | None] = {}

    def newest(self, value: object) -> dt.date | None:
        """The newest listing (or withdrawal) day in a context value: papers, days, listings."""
        if type(value) in NO_DATES:
            return None
        day = getattr(value, "day", None)
        if isinstance(day, dt.date):  # a paper
            withdrawn = getattr(value, "withdrawn", None)
            return max(day, withdrawn) if isinstance(withdrawn, dt.date) else day
        key = id(value)
        if key in self.seen:
            return self.seen[key]
        date = getattr(value, "date", None)
        papers = getattr(value, "papers", None)
        if isinstance(date, dt.date) and not isinstance(date, dt.datetime):  # a day
            found = max_date([date, *(self.newest(p) for p in papers or [])])
        elif isinstance(papers, list):  # a week, month, topic, organisation listing
            found = max_date(self.newest(p) for p in papers)
        elif isinstance(value, (list, tuple)):
            found = max_date(self.newest(item) for item in value)
        else:
            found = None
        self.seen[key] = found
        return found

    def page_lastmod(self, page: Page, site: Site) -> dt.date | None:
        """The content date a page last changed with; pages without dates follow the site."""
        found = max_date(self.newest(value) for value in page.context.values())
        if found is None and site.latest_day:
            return self.newest(site.latest_day)
        return found


def max_date(dates) -> dt.date | None:
    return max((d for d in dates if d is not None), default=None)


def page_lastmod(page: Page, site: Site) -> dt.date | None:
    """The content date a page last changed with: its newest listing day, never build time."""
    return DateFinder().page_lastmod(page, site)


def sitemap_xml(root: str, element: str, entries: list[tuple[str, dt.date | None]]) -> bytes:
    """A sitemap (``urlset`` of ``url``) or sitemap index (``sitemapindex`` of ``sitemap``)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root} xmlns="{SITEMAP_NS}">']
    for loc, lastmod in entries:
        lastmod_tag = f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
        lines.append(f"  <{element}><loc>{escape(loc)}</loc>{lastmod_tag}</{element}>")
    lines.append(f"</{root}>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def sitemap_files(site: Site, pages: list[Page], limit: int = SITEMAP_LIMIT) -> list[FileOutput]:
    """``sitemap.xml``; past ``limit`` URLs it becomes an index of ``sitemap-N.xml`` parts."""
    finder = DateFinder()  # (URL, lastmod) of every HTML page but the 404:
    entries = [(urls.absolute(site.config.base_url, page.path), finder.page_lastmod(page, site))
               for page in pages if page.path != urls.NOT_FOUND]
    if len(entries) <= limit:
        return [FileOutput(urls.SITEMAP, sitemap_xml("urlset", "url", entries), "sitemap")]
    files, parts = [], []
    for number, start in enumerate(range(0, len(entries), limit), start=1):
        chunk = entries[start : start + limit]
        path = urls.sitemap_part(number)
        files.append(FileOutput(path, sitemap_xml("urlset", "url", chunk), "sitemap"))
        parts.append((urls.absolute(site.config.base_url, path),
                      max_date(lastmod for _loc, lastmod in chunk)))
    index = sitemap_xml("sitemapindex", "sitemap", parts)
    return [FileOutput(urls.SITEMAP, index, "sitemap"), *files]


def robots(site: Site) -> bytes:
    """Allow everything and point at the sitemap (crawlers read it only at a host's root)."""
    sitemap_url = urls.absolute(site.config.base_url, urls.SITEMAP)
    return f"User-agent: *\nAllow: /\n\nSitemap: {sitemap_url}\n".encode()


def cname_domain(value: str) -> str:
    """The bare host name GitHub Pages wants in CNAME, even if site.yaml gives a URL."""
    value = value.strip()
    host = urlsplit(value if "//" in value else f"//{value}").hostname or ""
    return host.rstrip(".").lower()


def publishing_files(site: Site, pages: list[Page]) -> list[FileOutput]:
    """The sitemap, robots.txt, .nojekyll and, when site.yaml names a domain, CNAME."""
    files = [
        *sitemap_files(site, pages),
        FileOutput(urls.ROBOTS, robots(site), "robots"),
        FileOutput(urls.NOJEKYLL, b"", "publishing"),
    ]
    domain = cname_domain(site.config.cname) if site.config.cname else ""
    if domain:
        files.append(FileOutput(urls.CNAME, domain.encode() + b"\n", "site.yaml cname"))
    return files
