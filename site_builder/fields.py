"""A front matter's values read by their kind in ``schema.py``: a wrong value is a problem at
its key's line (used for papers, topics and day notes, and by the importers)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from site_builder import schema, urls
from site_builder.config import SLUG_RE, did_you_mean
from site_builder.errors import Problems
from site_builder.frontmatter import FrontMatterFile, control_character
from site_builder.paths import DEVICE_NAMES, UnsafePathError, check_relative_path

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RESERVED_NAMES = {"index", "page", "feed", "atom", *DEVICE_NAMES}
EMPTY = {schema.TEXT: "", schema.LINK: "", schema.TEXTS: (), schema.SLUGS: ()}  # else None


@dataclass(frozen=True)
class Organization:
    """The organisation that submitted a paper (Hugging Face's ``name`` and ``fullname``)."""

    name: str
    fullname: str = ""

    @property
    def label(self) -> str:
        return self.fullname or self.name


def is_safe_id(value: str) -> bool:
    """True when an id or slug can name a folder in the output without escaping it (and on
    every file system: no Windows device names such as ``con`` or ``nul.txt``)."""
    return (bool(ID_RE.match(value)) and value.lower() not in RESERVED_NAMES
            and value.split(".")[0].lower() not in DEVICE_NAMES and ".." not in value
            and not value.endswith("."))


class FieldReader:
    """Front matter fields, each read by the method named as its kind in the schema; a wrong
    value becomes a problem at its key's line."""

    def __init__(self, doc: FrontMatterFile, problems: Problems):
        self.doc = doc
        self.problems = problems
        self.failed: set[str] = set()  # keys already reported

    def error(self, key: str, message: str) -> None:
        self.failed.add(key)
        self.problems.add(self.doc.path, message, self.doc.line_of(key))

    def only(self, known: tuple[str, ...], hint: str = "") -> None:
        """Report each key that is not one of ``known`` (with a close match, unless ``hint``)."""
        for key in self.doc.meta:
            if key not in known:
                self.error(str(key), f"unknown field '{key}'"
                           + (hint or did_you_mean(key, set(known))))

    def get(self, kind: str, key: str) -> Any:
        """The value of ``key`` read as ``kind``; a missing (null) value reads as empty."""
        value = self.doc.meta.get(key)
        if value is None or (value == "" and kind == schema.DATE):
            return EMPTY.get(kind)
        return getattr(self, kind)(key, value)

    def text(self, key: str, value: Any) -> str:
        if not is_scalar_text(value):
            self.error(key, f"'{key}' must be text (got {type_name(value)})")
            return ""
        return self.clean(key, str(value).strip())

    def clean(self, key: str, value: str) -> str:
        """A text without control characters (feeds and XML cannot carry them)."""
        bad = control_character(value)
        if bad:
            self.error(key, f"'{key}' contains the control character U+{ord(bad):04X}; "
                       "remove it")
            return ""
        return value

    def texts(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(is_scalar_text(v) for v in value):
            self.error(key, f"'{key}' must be a list of texts, one per line starting with '- '")
            return ()
        items = (self.clean(key, str(v).strip()) for v in value)
        return tuple(item for item in items if item)

    def count(self, key: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(key, f"'{key}' must be a whole number (got {value!r})")
            return None
        return value

    def date(self, key: str, value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        self.error(key, f"'{key}' must be a date like 2024-04-29 (got {value!r})")
        return None

    def link(self, key: str, value: Any) -> str:
        value = self.text(key, value)
        if value and not re.match(r"^https?://[^\s]+$", value, re.IGNORECASE):
            self.error(key, f"'{key}' must be an http:// or https:// URL")
            return ""
        return value

    def title(self) -> str:
        title = self.get(schema.TEXT, "title")
        if not title:
            if "title" not in self.doc.meta:
                self.problems.add(self.doc.path, "missing required field 'title'", 1)
            elif "title" not in self.failed:
                self.error("title", "'title' must not be empty")
        return title

    def file_id(self) -> str:
        """The paper's id: its file name, which a declared ``id`` must equal."""
        paper_id = self.doc.path.stem
        declared = self.doc.meta.get("id")
        if declared is not None and str(declared) != paper_id:
            hint = (f" (write it in quotes: id: \"{paper_id}\")"
                    if isinstance(declared, (int, float)) else "")
            self.error("id", f"id '{declared}' does not match the file name '{paper_id}.md'"
                       + hint)
        if not is_safe_id(paper_id):
            self.problems.add(self.doc.path, f"'{paper_id}' is not a usable paper id: use "
                              "letters, digits, '.', '_' and '-' (the file name is the id)", 1)
        return paper_id

    def slugs(self, key: str, value: Any) -> tuple[str, ...]:
        values = self.texts(key, value)
        for slug in values:
            if not SLUG_RE.match(slug):
                self.error(key, f"topic '{slug}' is not a slug (lowercase letters, digits, '-')")
        return values

    def organization(self, key: str, value: Any) -> Organization | None:
        value = {"name": value} if isinstance(value, str) else value
        if not (isinstance(value, dict) and isinstance(value.get("name"), str)
                and value["name"].strip()):
            self.error(key, "'organization' must have a 'name' (and optional 'fullname')")
            return None
        for inner in value:
            if inner not in ("name", "fullname"):
                self.error(key, f"unknown field 'organization.{inner}' (an organization has "
                           "name and fullname)")
        fullname = value.get("fullname") or ""
        if not isinstance(fullname, str):
            self.error(key, "'organization.fullname' must be text")
            fullname = ""
        return self.checked_organization(value["name"].strip(), fullname.strip())

    def checked_organization(self, name: str, fullname: str) -> Organization | None:
        for part, text in (("name", name), ("fullname", fullname)):
            bad = control_character(text)
            if bad:
                self.error("organization", f"'organization.{part}' contains the control "
                           f"character U+{ord(bad):04X}; remove it")
                return None
        page = urls.org(name)
        try:
            check_relative_path(urls.output_file(page))
        except UnsafePathError:
            self.error("organization", f"organization name '{name}' would have the page "
                       f"'{page}', a name some systems reserve; give a longer name")
            return None
        return Organization(name, fullname)


def is_scalar_text(value: object) -> bool:
    """A YAML value that reads as text: a string, a number or a date (not a list, a mapping, a
    boolean, or binary data)."""
    return isinstance(value, (str, int, float, dt.date)) and not isinstance(value, bool)


def type_name(value: object) -> str:
    names = {dict: "a mapping", list: "a list", bool: "true/false", bytes: "binary data",
             set: "a set"}
    return names.get(type(value), type(value).__name__)
