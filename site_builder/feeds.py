"""Feeds: RSS 2.0, Atom, JSON Feed, digest, weekly and OPML, from one table of feed specs."""

from __future__ import annotations

from site_builder.model import Site
from site_builder.outputs import FileOutput


def feed_files(site: Site) -> list[FileOutput]:
    """Every feed of the site (being written for the feeds issue)."""
    return []
