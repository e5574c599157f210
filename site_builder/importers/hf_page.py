"""Copied Hugging Face papers pages (the text of a papers listing, selected and copied).

Three layouts of the same family are understood:

* with metadata: title, abstract, then ``• N authors`` or an organisation line, a ``·``
  line and a date (``Apr 29, 2024`` or ``Jan 27``), optionally followed by the upvotes;
* without metadata: titles and abstracts separated by blank lines;
* compact: no blank lines at all, titles and abstracts alternating, ``Subscribe`` glued
  to the first title.
"""

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
CHROME_RES = [
    re.compile(r"^new$", re.IGNORECASE),
    re.compile(r"^Get trending papers in your email inbox", re.IGNORECASE),
    re.compile(r"^Subscribe$", re.IGNORECASE),
    re.compile(r"^Daily Papers$", re.IGNORECASE),
    re.compile(r"^by\s*AK and the research community$", re.IGNORECASE),
]
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
    text: str


def looks_like_hf_page(text: str) -> bool:
    head = text[:4000]
    return any(marker in head for marker in MARKERS)


def is_chrome(text: str) -> bool:
    return any(pattern.match(text) for pattern in CHROME_RES)


def resolve_date(month: int, day: int, year: int | None, reference: dt.date) -> dt.date:
    """A date whose year may be left out: then the latest such date not after the reference."""
    if year is not None:
        return dt.date(year, month, day)
    for candidate_year in (reference.year, reference.year - 1, reference.year - 2,
                           reference.year - 3, reference.year - 4):
        try:
            candidate = dt.date(candidate_year, month, day)
        except ValueError:  # 29 February in a common year
            continue
        if candidate <= reference:
            return candidate
    raise ValueError(f"no valid date for month {month} day {day}")


def month_number(name: str) -> int:
    return MONTHS[name[:3].lower()]


def content_lines(text: str) -> list[Line]:
    """Non-blank lines with their 1-based numbers, right-stripped."""
    return [Line(n, raw.rstrip()) for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]


def split_header(lines: list[Line], today: dt.date) -> tuple[dt.date | None, list[Line]]:
    """Drop the page chrome and read the header date; return the remaining lines."""
    header_date = None
    index = 0
    while index < len(lines):
        text = lines[index].text.strip()
        if is_chrome(text):
            index += 1
            continue
        if text.startswith(GLUED_PREFIX) and len(text) > len(GLUED_PREFIX):
            rest = text[len(GLUED_PREFIX):]
            lines = [*lines[:index], Line(lines[index].number, rest), *lines[index + 1:]]
            continue
        match = HEADER_DATE_RE.match(text)
        if match and header_date is None:
            month, day, year = month_number(match.group(1)), int(match.group(2)), match.group(3)
            try:
                header_date = resolve_date(month, day, int(year) if year else None, today)
            except ValueError as exc:
                raise PageFormatError(lines[index].number, f"bad header date '{text}'") from exc
            index += 1
            continue
        break
    return header_date, lines[index:]


def parse_metadata(lines: list[Line], index: int, paper: ImportedPaper,
                   listed: dt.date | None) -> int:
    """Read the optional ``• N authors`` / organisation, ``·`` and date lines of one card."""
    while index < len(lines):
        text = lines[index].text.strip()
        authors = AUTHORS_RE.match(text)
        following = lines[index + 1].text.strip() if index + 1 < len(lines) else ""
        if authors:
            paper.author_count = int(authors.group(1) or authors.group(2))
            index += 1
        elif following == SEPARATOR and text != SEPARATOR and not PAPER_DATE_RE.match(text):
            name, _, fullname = text.partition(" ")
            paper.organization = {"name": name, "fullname": fullname.strip()}
            index += 1
        else:
            break
    if index < len(lines) and lines[index].text.strip() == SEPARATOR:
        index += 1
        if index < len(lines):
            match = PAPER_DATE_RE.match(lines[index].text.strip())
            if match:
                month, day = month_number(match.group(1)), int(match.group(2))
                year = int(match.group(3)) if match.group(3) else None
                try:
                    paper.published = resolve_date(month, day, year, listed or dt.date.max)
                except ValueError as exc:
                    raise PageFormatError(lines[index].number,
                                          f"bad date '{lines[index].text.strip()}'") from exc
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
    today = today or dt.date.today()
    header_date, lines = split_header(content_lines(text), today)
    day = listed or header_date
    if day is None:
        raise PageFormatError(1, "the page has no date header (like 'Apr 21'); "
                              "give the listing day with --date YYYY-MM-DD")
    papers: list[ImportedPaper] = []
    index = 0
    while index < len(lines):
        title_line = lines[index]
        if index + 1 >= len(lines):
            raise PageFormatError(title_line.number,
                                  f"title '{title_line.text.strip()[:60]}' has no abstract")
        abstract = lines[index + 1].text.strip()
        paper = ImportedPaper(title=title_line.text.strip(), abstract=abstract, listed=day,
                              origin=f"{source}:{title_line.number}")
        paper.code = first_github_link(abstract)
        index = parse_metadata(lines, index + 2, paper, day)
        papers.append(paper)
    return papers
