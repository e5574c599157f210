"""What every importer produces: a source-neutral paper record, and helpers they share."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

from site_builder import schema
from site_builder.errors import source_problem  # noqa: F401 - re-exported for the importers
from site_builder.slugs import slugify  # noqa: F401 - re-exported for the importers

GITHUB_RE = re.compile(r"https?://(?:www\.)?github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
                       re.IGNORECASE)
ARXIV_ID_RE = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?$|([a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")
NOT_ALNUM_RE = re.compile(r"[\W_]+")
# Control characters that XML, feeds and the content checks refuse (tab and newlines are fine).
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


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


def without_controls(record: ImportedPaper) -> ImportedPaper:
    """The record with control characters removed from every text (sources do carry them)."""
    for name, value in vars(record).items():
        if isinstance(value, str):
            setattr(record, name, strip_controls(value))
        elif isinstance(value, list):
            setattr(record, name, [strip_controls(v) if isinstance(v, str) else v
                                   for v in value])
        elif isinstance(value, dict):
            setattr(record, name, {k: strip_controls(v) if isinstance(v, str) else v
                                   for k, v in value.items()})
    return record


def strip_controls(text: str) -> str:
    return CONTROL_RE.sub("", text) if CONTROL_RE.search(text) else text


def one_line(text: str) -> str:
    """Text on one line: control characters dropped first (Python counts some of them as
    whitespace), then runs of whitespace made single spaces."""
    return " ".join(strip_controls(text).split())


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


def parse_iso_date(value: object, utc: bool = True) -> dt.date | None:
    """The day of an ISO 8601 date or timestamp (as a UTC day when it has an offset), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = ISO_DATE_RE.match(text)
    if not match:
        return None
    try:
        if not match.group(2) or not match.group(3):
            return dt.date.fromisoformat(match.group(1))
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
        return stamp.astimezone(dt.UTC).date() if utc else stamp.date()
    except (ValueError, OverflowError):  # not a date, or its UTC day is after the year 9999
        return None


MAX_JSON_DEPTH = 200
LONG_NUMBER_RE = re.compile(r"-?\d{4000,}")


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
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return index
        elif char in "]}":
            depth -= 1
    return 0
