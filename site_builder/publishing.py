"""Files for publishing: sitemap.xml, robots.txt, .nojekyll and CNAME."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from site_builder import urls
from site_builder.model import Site
from site_builder.outputs import FileOutput
from site_builder.pages import Page


def page_lastmod(page: Page, site: Site) -> dt.date | None:
    """The content date a page last changed with: its newest listing day, never build time."""
    dates: list[dt.date] = []
    for value in page.context.values():
        dates.extend(dates_in(value))
    if not dates and site.latest_day:
        return site.latest_day.date
    return max(dates) if dates else None


def dates_in(value: object) -> list[dt.date]:
    """Listing days reachable from a page's context value (papers, days, listings)."""
    day = getattr(value, "day", None)
    if isinstance(day, dt.date):
        return [day]
    date = getattr(value, "date", None)
    if isinstance(date, dt.date):
        return [date]
    papers = getattr(value, "papers", None)
    if isinstance(papers, list):
        return [p.day for p in papers]
    if isinstance(value, list):
        found: list[dt.date] = []
        for item in value:
            found.extend(dates_in(item))
        return found
    return []


def sitemap(site: Site, pages: list[Page]) -> bytes:
    base = site.config.base_url
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for page in pages:
        if page.path == urls.NOT_FOUND:
            continue
        lines.append(f"  <url><loc>{escape(urls.absolute(base, page.path))}</loc>")
        lastmod = page_lastmod(page, site)
        if lastmod:
            lines.append(f"    <lastmod>{lastmod.isoformat()}</lastmod>")
        lines.append("  </url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(site: Site) -> bytes:
    sitemap_url = urls.absolute(site.config.base_url, urls.SITEMAP)
    return f"User-agent: *\nAllow: /\n\nSitemap: {sitemap_url}\n".encode()


def publishing_files(site: Site, pages: list[Page]) -> list[FileOutput]:
    files = [
        FileOutput(urls.SITEMAP, sitemap(site, pages), "sitemap"),
        FileOutput(urls.ROBOTS, robots(site), "robots"),
        FileOutput(urls.NOJEKYLL, b"", "publishing"),
    ]
    if site.config.cname:
        cname = site.config.cname.strip().encode() + b"\n"
        files.append(FileOutput("CNAME", cname, "site.yaml cname"))
    return files
