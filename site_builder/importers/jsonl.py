"""JSON Lines: one paper per line, with the keys of a paper file's front matter plus
``abstract`` (the body) and ``listed`` (the day, ``YYYY-MM-DD``). It is the project's own
exchange format (and the benchmark corpus), so it is read strictly: an unknown key or a value
of the wrong type is an error naming the line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from site_builder import schema
from site_builder.config import SLUG_RE
from site_builder.fields import is_safe_id
from site_builder.importers.record import (
    ImportedPaper,
    ImportOptions,
    ParseResult,
    is_http_url,
    loads,
    one_line,
    parse_iso_date,
    read_each,
)

KEYS = frozenset((*schema.NAMES, schema.BODY_KEY, schema.DAY_KEY))
FIRST_LINE_RE = re.compile(r"\A\s*\{")


class LineError(ValueError):
    """A problem with one line (the message says which key)."""


def looks_like_jsonl(text: str) -> bool:
    """The first non-blank line is (the start of) a JSON object."""
    return bool(FIRST_LINE_RE.match(text[:1000]))


def parse_jsonl(text: str, name: str, options: ImportOptions) -> ParseResult:
    lines = (("", number, line) for number, line in enumerate(text.split("\n"), 1)
             if line.strip())
    return ParseResult(read_each(lines, name, paper_from_line))


def paper_from_line(line: str, origin: str) -> ImportedPaper:
    try:
        value = loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"invalid JSON at column {exc.colno}: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise LineError(f"expected a JSON object (one paper), got {json_type(value)}")
    unknown = sorted(str(key) for key in value if key not in KEYS)
    if unknown:
        raise LineError(f"unknown key '{unknown[0]}' (a paper line has the front matter keys "
                        "of a paper file plus 'abstract' and 'listed')")
    title = value.get("title")
    if not isinstance(title, str) or not title.strip():
        raise LineError("paper without a title" if not title else "'title' must be text")
    paper = ImportedPaper(title=one_line(title), origin=origin)
    abstract = value.get("abstract")
    if abstract is not None:
        if not isinstance(abstract, str):
            raise LineError("'abstract' must be text")
        paper.abstract = abstract.strip()
    paper_id = value.get("id")
    if paper_id is not None:
        paper_id = str(paper_id) if isinstance(paper_id, (int, float)) else paper_id
        if not isinstance(paper_id, str) or not is_safe_id(paper_id.strip()):
            raise LineError(f"'id' {paper_id!r} is not a usable paper id (letters, digits, "
                            "'.', '_' and '-')")
        paper.id = paper_id.strip()
    for key, kind in ((schema.DAY_KEY, schema.DATE), *((f.name, f.kind) for f in schema.TYPED)):
        if value.get(key) is not None:  # the record's attribute for DAY_KEY is 'listed' too
            setattr(paper, key, READERS[kind](value[key], key))
    return paper


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def text_value(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise LineError(f"'{key}' must be text, got {json_type(value)}")


def link_value(value: Any, key: str) -> str:
    link = text_value(value, key)
    if link and not is_http_url(link):
        raise LineError(f"'{key}' must be an http:// or https:// URL")
    return link


def text_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise LineError(f"'{key}' must be a list of texts, got {json_type(value)}")
    items = [text_value(item, key) for item in value]
    return list(dict.fromkeys(item for item in items if item))


def slug_list(value: Any, key: str) -> list[str]:
    slugs = text_list(value, key)
    for slug in slugs:
        if not SLUG_RE.match(slug):
            raise LineError(f"topic '{slug}' is not a slug (lowercase letters, digits, '-')")
    return slugs


def count_value(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LineError(f"'{key}' must be a whole number of 0 or more, got {value!r}")
    return value


def date_value(value: Any, key: str) -> dt.date:
    day = parse_iso_date(value) if isinstance(value, str) else None
    if day is None:
        raise LineError(f"'{key}' must be a date like 2024-04-29, got {value!r}")
    return day


def organization_value(value: Any, _key: str) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"name": value.strip()}
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"].strip():
        org = {"name": value["name"].strip()}
        fullname = value.get("fullname")
        if fullname is not None and not isinstance(fullname, str):
            raise LineError("'organization.fullname' must be text")
        if fullname and fullname.strip():
            org["fullname"] = fullname.strip()
        return org
    raise LineError("'organization' must have a 'name' (and an optional 'fullname')")


READERS = {schema.TEXT: text_value, schema.LINK: link_value, schema.TEXTS: text_list,
           schema.SLUGS: slug_list, schema.COUNT: count_value, schema.DATE: date_value,
           schema.ORGANIZATION: organization_value}
