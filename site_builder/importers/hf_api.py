"""Hugging Face's papers API: ``GET /api/daily_papers`` (an array of items, or one item) and
``GET /api/papers/<id>`` (one paper object); the README's "hf-api" section maps its fields.
A value of the wrong type is treated as missing, except a missing or empty title (an error).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from site_builder.importers.record import (
    ImportedPaper,
    ImportOptions,
    ParseResult,
    arxiv_id_from,
    arxiv_links,
    is_http_url,
    loads,
    one_line,
    parse_iso_date,
    read_each,
    source_error,
    unwrap,
)

# An unescaped "paper": { key, the mark of a daily_papers item.
PAPER_KEY_RE = re.compile(r'(?<!\\)"paper"\s*:\s*\{')
# Keys of a bare paper object (GET /api/papers/<id>) that no JSONL paper line has.
PAPER_OBJECT_KEYS = ("summary", "publishedAt", "submittedOnDailyAt", "githubRepo", "upvotes")
PAGE_SIZE = 100  # the most /api/daily_papers gives per page (50 without limit=)
MAX_PAGES = 50  # 5,000 papers: far beyond any day so far; stops a server that never ends


def looks_like_hf_api(text: str) -> bool:
    """An array of objects (or an empty array), or an object that is an item or a paper."""
    head = text.lstrip()[:20_000]
    if re.match(r"\[\s*(\{|\])", head):
        return True
    if not head.startswith("{"):
        return False
    if PAPER_KEY_RE.search(head):
        return True
    try:
        value = loads(text)
    except ValueError:
        return False
    return (isinstance(value, dict) and "title" in value and "abstract" not in value
            and "listed" not in value and any(key in value for key in PAPER_OBJECT_KEYS))


def parse_hf_api(text: str, name: str, options: ImportOptions) -> ParseResult:
    try:
        value = loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            value = items_per_line(text, name)  # items saved one per line (JSON Lines)
        else:
            raise source_error(name, f"invalid JSON at line {exc.lineno}, column {exc.colno}: "
                               f"{exc.msg}", exc.lineno) from exc
    if isinstance(value, dict) and "error" in value and "title" not in value:
        raise source_error(name, f"the API answered with an error: {str(value['error'])[:200]}")
    if not isinstance(value, (list, dict)):
        raise source_error(name, "expected a JSON array of daily papers items or one item or "
                           "paper object")
    items = enumerate(value, 1) if isinstance(value, list) else [(0, value)]
    return ParseResult(read_each(((f"item {n}" if n else "the object", 0, item)
                                  for n, item in items), name, paper_from_item))


def items_per_line(text: str, name: str) -> list[Any]:
    items = []
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                items.append(loads(line))
            except json.JSONDecodeError as exc:
                raise source_error(name, f"invalid JSON at line {number}, column {exc.colno}: "
                                   f"{exc.msg}", number) from exc
    return items


def paper_from_item(item: Any, origin: str) -> ImportedPaper:
    """One daily papers item (or a bare paper object) as a record; ValueError when unusable."""
    if not isinstance(item, dict):
        raise ValueError(f"expected an object, got {type(item).__name__}")
    if "paper" in item:
        paper = item["paper"]
        if not isinstance(paper, dict):
            raise ValueError("'paper' must be an object")
        listed = parse_iso_date(item.get("publishedAt")) or parse_iso_date(
            paper.get("submittedOnDailyAt"))
    else:
        paper, listed = item, parse_iso_date(item.get("submittedOnDailyAt"))
    title = paper.get("title", item.get("title"))
    if not isinstance(title, str) or not title.strip():
        raise ValueError("paper without a title")
    summary = paper.get("summary", item.get("summary"))
    record = ImportedPaper(title=one_line(title),
                           abstract=unwrap(summary) if isinstance(summary, str) else "",
                           listed=listed, origin=origin)
    paper_id = text(paper.get("id"))
    arxiv = arxiv_id_from(paper_id) if re.fullmatch(r"[\w./-]+", paper_id) else ""
    record.id = arxiv or paper_id
    if arxiv:
        record.arxiv, record.pdf = arxiv_links(arxiv)
    record.authors = authors_of(paper.get("authors"))
    record.published = parse_iso_date(paper.get("publishedAt"))
    record.withdrawn = parse_iso_date(paper.get("withdrawnAt"))
    record.upvotes = count(paper.get("upvotes"))
    record.github_stars = count(paper.get("githubStars"))
    record.code = link(paper.get("githubRepo"))
    record.project_page = link(paper.get("projectPage"))
    record.thumbnail = link(item.get("thumbnail")) or link(paper.get("thumbnail"))
    record.ai_summary = unwrap(text(paper.get("ai_summary")))
    keywords = paper.get("ai_keywords")
    if isinstance(keywords, list):
        record.ai_keywords = list(dict.fromkeys(
            one_line(k) for k in keywords if isinstance(k, str) and k.strip()))
    record.organization = organization_of(item.get("organization")) or organization_of(
        paper.get("organization"))
    return record


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def link(value: Any) -> str:
    """An http(s) URL, or '' (other schemes, such as javascript:, are dropped)."""
    value = text(value)
    return value if is_http_url(value) else ""


def count(value: Any) -> int | None:
    """A whole number >= 0 (the API types counts as numbers, so 12.0 is accepted), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if value >= 0 and value == int(value) else None


def authors_of(value: Any) -> list[str]:
    """Author names in order, without the ones marked ``hidden``."""
    if not isinstance(value, list):
        return []
    names = []
    for author in value:
        if isinstance(author, dict) and not author.get("hidden"):
            name = one_line(text(author.get("name")))
            if name:
                names.append(name)
        elif isinstance(author, str) and author.strip():
            names.append(one_line(author))
    return names


def organization_of(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not text(value.get("name")):
        return None
    org = {key: text(value.get(key)) for key in ("name", "fullname")}
    return {key: part for key, part in org.items() if part}


def daily_page_url(base: str, day: dt.date, page: int) -> str:
    """``base?date=DAY&limit=100&p=PAGE``, keeping any other query of ``base``."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("date", "limit", "p")]
    query += [("date", day.isoformat()), ("limit", str(PAGE_SIZE)), ("p", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_daily_listing(base: str, day: dt.date, read: Callable[[str], tuple[str, str]],
                       options: ImportOptions) -> ParseResult:
    """Every paper of one listing day, page by page (p=0, 1, 2, ...) until a short page.

    ``read`` turns a URL into (text, name); any page that cannot be read or parsed raises
    ContentError, so a day is read whole or not at all. Each paper's listing day is ``day``.
    """
    result = ParseResult()
    seen: set[str] = set()
    for page in range(MAX_PAGES):
        text, name = read(daily_page_url(base, day, page))
        if not text.lstrip().startswith("["):
            raise source_error(name, "expected a JSON array of daily papers items (a listing "
                               "page)")
        parsed = parse_hf_api(text, name, options)
        for paper in parsed.papers:
            paper.listed = day
            key = paper.id or paper.title
            if key not in seen:  # a paper can move between pages while they are read
                seen.add(key)
                result.papers.append(paper)
        if len(parsed.papers) < PAGE_SIZE:
            return result
    raise source_error(base, f"{day}: more than {MAX_PAGES} pages of {PAGE_SIZE}; refusing to "
                       "read on")
