"""The site index built from content: days, weeks, months, topics, organisations, trending."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from site_builder import urls
from site_builder.config import SavedSearch, SiteConfig
from site_builder.content import Content, DayNote, Organization, Paper, Topic
from site_builder.fingerprint import digest
from site_builder.markup import MarkupRenderer
from site_builder.related import Related, related_papers
from site_builder.state import Published

WORD_RE = re.compile(r"\w+")
T = TypeVar("T")
Memo = Callable[[str, tuple[str, ...], Callable[[], Any]], Any]  # store.Store.memo


def no_memo(namespace: str, inputs: tuple[str, ...], compute: Callable[[], T]) -> T:
    """Remember nothing (a check, a test): compute every time."""
    return compute()


@dataclass
class Day:
    """One listing day: its papers (top first), editor's note and neighbouring days."""

    date: dt.date
    papers: list[Paper]
    note: DayNote | None = None
    note_html: str = ""
    previous: dt.date | None = None
    next: dt.date | None = None

    @property
    def week_key(self) -> str:
        return urls.week_key(self.date)

    @property
    def month_key(self) -> str:
        return urls.month_key(self.date)


@dataclass
class Week:
    """An ISO week: its days and its papers, top first."""

    key: str
    monday: dt.date
    days: list[Day]
    papers: list[Paper]


@dataclass
class Month:
    key: str
    first: dt.date
    days: list[Day]
    papers: list[Paper]


@dataclass
class TopicListing:
    """A topic and its papers, newest day first."""

    topic: Topic
    papers: list[Paper]


@dataclass
class OrgListing:
    org: Organization
    papers: list[Paper]


@dataclass
class SavedSearchListing:
    search: SavedSearch
    papers: list[Paper]


@dataclass
class Site:
    """Everything the pages and feeds are made from."""

    config: SiteConfig
    days: list[Day]  # oldest first
    weeks: list[Week]
    months: list[Month]
    topics: list[TopicListing]
    orgs: list[OrgListing]
    saved_searches: list[SavedSearchListing]
    papers: dict[str, Paper]
    related: dict[str, list[Related]] = field(default_factory=dict)
    published: Published = field(default_factory=Published)  # first published, from state/

    @property
    def latest_day(self) -> Day | None:
        return self.days[-1] if self.days else None

    @property
    def newest_papers(self) -> list[Paper]:
        """All papers, newest listing day first, then in listing order."""
        return [paper for day in reversed(self.days) for paper in day.papers]

    def trending(self, days: int) -> list[Paper]:
        """Papers listed in the N calendar days up to the latest day, top first (withdrawn
        papers left out): "the past 7 days" on 29 June never reaches back to April."""
        if not self.days:
            return []
        since = self.days[-1].date - dt.timedelta(days=days - 1)
        recent = [p for day in self.days if day.date >= since
                  for p in day.papers if not p.withdrawn]
        return sorted(recent, key=top_key)

    def topic_titles(self) -> dict[str, str]:
        return {listing.topic.slug: listing.topic.title for listing in self.topics}


def top_key(paper: Paper) -> tuple[int, int, bool, str, str]:
    """Order of "top" lists: upvotes, then GitHub stars, then papers with code, then title;
    so a listing without upvotes still leads with the papers people can try."""
    return (-(paper.upvotes or 0), -(paper.github_stars or 0), not paper.code,
            paper.title.casefold(), paper.id)


def word_text(text: str) -> str:
    """Lower-case words separated by single spaces and padded, for whole-word phrase tests."""
    return " " + " ".join(WORD_RE.findall(text.casefold())) + " "


def keyword_matcher(phrases: tuple[str, ...]) -> list[str]:
    return [word_text(phrase) for phrase in phrases if word_text(phrase).strip()]


def matches_any(text_words: str, phrases: list[str]) -> bool:
    return any(phrase in text_words for phrase in phrases)


def assign_topics(papers: list[Paper], topics: dict[str, Topic], memo: Memo = no_memo) -> None:
    """A paper's topics: its own plus every topic whose keywords occur in title or abstract
    (remembered by ``memo`` per rules and text)."""
    rules = topic_rules(topics)
    rules_key = topic_rules_key(rules)
    for paper in papers:
        matched = memo("topics", (rules_key, text_key(paper)),
                       lambda paper=paper: list(matching_topics(topic_text(paper), rules)))
        paper.topic_slugs = tuple(sorted(set(paper.topics).union(matched)))


def topic_rules(topics: dict[str, Topic]) -> list[tuple[str, list[str]]]:
    rules = [(slug, keyword_matcher(topic.keywords)) for slug, topic in sorted(topics.items())]
    return [(slug, phrases) for slug, phrases in rules if phrases]


def topic_rules_key(rules: list[tuple[str, list[str]]]) -> str:
    return digest(repr(rules))


def topic_text(paper: Paper) -> str:
    return paper.title + " " + paper.abstract


def text_key(paper: Paper) -> str:
    """What the build's store knows a paper's title and abstract by (rendered Markdown,
    topic matches): a hash, so the store does not hold every text again."""
    return digest(paper.title, paper.abstract)


def matching_topics(text: str, rules: list[tuple[str, list[str]]]) -> tuple[str, ...]:
    """The topics whose keywords occur in a text, as whole words."""
    words = word_text(text)
    return tuple(slug for slug, phrases in rules if matches_any(words, phrases))


