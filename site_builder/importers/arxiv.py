"""arXiv's query API (an Atom feed, one ``<entry>`` per paper; an error is an entry whose id is
under ``arxiv.org/api/errors``) and its announcement feeds (RSS 2.0, one ``<item>`` per paper
announced that day); the README's "arxiv" and "arxiv-rss" sections say what is kept."""

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
    is_http_url,
    one_line,
    parse_iso_date,
    source_error,
    unwrap,
)
from site_builder.importers.xmlsafe import child_text, looks_like, parse_xml

ATOM = "{http://www.w3.org/2005/Atom}"
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


def looks_like_arxiv(text: str) -> bool:
    """An Atom feed from arXiv (its root is <feed> and it uses arXiv's namespace or URLs)."""
    return looks_like(text, "feed", "arxiv.org")


def looks_like_arxiv_rss(text: str) -> bool:
    """An RSS feed from arXiv (its root is <rss> and it mentions arXiv)."""
    return looks_like(text, "rss", "arxiv")


def arxiv_paper(title: str, abstract: str, arxiv: str, origin: str, categories: list[str],
                code_in: str) -> ImportedPaper:
    """The record both formats make of a paper: its arXiv links, categories and code link."""
    paper = ImportedPaper(title=title, abstract=abstract, id=arxiv, origin=origin)
    paper.arxiv, paper.pdf = arxiv_links(arxiv)
    paper.categories = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
    paper.code = first_github_link(code_in)
    return paper


def parse_arxiv(text: str, name: str, options: ImportOptions) -> ParseResult:
    doc = parse_xml(text, name)
    if doc.root.tag != f"{ATOM}feed":
        raise source_error(name, f"not an Atom feed (the root element is <{doc.root.tag}>, "
                           "expected Atom's <feed>)", 1)
    return ParseResult(doc.read_each(doc.root.findall(f"{ATOM}entry"), name, "entry",
                                     paper_from_entry))


def paper_from_entry(entry: Element, origin: str) -> ImportedPaper:
    entry_id = child_text(entry, f"{ATOM}id").strip()
    if "/api/errors" in entry_id:
        message = unwrap(child_text(entry, f"{ATOM}summary")) or entry_id
        raise ValueError(f"the arXiv API answered with an error: {message}")
    title = unwrap(child_text(entry, f"{ATOM}title"))
    if not title:
        raise ValueError("paper without a title")
    arxiv = arxiv_id_from(entry_id)
    if not arxiv:
        raise ValueError(f"'{entry_id[:80]}' is not an arXiv id")
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [category.get("term", "") for category in entry.findall(f"{ATOM}category")]
    abstract = unwrap(child_text(entry, f"{ATOM}summary"))
    comment = unwrap(child_text(entry, f"{ARXIV}comment"))
    paper = arxiv_paper(title, abstract, arxiv, origin, terms, f"{comment} {abstract}")
    paper.pdf = https(pdf_link(entry)) or paper.pdf
    paper.published = paper.listed = parse_iso_date(child_text(entry, f"{ATOM}published"))
    paper.authors = [name for author in entry.findall(f"{ATOM}author")
                     if (name := one_line(child_text(author, f"{ATOM}name")))]
    paper.comment = comment
    paper.journal_ref = unwrap(child_text(entry, f"{ARXIV}journal_ref"))
    paper.doi = child_text(entry, f"{ARXIV}doi").strip()
    return paper


def pdf_link(entry: Element) -> str:
    return next((link.get("href", "").strip() for link in entry.findall(f"{ATOM}link")
                 if link.get("title") == "pdf" or link.get("type") == "application/pdf"), "")


def https(url: str) -> str:
    """arXiv still writes http:// links; its pages are served over https."""
    if not is_http_url(url):
        return ""
    if url.startswith(("http://arxiv.org/", "http://export.arxiv.org/")):
        return "https://arxiv.org/" + url.split("/", 3)[3]
    return url


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
    categories = [" ".join(c.itertext()) for c in item.findall("category")]
    paper = arxiv_paper(title, abstract, arxiv, origin, categories, abstract)
    paper.authors = split_authors(child_text(item, f"{DC}creator"))
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
