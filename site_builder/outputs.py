"""Outputs besides pages: (path, what it is made from, how to produce it).

A planned output is kept as the last build made it while it is made from the same things
(``made_from``); otherwise it is produced, and written only when its bytes changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from site_builder import search, urls
from site_builder.pages import Page
from site_builder.writer import SiteWriter


@dataclass(frozen=True)
class FileOutput:
    path: str  # site path, e.g. "feed.xml" or "topics/regularization/atom.xml"
    data: bytes
    source: str  # what produced it, for the writer's duplicate-path message


@dataclass(frozen=True)
class Planned:
    """An output before its bytes are made (serialising every feed is most of their cost)."""

    path: str
    made_from: str  # everything its bytes are made from ("": produced every build)
    source: str  # what produces it, for the writer's duplicate-path message
    make: Callable[[], bytes]


def produce(writer: SiteWriter, planned: list[Planned]) -> None:
    """Keep or make every planned output."""
    for output in planned:
        writer.claim(output.path, output.source)
        if not writer.keep(output.path, output.made_from):
            writer.write_claimed(output.path, output.make(), output.made_from)


def fixed(outputs: list[FileOutput]) -> list[Planned]:
    """Outputs whose bytes are already made (cheap ones: the sitemap, robots.txt)."""
    return [Planned(o.path, "", o.source, lambda data=o.data: data) for o in outputs]


def update_search(writer: SiteWriter, pages: list[Page], previous: Any) -> dict:
    """The search step, which owns everything under ``urls.PAGEFIND``: ``search.update``
    re-indexes the months whose paper pages changed and notes its files in the manifest.
    Returns the search record for the next build."""
    return search.update(writer, paper_pages(writer, pages), previous)


def paper_pages(writer: SiteWriter, pages: list[Page]) -> dict[str, search.PaperPage]:
    """Every paper page: its listing month (one search index each) and its bytes' hash."""
    found = {}
    for page in pages:
        if page.path.startswith(urls.PAPERS) and "paper" in page.context:
            file = urls.output_file(page.path)
            found[file] = search.PaperPage(page.context["paper"].day.strftime("%Y-%m"),
                                           writer.manifest[file].hash)
    return found
