"""Copied Hugging Face papers pages: the three layouts the README's "hf-page" section describes
(with metadata lines, without them, and compact with no blank lines)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from site_builder.importers.record import ImportedPaper, first_github_link

MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
HEADER_DATE_RE = re.compile(rf"^{MONTH}\s+(\d{{1,2}})(?:,?\s+(\d{{4}}))?$")
PAPER_DATE_RE = re.compile(rf"^{MONTH}\s+(\d{{1,2}})(?:,\s*(\d{{4}}))?(?:\s+(\d+))?$")
AUTHORS_RE = re.compile(r"^[•·*]?\s*•\s*(\d+)\s+authors?$|^(\d+)\s+authors?$")
SEPARATOR = "·"
CHROME_RE = re.compile(r"^(?:new|Subscribe|Daily Papers|by\s*AK and the research community)$"
                       r"|^Get trending papers in your email inbox", re.IGNORECASE)
MARKERS = ("Get trending papers in your email inbox", "byAK and the research community",
           "by AK and the research community")
GLUED_PREFIX = "Subscribe"


class PageFormatError(ValueError):
    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class Line:
    number: int
    text: str  # stripped


def looks_like_hf_page(text: str) -> bool:
    head = text[:4000]
    return any(marker in head for marker in MARKERS)


def resolve_date(month: int, day: int, year: int | None, reference: dt.date) -> dt.date:
    """A date whose year may be left out: then the latest such date not after the reference."""
    if year is not None:
        return dt.date(year, month, day)
    for candidate_year in range(reference.year, reference.year - 5, -1):
        try:
            candidate = dt.date(candidate_year, month, day)
        except ValueError:  # 29 February in a common year
            continue
        if candidate <= reference:
            return candidate
    raise ValueError(f"no valid date for month {month} day {day}")


def date_of(match: re.Match[str], line: Line, reference: dt.date, what: str) -> dt.date:
    """The date a HEADER_DATE_RE or PAPER_DATE_RE match names; a PageFormatError if none."""
    year = int(match.group(3)) if match.group(3) else None
    try:
        return resolve_date(MONTHS[match.group(1)[:3].lower()], int(match.group(2)), year,
                            reference)
    except ValueError as exc:
        raise PageFormatError(line.number, f"{what} '{line.text}'") from exc


def split_header(lines: list[Line], today: dt.date) -> tuple[dt.date | None, list[Line]]:
    """Drop the page chrome and read the header date; return the remaining lines."""
    header_date = None
    index = 0
    while index < len(lines):
        text = lines[index].text
        if CHROME_RE.match(text):
            index += 1
        elif text.startswith(GLUED_PREFIX) and len(text) > len(GLUED_PREFIX):
            lines[index] = Line(lines[index].number, text[len(GLUED_PREFIX):].strip())
        elif (match := HEADER_DATE_RE.match(text)) and header_date is None:
            header_date = date_of(match, lines[index], today, "bad header date")
            index += 1
        else:
            break
    return header_date, lines[index:]


def parse_metadata(lines: list[Line], index: int, paper: ImportedPaper,
                   listed: dt.date | None) -> int:
    """Read the optional ``• N authors`` / organisation, ``·`` and date lines of one card."""
    while index < len(lines):
        text = lines[index].text
        authors = AUTHORS_RE.match(text)
        following = lines[index + 1].text if index + 1 < len(lines) else ""
        if authors:
            paper.author_count = int(authors.group(1) or authors.group(2))
        elif following == SEPARATOR and text != SEPARATOR and not PAPER_DATE_RE.match(text):
            name, _, fullname = text.partition(" ")
            paper.organization = {"name": name, "fullname": fullname.strip()}
        else:
            break
        index += 1
    if index < len(lines) and lines[index].text == SEPARATOR:
        index += 1
        match = PAPER_DATE_RE.match(lines[index].text) if index < len(lines) else None
        if match:
            paper.published = date_of(match, lines[index], listed or dt.date.max, "bad date")
            if match.group(4):
                paper.upvotes = int(match.group(4))
            index += 1
    return index


def parse_hf_page(text: str, source: str, listed: dt.date | None = None,
                  today: dt.date | None = None) -> list[ImportedPaper]:
    """Every paper card of a copied page, in page order.

    ``listed`` (from ``--date``) overrides the page's header date; without either the page
    cannot be placed on a day and a PageFormatError is raised.
    """
    lines = [Line(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    header_date, lines = split_header(lines, today or dt.date.today())
    day = listed or header_date
    if day is None:
        raise PageFormatError(1, "the page has no date header (like 'Apr 21'); "
                              "give the listing day with --date YYYY-MM-DD")
    papers: list[ImportedPaper] = []
    index = 0
    while index < len(lines):
        title_line = lines[index]
        if index + 1 >= len(lines):
            raise PageFormatError(title_line.number, f"title '{title_line.text[:60]}' has no "
                                  "abstract")
        abstract = lines[index + 1].text
        paper = ImportedPaper(title=title_line.text, abstract=abstract, listed=day,
                              origin=f"{source}:{title_line.number}")
        paper.code = first_github_link(abstract)
        index = parse_metadata(lines, index + 2, paper, day)
        papers.append(paper)
    return papers
