"""``digest.json``: each listing day's papers as data (a JSON Feed 1.1 with a ``_digest``
extension, see the README's "The digest as data"), which ``site-builder email`` reads. Fields are
only ever added, so a reader of version 1 keeps working."""

from __future__ import annotations

from collections.abc import Callable

from site_builder import urls
from site_builder.content import Paper
from site_builder.markup import text_of
from site_builder.model import Day
from site_builder.schema import SHOWN_LINKS

EXTENSION = "_digest"  # JSON Feed extensions start with an underscore
VERSION = 1


def paper_links(paper: Paper, url: Callable[[str], str]) -> list[dict]:
    """The paper's page, then its PDF, code, arXiv and project page when known."""
    stars = f" (★ {paper.github_stars:,})" if paper.github_stars else ""
    links = [("paper", "Paper page", url(urls.paper(paper.id)))] + [
        (link.kind, link.label + (stars if link.field == "code" else ""),
         getattr(paper, link.field)) for link in SHOWN_LINKS]
    return [{"kind": kind, "label": label, "url": href} for kind, label, href in links if href]


def paper_data(paper: Paper, url: Callable[[str], str], topic_titles: dict[str, str]) -> dict:
    org = paper.organization
    return {
        "id": paper.id,
        "url": url(urls.paper(paper.id)),
        "title": paper.title,
        "authors": list(paper.authors),
        "author_count": paper.author_count or len(paper.authors),
        "organization": {"name": org.name, "label": org.label,
                         "url": url(urls.org(org.name))} if org else None,
        "upvotes": paper.upvotes,  # null when unknown
        "abstract": paper.summary,  # plain text, paragraphs separated by a blank line
        "withdrawn": paper.withdrawn.isoformat() if paper.withdrawn else None,
        "links": paper_links(paper, url),
        "topics": [{"slug": slug, "title": topic_titles.get(slug, slug),
                    "url": url(urls.topic(slug))} for slug in paper.topic_slugs],
    }


def day_data(day: Day, url: Callable[[str], str], topic_titles: dict[str, str]) -> dict:
    """One day of the digest: its date, the editor's note and its papers, top first."""
    note_title = day.note.title if day.note and day.note.title else ""
    return {
        "date": day.date.isoformat(),
        "url": url(urls.day(day.date)),
        "note_title": note_title,
        "note_html": day.note_html,
        "note_text": text_of(day.note_html),
        "papers": [paper_data(paper, url, topic_titles) for paper in day.papers],
    }
