"""arXiv's announcement feeds (``rss.arxiv.org/rss/<category>``): RSS 2.0, one item per paper
announced that day (the README's "arXiv announcement feeds" says what is kept). An item::

    <item>
      <title>A title</title>
      <link>https://arxiv.org/abs/2511.05555</link>
      <description>arXiv:2511.05555v1 Announce Type: new
    Abstract: The abstract.</description>
      <guid isPermaLink="false">oai:arXiv.org:2511.05555v1</guid>
      <category>cs.CL</category>
      <pubDate>Tue, 11 Nov 2025 00:00:00 -0500</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:creator>Ada Lovelace, Charles Babbage</dc:creator>
    </item>
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from xml.etree.ElementTree import Element

from site_builder.importers.record import (
    ImportedPaper,
    ImportOptions,
    ParseResult,
    arxiv_id_from,
    arxiv_links,
    first_github_link,
    source_error,
    unwrap,
)
from site_builder.importers.xmlsafe import child_text, looks_like, parse_xml

ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
IMPORTED = ("new", "cross")
REPLACEMENTS = ("replace", "replace-cross")
PREFIX_RE = re.compile(r"^\s*arXiv:\s*(\S+)\s+Announce Type:\s*([\w-]+)\s*(?:Abstract:\s*)?",
                       re.IGNORECASE)
SKIP_REPLACEMENT = ("a new version of an earlier paper (announce type replace or "
                    "replace-cross); --include-replacements imports these")
OLD_TITLE_SUFFIX_RE = re.compile(r"\.?\s*\(arXiv:[^()]*\)$")
SUFFIX_RE = re.compile(r"^(?:Jr|Sr|I{2,3}|IV)\.?$")


def looks_like_arxiv_rss(text: str) -> bool:
    """An RSS feed from arXiv (its root is <rss> and it mentions arXiv)."""
    return looks_like(text, "rss", "arxiv")


def parse_arxiv_rss(text: str, name: str, options: ImportOptions) -> ParseResult:
    doc = parse_xml(text, name)
    channel = doc.root.find("channel")
    if doc.root.tag != "rss" or channel is None:
        raise source_error(name, "not an RSS 2.0 feed (expected <rss> with a <channel>)", 1)
    listed = feed_day(channel)
    result = ParseResult()
    for paper, announce in doc.read_each(channel.findall("item"), name, "item", paper_from_item):
        paper.listed = listed
        if announce in IMPORTED or (announce in REPLACEMENTS and options.include_replacements):
            result.papers.append(paper)
        else:
            reason = (SKIP_REPLACEMENT if announce in REPLACEMENTS
                      else f"unknown announce type '{announce or '(none)'}'")
            result.skipped.append((f"{paper.origin} {paper.id}", reason))
    return result


def feed_day(channel: Element) -> dt.date | None:
    """The announcement day: the channel's pubDate (or lastBuildDate), in its own time zone."""
    for tag in ("pubDate", "lastBuildDate"):
        value = child_text(channel, tag).strip()
        if value:
            try:
                return email.utils.parsedate_to_datetime(value).date()
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def paper_from_item(item: Element, origin: str) -> tuple[ImportedPaper, str]:
    # the feeds before 2024 ended titles with "(arXiv:2401.00001v1 [cs.CL])"
    title = OLD_TITLE_SUFFIX_RE.sub("", unwrap(child_text(item, "title")))
    if not title:
        raise ValueError("paper without a title")
    description = child_text(item, "description")
    prefix = PREFIX_RE.match(description)
    announce = child_text(item, f"{ARXIV}announce_type").strip().lower()
    if not announce and prefix:
        announce = prefix.group(2).lower()
    abstract = unwrap(description[prefix.end():] if prefix else description)
    arxiv = (arxiv_id_from(child_text(item, "link")) or arxiv_id_from(child_text(item, "guid"))
             or (arxiv_id_from(prefix.group(1)) if prefix else ""))
    if not arxiv:
        raise ValueError(f"no arXiv id in the link or guid of '{title[:60]}'")
    paper = ImportedPaper(title=title, abstract=abstract, id=arxiv, origin=origin)
    paper.arxiv, paper.pdf = arxiv_links(arxiv)
    paper.authors = split_authors(child_text(item, f"{DC}creator"))
    categories = [" ".join(c.itertext()).strip() for c in item.findall("category")]
    paper.categories = list(dict.fromkeys(c for c in categories if c))
    paper.code = first_github_link(abstract)
    return paper, announce


def split_authors(creators: str) -> list[str]:
    """``dc:creator``'s 'A, B, C and D' as a list of names."""
    text = " ".join(re.sub(r"<[^>]*>", " ", creators).split())  # old feeds linked each name
    names: list[str] = []
    for part in re.split(r",\s*(?:and\s+)?|\s+and\s+", text):
        part = part.strip()
        if names and SUFFIX_RE.match(part):
            names[-1] = f"{names[-1]}, {part}"  # "John Smith, Jr."
        elif part:
            names.append(part)
    return names