def render_markup(content: Content, renderer: MarkupRenderer, memo: Memo = no_memo) -> None:
    """Render every title, abstract and topic description once (remembered by ``memo``)."""
    for paper in content.papers:
        paper.title_html, paper.abstract_html, paper.summary = memo(
            "markup", (text_key(paper),),
            lambda paper=paper: [renderer.inline(paper.title),
                                 *renderer.block_and_plain(paper.abstract)])
    for topic in content.topics.values():
        topic.description_html = renderer.block(topic.description)


def build_days(content: Content, renderer: MarkupRenderer) -> list[Day]:
    by_day: dict[dt.date, list[Paper]] = defaultdict(list)
    for paper in content.papers:
        by_day[paper.day].append(paper)
    days = []
    for date in sorted(by_day):
        note = content.notes.get(date)
        note_html = renderer.block(note.body) if note else ""
        days.append(Day(date, sorted(by_day[date], key=lambda p: p.sort_key), note, note_html))
    for before, after in zip(days, days[1:], strict=False):
        before.next = after.date
        after.previous = before.date
    return days


def build_weeks(days: list[Day]) -> list[Week]:
    grouped: dict[str, list[Day]] = defaultdict(list)
    for day in days:
        grouped[day.week_key].append(day)
    weeks = []
    for key in sorted(grouped):
        first = grouped[key][0].date
        monday = first - dt.timedelta(days=first.weekday())
        papers = sorted((p for d in grouped[key] for p in d.papers), key=lambda p: p.sort_key)
        weeks.append(Week(key, monday, grouped[key], papers))
    return weeks


def build_months(days: list[Day]) -> list[Month]:
    grouped: dict[str, list[Day]] = defaultdict(list)
    for day in days:
        grouped[day.month_key].append(day)
    months = []
    for key in sorted(grouped):
        first = grouped[key][0].date.replace(day=1)
        papers = sorted((p for d in grouped[key] for p in d.papers), key=lambda p: p.sort_key)
        months.append(Month(key, first, grouped[key], papers))
    return months


def newest_first(papers: list[Paper]) -> list[Paper]:
    return sorted(papers, key=lambda p: (-p.day.toordinal(), *p.sort_key))


def build_topics(content: Content) -> list[TopicListing]:
    members: dict[str, list[Paper]] = defaultdict(list)
    for paper in content.papers:
        for slug in paper.topic_slugs:
            members[slug].append(paper)
    return [
        TopicListing(topic, newest_first(members.get(slug, [])))
        for slug, topic in sorted(content.topics.items())
    ]


def build_orgs(content: Content) -> list[OrgListing]:
    """Organisations by page (``urls.org``), each with its papers, newest first."""
    members: dict[str, list[Paper]] = defaultdict(list)
    orgs: dict[str, Organization] = {}
    for paper in sorted(content.papers, key=lambda p: p.id):
        if paper.organization:
            page = urls.org(paper.organization.name)
            members[page].append(paper)
            if page not in orgs or (not orgs[page].fullname and paper.organization.fullname):
                orgs[page] = paper.organization
    return [OrgListing(orgs[page], newest_first(members[page])) for page in sorted(orgs)]


def saved_search_matches(search: SavedSearch, paper: Paper) -> bool:
    """Every given criterion must hold; within a list, any entry may match."""
    if search.min_upvotes and (paper.upvotes or 0) < search.min_upvotes:
        return False
    if search.topics and not set(search.topics) & set(paper.topic_slugs):
        return False
    if search.organizations:
        if not paper.organization:
            return False
        names = {paper.organization.name.casefold(), paper.organization.fullname.casefold()}
        if not names & {o.casefold() for o in search.organizations}:
            return False
    if search.any or search.none:
        words = word_text(paper.title + " " + paper.abstract)
        if search.any and not matches_any(words, keyword_matcher(search.any)):
            return False
        if search.none and matches_any(words, keyword_matcher(search.none)):
            return False
    return True


def build_saved_searches(config: SiteConfig, papers: list[Paper]) -> list[SavedSearchListing]:
    return [
        SavedSearchListing(search, newest_first([p for p in papers
                                                 if saved_search_matches(search, p)]))
        for search in config.saved_searches
    ]


def remembered_related(papers: list[Paper], memo: Memo, jobs: int) -> dict[str, list[Related]]:
    """``related_papers``, remembered for exactly its inputs (every paper's id, day and text):
    a build that changed no paper (a template edit) finds them without counting a word."""
    inputs = digest(*(f"{p.id}\0{p.day}\0{text_key(p)}" for p in papers))
    found = memo("related", (inputs,), lambda: {
        paper: [[r.paper.id, list(r.terms)] for r in related]
        for paper, related in related_papers(papers, jobs).items()})
    by_id = {paper.id: paper for paper in papers}
    return {paper: [Related(by_id[other], tuple(terms)) for other, terms in related]
            for paper, related in found.items()}


def build_site(content: Content, config: SiteConfig, memo: Memo = no_memo, jobs: int = 0
               ) -> Site:
    """Turn loaded content into the index every page and feed is rendered from.

    ``memo`` (``store.Store.memo``) remembers rendered Markdown and keyword matches between
    builds; ``jobs`` as ``--jobs``.
    """
    renderer = MarkupRenderer()
    render_markup(content, renderer, memo)
    assign_topics(content.papers, content.topics, memo)
    days = build_days(content, renderer)
    return Site(
        config=config,
        days=days,
        weeks=build_weeks(days),
        months=build_months(days),
        topics=build_topics(content),
        orgs=build_orgs(content),
        saved_searches=build_saved_searches(config, content.papers),
        papers={p.id: p for p in sorted(content.papers, key=lambda p: p.id)},
        related=remembered_related(content.papers, memo, jobs),
        published=content.published,
    )
