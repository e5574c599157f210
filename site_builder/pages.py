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


@dataclass
class Page:
    """One HTML page to render: a pure function of its template and context."""

    path: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    rooted: bool = False  # links from the base path, for pages served at any depth
    feeds: tuple[tuple[str, str, str], ...] = ()  # extra (type, title, site path) alternates


def paginate(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


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
    pages = []
    for index, week in enumerate(site.weeks):
        previous = site.weeks[index - 1].key if index else None
        following = site.weeks[index + 1].key if index + 1 < len(site.weeks) else None
        pages.append(Page(urls.week(week.key), "week.html",
                          {"week": week, "previous": previous, "next": following},
                          title=f"Week {week.key}"))
    return pages


def month_pages(site: Site) -> list[Page]:
    pages = []
    for index, month in enumerate(site.months):
        previous = site.months[index - 1] if index else None
        following = site.months[index + 1] if index + 1 < len(site.months) else None
        pages.append(Page(urls.month(month.key), "month.html", {
            "month": month,
            "top": month.papers[: site.config.page_size],
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
        chunks = paginate(listing.papers, site.config.page_size)
        slug = listing.topic.slug
        feeds = (("rss", f"{listing.topic.title} (RSS)", urls.topic_feed(slug)),
                 ("atom", f"{listing.topic.title} (Atom)", urls.topic_atom(slug)))
        for number, chunk in enumerate(chunks, start=1):
            pages.append(Page(urls.topic(slug, number), "topic.html", {
                "listing": listing,
                "papers": chunk,
                "pagination": pagination(number, len(chunks), lambda n, s=slug: urls.topic(s, n)),
            }, title=listing.topic.title + (f" (page {number})" if number > 1 else ""),
                feeds=feeds))
    return pages


def pagination(number: int, count: int, url_of) -> dict[str, Any]:
    return {
        "number": number,
        "count": count,
        "previous": url_of(number - 1) if number > 1 else None,
        "next": url_of(number + 1) if number < count else None,
        "pages": [(n, url_of(n)) for n in range(1, count + 1)],
    }


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
    pages += [Page(urls.org(listing.org.name), "org.html", {"listing": listing},
                   title=listing.org.label) for listing in site.orgs]
    return pages


def saved_search_pages(site: Site) -> list[Page]:
    pages = []
    for listing in site.saved_searches:
        slug = listing.search.slug
        feeds = (("rss", f"{listing.search.title} (RSS)", urls.saved_search_feed(slug)),
                 ("atom", f"{listing.search.title} (Atom)", urls.saved_search_atom(slug)))
        pages.append(Page(urls.saved_search(slug), "saved_search.html", {
            "listing": listing, "papers": listing.papers[: site.config.page_size * 2],
        }, title=listing.search.title, feeds=feeds))
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
