"""The list of every HTML page of the site: (site path, template, context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from site_builder import urls
from site_builder.content import Paper
from site_builder.dates import long_date, month_name
from site_builder.markup import plain_title
from site_builder.model import Site, top_key

TRENDING_WINDOWS = (7, 30)  # calendar days up to the latest listing day
HOME_DAY_CARDS = 10  # the latest day's top papers shown on the home page
PERIOD_TOP_CARDS = 10  # a week's or month's top papers shown as cards; the rest are on its days


@dataclass
class Page:
    """One HTML page to render: a pure function of its template and context."""

    path: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    rooted: bool = False  # links from the base path, for pages served at any depth
    channel: str = ""  # the title of the page's own feeds, linked before the site's
    feeds: tuple[urls.FeedFile, ...] = ()  # the page's own feeds (urls.topic_feeds, ...)


@dataclass(frozen=True)
class ArchivePage:
    """One page of a listing paginated so that old pages never move.

    Numbered page N holds the papers (N-1)*size+1 … N*size counted from the oldest, so a new
    day fills the newest page and never shifts an older one; the front page shows the newest
    ``size`` papers (whatever does not fill a full page is always among them). A listing of
    ``size`` papers or fewer is its front page alone.
    """

    path: str
    papers: list[Paper]  # newest first, as every listing shows them
    pagination: dict[str, Any]


def archive_pages(papers: list[Paper], size: int, front: str) -> list[ArchivePage]:
    """The front page and numbered pages of a listing of ``papers`` (newest first)."""
    oldest_first = papers[::-1]
    full = len(papers) // size if len(papers) > size else 0
    numbered = [oldest_first[(n - 1) * size : n * size] for n in range(1, full + 1)]
    pages = [ArchivePage(front, papers[:size], front_pagination(front, numbered))]
    for number, chunk in enumerate(numbered, start=1):
        pages.append(ArchivePage(urls.numbered_page(front, number), chunk[::-1],
                                 numbered_pagination(front, number, full, size, chunk)))
    return pages


def front_pagination(front: str, numbered: list[list[Paper]]) -> dict[str, Any]:
    """The front page's pager: every numbered page, newest first (it changes every day anyway)."""
    newest = len(numbered)
    return {
        "number": 0,
        "front": front,
        "newer": None,
        "older": urls.numbered_page(front, newest) if newest else None,
        "oldest": None,
        "pages": [(n, urls.numbered_page(front, n)) for n in range(newest, 0, -1)],
    }


def numbered_pagination(front: str, number: int, newest: int, size: int,
                        chunk: list[Paper]) -> dict[str, Any]:
    """A numbered page's pager: only what does not change when newer pages are added (its
    neighbours, the front page, page 1), except the newest page's link to newer papers."""
    return {
        "number": number,
        "front": front,
        "newer": urls.numbered_page(front, number + 1) if number < newest else front,
        "older": urls.numbered_page(front, number - 1) if number > 1 else None,
        "oldest": urls.numbered_page(front, 1) if number > 1 else None,
        "first": (number - 1) * size + 1,
        "last": (number - 1) * size + len(chunk),
        "since": chunk[0].day,
        "until": chunk[-1].day,
        "pages": [],
    }


def home_page(site: Site) -> Page:
    day = site.latest_day
    return Page(urls.HOME, "home.html", {
        "day": day,
        "day_top": sorted(day.papers, key=top_key)[:HOME_DAY_CARDS] if day else [],
        "top": site.trending(7)[: site.config.home_top_size],
        "days_count": len(site.days),
        "day_dates": [d.date.isoformat() for d in site.days],
        "papers_count": len(site.papers),
    }, title="")


def day_pages(site: Site) -> list[Page]:
    return [Page(urls.day(day.date), "day.html", {"day": day},
                 title=f"Papers of {long_date(day.date)}") for day in site.days]


def week_pages(site: Site) -> list[Page]:
    """A week's top papers as cards and its days as links (the days hold every card)."""
    pages = []
    for index, week in enumerate(site.weeks):
        previous = site.weeks[index - 1].key if index else None
        following = site.weeks[index + 1].key if index + 1 < len(site.weeks) else None
        pages.append(Page(urls.week(week.key), "week.html", {
            "week": week, "top": week.papers[:PERIOD_TOP_CARDS],
            "previous": previous, "next": following,
        }, title=f"Week {week.key}"))
    return pages


def month_pages(site: Site) -> list[Page]:
    pages = []
    for index, month in enumerate(site.months):
        previous = site.months[index - 1] if index else None
        following = site.months[index + 1] if index + 1 < len(site.months) else None
        pages.append(Page(urls.month(month.key), "month.html", {
            "month": month,
            "top": month.papers[:PERIOD_TOP_CARDS],
            "previous": previous.first if previous else None,
            "next": following.first if following else None,
        }, title=month_name(month.first)))
    return pages


