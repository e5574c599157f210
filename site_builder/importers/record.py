"""What every importer produces: a source-neutral paper record, and helpers they share."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any, TypeVar

from site_builder import schema
from site_builder.errors import ContentError, source_problem

GITHUB_RE = re.compile(r"https?://(?:www\.)?github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
                       re.IGNORECASE)
ARXIV_ID_RE = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?$|([a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")
NOT_ALNUM_RE = re.compile(r"[\W_]+")
MAX_PROBLEMS = 20  # a source's problems listed before the rest are summed up
# Control characters that XML, feeds and the content checks refuse (tab and newlines are fine).
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
T = TypeVar("T")


# How a record holds each kind of field; "" / [] / None mean "the source does not say".
RECORD_TYPES: dict[str, tuple[Any, Any]] = {  # kind -> (type, default or default factory)
    schema.TEXT: (str, ""), schema.LINK: (str, ""), schema.ID: (str, ""),
    schema.TEXTS: (list[str], list), schema.SLUGS: (list[str], list),
    schema.COUNT: (int | None, None), schema.DATE: (dt.date | None, None),
    schema.ORGANIZATION: (dict[str, str] | None, None),
}


def record_field(name: str, kind: str) -> tuple[str, Any, Any]:
    kind_type, default = RECORD_TYPES[kind]
    made = field(default_factory=default) if callable(default) else field(default=default)
    return name, kind_type, made


# One paper read from a source, before it is merged into the content folder: the schema's
# fields (merging keeps what the content folder has where a record says nothing), plus the
# abstract, the listing day and where it came from ("source:line", for messages).
ImportedPaper = make_dataclass("ImportedPaper", [
    ("title", str),
    record_field("abstract", schema.TEXT),
    record_field("listed", schema.DATE),
    *(record_field(f.name, f.kind) for f in schema.FIELDS if f.name != "title"),
    record_field("origin", schema.TEXT),
], namespace={"__module__": __name__, "__doc__": "One paper read from a source."})


@dataclass(frozen=True)
class ImportOptions:
    content_dir: Path = Path("content")
    format: str = "auto"
    date: dt.date | None = None
    topics: tuple[str, ...] = ()
    dry_run: bool = False
    include_replacements: bool = False
    today: dt.date | None = None  # the reference day for header dates without a year


@dataclass
class ParseResult:
    """What a parser read from one source: papers, and items it left out with the reason."""

    papers: list[ImportedPaper] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)


def source_error(source: Path | str, message: str, line: int | None = None) -> ContentError:
    """The error of one problem with an input (a file, URL or '<stdin>'), to raise."""
    return ContentError([source_problem(source, message, line)])


def read_each(entries: Iterable[tuple[str, int, Any]], name: str, read: Callable[[Any, str], T],
              limit: int | None = MAX_PROBLEMS) -> list[T]:
    """``read(value, origin)`` for each (label, line, value) of a source, the origin being
    "name:line" (or "name label" without a line); each ValueError is a problem "label: message"
    at its line, all raised together, and reading stops after ``limit`` of them."""
    results, problems = [], []
    for label, line, value in entries:
        try:
            results.append(read(value, f"{name}:{line}" if line else f"{name} {label}"))
        except ValueError as exc:
            problems.append(source_problem(name, f"{label}: {exc}" if label else str(exc), line))
            if limit is not None and len(problems) >= limit:
                at = f" at line {line}" if line else ""
                problems.append(source_problem(name, f"too many problems; stopped reading{at}",
                                               line))
                break
    if problems:
        raise ContentError(problems)
    return results


def without_controls(record: ImportedPaper) -> ImportedPaper:
    """The record with control characters removed from every text (sources do carry them)."""
    for name, value in vars(record).items():
        setattr(record, name, controls_removed(value))
    return record


def controls_removed(value: Any) -> Any:
    if isinstance(value, str):
        return CONTROL_RE.sub("", value)
    if isinstance(value, list):
        return [controls_removed(item) for item in value]
    if isinstance(value, dict):
        return {key: controls_removed(item) for key, item in value.items()}
    return value


def one_line(text: str) -> str:
    """Text on one line: control characters dropped first (Python counts some of them as
    whitespace), then runs of whitespace made single spaces."""
    return " ".join(CONTROL_RE.sub("", text).split())


def normalise_title(title: str) -> str:
    """A title reduced to its letters and digits, for matching the same paper across sources."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return NOT_ALNUM_RE.sub("", folded)  # keeps exactly the characters str.isalnum() accepts


def first_github_link(text: str) -> str:
    match = GITHUB_RE.search(text)
    if not match:
        return ""
    link = match.group(0).rstrip(".")
    return link[:-4] if link.lower().endswith(".git") else link


def arxiv_id_from(value: str) -> str:
    """The version-less arXiv id in an id or an abs/pdf URL, or ''."""
    value = value.strip().removesuffix(".pdf")
    match = ARXIV_ID_RE.search(value)
    if not match:
        return ""
    return match.group(1) or match.group(2).replace("/", "_")


def arxiv_links(arxiv_id: str) -> tuple[str, str]:
    """The abs page and PDF URL of an arXiv id."""
    plain = arxiv_id.replace("_", "/")
    return f"https://arxiv.org/abs/{plain}", f"https://arxiv.org/pdf/{plain}"


def is_http_url(value: str) -> bool:
    return bool(re.match(r"^https?://[^\s]+$", value or "", re.IGNORECASE))


def unwrap(text: str) -> str:
    """Hard-wrapped text as flowing paragraphs: runs of whitespace become one space, blank lines
    (paragraph breaks) are kept as one blank line."""
    paragraphs = re.split(r"\n[ \t]*\n\s*", text.strip())
    return "\n\n".join(" ".join(part.split()) for part in paragraphs if part.strip())


ISO_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
                         r"(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_iso_date(value: object) -> dt.date | None:
    """The day of an ISO 8601 date or timestamp (as a UTC day when it has an offset), or None."""
    match = ISO_DATE_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return None
    try:
        if not match.group(3):  # a day, or a time without an offset
            return dt.date.fromisoformat(match.group(1))
        stamp = dt.datetime.fromisoformat(match[0].replace("Z", "+00:00").replace(" ", "T"))
        return stamp.astimezone(dt.UTC).date()
    except (ValueError, OverflowError):  # not a date, or its UTC day is after the year 9999
        return None


MAX_JSON_DEPTH = 200
LONG_NUMBER_RE = re.compile(r"-?\d{4000,}")
JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"?|[][{}]', re.DOTALL)  # a string or a bracket


def loads(text: str) -> object:
    """``json.loads`` whose every failure is a JSONDecodeError with a position: nesting too
    deep for the parser, a number too long to convert (Python refuses 4,300 digits)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError(f"nested more than {MAX_JSON_DEPTH} levels deep", text,
                                   deep_position(text)) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # int("9" * 5000): the digit limit
        long = LONG_NUMBER_RE.search(text)
        raise json.JSONDecodeError("a number with too many digits", text,
                                   long.start() if long else 0) from exc


def deep_position(text: str) -> int:
    """Where a JSON text first nests deeper than MAX_JSON_DEPTH (strings skipped)."""
    depth = 0
    for token in JSON_TOKEN_RE.finditer(text):
        if token[0] in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return token.start()
        elif token[0] in ("]", "}"):
            depth -= 1
    return 0
