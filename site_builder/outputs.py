"""Outputs besides pages: (path, what it is made from, how to produce it).

A planned output is kept as the last build made it while it is made from the same things
(``made_from``); otherwise it is produced, and written only when its bytes changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from site_builder import search, urls
from site_builder.fingerprint import digest
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


def update_search(writer: SiteWriter, previous: Any) -> dict:
    """The search step, which owns everything under ``urls.PAGEFIND``: the index is made
    again when a paper page changed, or when the last one is not there as it was made;
    returns its record for the next build (what it was made from, whether it exists)."""
    papers = sorted((f, e.hash) for f, e in writer.manifest.items() if f.startswith(urls.PAPERS))
    key = digest(*(f"{file}={digest_}" for file, digest_ in papers))
    made_from = f"search:{key}"
    record = previous if isinstance(previous, dict) else {}
    if (record.get("made_from") == made_from and record.get("indexed")
            and writer.intact(urls.PAGEFIND) and search.pagefind_executable() is not None):
        writer.adopt(urls.PAGEFIND, made_from)
        return record
    folder = writer.staging / urls.PAGEFIND
    if folder.exists():
        writer.remove_folder(urls.PAGEFIND)
    indexed = search.index_site(writer.staging)
    writer.adopt(urls.PAGEFIND, made_from)
    return {"made_from": made_from, "indexed": indexed}