def archive_page(site: Site) -> Page:
    return Page(urls.ARCHIVE, "archive.html", {"months": list(reversed(site.months))},
                title="Archive")


def topic_pages(site: Site) -> list[Page]:
    by_title = sorted(site.topics, key=lambda t: (t.topic.title.casefold(), t.topic.slug))
    pages = [Page(urls.TOPICS, "topics.html", {"topics": by_title}, title="Topics")]
    for listing in site.topics:
        topic, total = listing.topic, len(listing.papers)
        feeds = urls.topic_feeds(topic.slug)
        for part in archive_pages(listing.papers, site.config.page_size, urls.topic(topic.slug)):
            pages.append(Page(part.path, "topic.html", listing_context("topic", topic, part, total),
                              title=numbered_title(topic.title, part), channel=topic.title,
                              feeds=feeds))
    return pages


def listing_context(name: str, subject: Any, part: ArchivePage, total: int) -> dict[str, Any]:
    """What a topic, organisation or saved-search page shows: ``subject`` (under ``name``),
    its papers and pager, and on the front page the listing's size. A numbered page is not
    given the whole listing, so adding a day leaves its context (and bytes) alone."""
    context = {name: subject, "papers": part.papers, "pagination": part.pagination}
    if not part.pagination["number"]:
        context["total"] = total
    return context


def numbered_title(title: str, part: ArchivePage) -> str:
    number = part.pagination["number"]
    return f"{title} (page {number})" if number else title


def day_neighbours(site: Site) -> dict[str, tuple[Paper | None, Paper | None]]:
    """Each paper's previous and next paper in its day's listing."""
    around: dict[str, tuple[Paper | None, Paper | None]] = {}
    for day in site.days:
        papers = day.papers
        for index, paper in enumerate(papers):
            around[paper.id] = (papers[index - 1] if index else None,
                                papers[index + 1] if index + 1 < len(papers) else None)
    return around


def paper_pages(site: Site) -> list[Page]:
    around = day_neighbours(site)
    return [Page(urls.paper(paper.id), "paper.html", {
        "paper": paper,
        "related": site.related.get(paper.id, []),
        "previous_paper": around[paper.id][0],
        "next_paper": around[paper.id][1],
    }, title=plain_title(paper.title)) for paper in site.papers.values()]


def trending_page(site: Site) -> Page:
    """The top of the past 7 days, then the top of the rest of the past 30: two windows that
    never list one paper twice."""
    windows, shown = [], set()
    for days in TRENDING_WINDOWS:
        papers = [p for p in site.trending(days) if p.id not in shown][: site.config.page_size]
        shown.update(p.id for p in papers)
        windows.append((days, papers))
    return Page(urls.TRENDING, "trending.html", {"windows": windows}, title="Trending")


def org_pages(site: Site) -> list[Page]:
    pages = [Page(urls.ORGS, "orgs.html", {"orgs": site.orgs}, title="Organisations")]
    for listing in site.orgs:
        org, total = listing.org, len(listing.papers)
        for part in archive_pages(listing.papers, site.config.page_size, urls.org(org.name)):
            pages.append(Page(part.path, "org.html", listing_context("org", org, part, total),
                              title=numbered_title(org.label, part)))
    return pages


def saved_search_pages(site: Site) -> list[Page]:
    pages = []
    for listing in site.saved_searches:
        search, total = listing.search, len(listing.papers)
        feeds = urls.saved_search_feeds(search.slug)
        front = urls.saved_search(search.slug)
        for part in archive_pages(listing.papers, site.config.page_size, front):
            pages.append(Page(part.path, "saved_search.html",
                              listing_context("search", search, part, total),
                              title=numbered_title(search.title, part), channel=search.title,
                              feeds=feeds))
    return pages


def subscribe_page(site: Site) -> Page:
    """Every feed of the site on one page, with the OPML file that holds them all."""
    topics = sorted(site.topics, key=lambda t: t.topic.title.casefold())
    return Page(urls.SUBSCRIBE, "subscribe.html", {
        "topics": topics, "searches": site.saved_searches, "latest_day": site.latest_day,
    }, title="Subscribe")


def utility_pages(site: Site) -> list[Page]:
    return [
        subscribe_page(site),
        Page(urls.READING_LIST, "reading_list.html", {}, title="My papers"),
        Page(urls.SEARCH, "search.html", {}, title="Search"),
        Page(urls.NOT_FOUND, "404.html", {}, title="Page not found", rooted=True),
    ]


def site_pages(site: Site) -> list[Page]:
    """Every HTML page of the site, in a stable order."""
    return [
        home_page(site),
        *day_pages(site),
        *week_pages(site),
        *month_pages(site),
        archive_page(site),
        *topic_pages(site),
        *paper_pages(site),
        trending_page(site),
        *org_pages(site),
        *saved_search_pages(site),
        *utility_pages(site),
    ]
