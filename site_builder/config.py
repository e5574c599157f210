"""SiteConfig: the site's settings, loaded and validated from ``content/site.yaml``."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import string
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from site_builder.errors import ContentError, Problems, problem
from site_builder.frontmatter import (
    InputError,
    SafeLoader,
    check_inside,
    control_character,
    read_yaml,
)
from site_builder.paths import DEVICE_NAMES

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")  # a BCP 47 tag: en, pt-BR
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
                         r"(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))+$")
URL_UNSAFE_RE = re.compile(r"[\s\"'<>\\`{}|^]")


@dataclass(frozen=True)
class EmailSettings:
    """How the daily email looks and who it comes from."""

    subject: str = "{title} — {date}: {papers}"
    from_name: str = ""
    list_unsubscribe: str = ""  # a mailto: or https: URL, sent as the List-Unsubscribe header
    footer: str = ""


@dataclass(frozen=True)
class SavedSearch:
    """A named filter over papers with its own page, feeds and optional email digest."""

    slug: str
    title: str
    any: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    min_upvotes: int = 0
    none: tuple[str, ...] = ()  # keywords that leave a paper out, whatever else matches


HF_DAILY_API = "https://huggingface.co/api/daily_papers"
DAILY_SOURCE_TYPES = ("hf-api",)


@dataclass(frozen=True)
class DailySource:
    """A dated source that ``site-builder update`` reads one listing day at a time."""

    type: str = "hf-api"
    url: str = HF_DAILY_API


@dataclass(frozen=True)
class DailySettings:
    """What ``site-builder update`` reads and when a listing day counts as closed."""

    sources: tuple[DailySource, ...] = (DailySource(),)
    window_days: int = 14  # re-read this many recent days on every run
    close_after_hours: int = 6  # a day closes at the first good read this long after it ends


@dataclass(frozen=True)
class SiteConfig:
    """Every setting of the site; each has a default so ``site.yaml`` is optional."""

    title: str = "Daily Papers"
    description: str = "New machine learning papers, every day."
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    timezone: str = "UTC"
    page_size: int = 30
    feed_size: int = 50
    topic_feed_size: int = 30
    digest_size: int = 10
    home_top_size: int = 10
    subscribe_form_url: str = ""
    cname: str = ""
    author: str = ""
    email: EmailSettings = field(default_factory=EmailSettings)
    saved_searches: tuple[SavedSearch, ...] = ()
    daily: DailySettings = field(default_factory=DailySettings)

    @property
    def base_path(self) -> str:
        """The path part of the base URL, always starting and ending with '/'."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    def with_base_url(self, base_url: str | None) -> SiteConfig:
        """The config with ``--base-url`` applied (checked like ``base_url`` in site.yaml)."""
        if not base_url:
            return self
        message = base_url_problem(base_url)
        if message:
            raise ContentError([problem("--base-url", message)])
        return dataclasses.replace(self, base_url=normalise_base_url(base_url))


def did_you_mean(key: object, known: set[str]) -> str:
    """`` (did you mean 'title'?)`` for a misspelt key, else the list of known keys."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(sorted(known))})"


def normalise_base_url(url: str) -> str:
    """Ensure the base URL ends with '/', so relative joins stay inside the site."""
    return url if url.endswith("/") else url + "/"


def base_url_problem(url: str) -> str:
    """What is wrong with a base URL, or '' when it is usable."""
    example = "such as https://user.github.io/digest/"
    if URL_UNSAFE_RE.search(url) or control_character(url):
        return f"'base_url' must be a plain URL without spaces or quotes, {example}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"'base_url' is not a valid URL; use an absolute http(s) URL {example}"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"'base_url' must be an absolute http(s) URL {example}"
    if parts.query or parts.fragment or parts.username or parts.password:
        return f"'base_url' must not have a query, a fragment or a user name, {example}"
    return ""


def url_problem(key: str, url: str, schemes: tuple[str, ...]) -> str:
    """What is wrong with a link setting, or '' when it is an absolute URL of a given scheme."""
    names = " or ".join(f"{s}:" for s in schemes)
    if URL_UNSAFE_RE.search(url) or control_character(url):
        return f"'{key}' must be a plain URL without spaces or quotes"
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes or (parts.scheme.lower() != "mailto"
                                                 and not parts.netloc):
        return f"'{key}' must be an absolute {names} URL"
    return ""


def load_config(content_dir: Path) -> SiteConfig:
    """Load ``site.yaml`` from the content folder (defaults when it is missing)."""
    path = content_dir / "site.yaml"
    if not path.exists() and not path.is_symlink():
        return SiteConfig()
    try:
        data, text = read_yaml(check_inside(path, content_dir))
    except InputError as exc:
        raise ContentError([exc.problem]) from exc
    if not isinstance(data, dict):
        raise ContentError([problem(path, "site.yaml must be a mapping of 'key: value' lines", 1)])
    reading = Reading(path, Problems(), setting_lines(text))
    config = parse_section(SiteConfig, data, "", reading)
    reading.problems.raise_if_any()
    return dataclasses.replace(config, base_url=normalise_base_url(config.base_url))


def timezone_problem(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone '{name}' (use a name like Europe/Paris)"
    return ""


def one_line_problem(key: str, value: str) -> str:
    """Header values (the subject, the sender's name) cannot hold a line break."""
    return f"'{key}' must be on one line (no line breaks)" if "\n" in value or "\r" in value else ""


# What is wrong with a text setting (after its type is checked), or ''; top-level values are
# checked trimmed. They end up in attributes, headers and files.
CHECKS: dict[str, Callable[[str], str]] = {
    "base_url": base_url_problem,
    "timezone": timezone_problem,
    "language": lambda v: "" if not v or LANGUAGE_RE.match(v) else
    "'language' must be a language tag such as en, fr or pt-BR",
    "subscribe_form_url": lambda v: v and url_problem("subscribe_form_url", v, ("https", "http")),
    "cname": lambda v: "" if not v or HOSTNAME_RE.match(v) else
    "'cname' must be a domain name such as papers.example.org (no https://, no path)",
    "email.subject": lambda v: one_line_problem("email.subject", v) or (
        subject_problem(v) and f"'email.subject': {subject_problem(v)}"),
    "email.from_name": functools.partial(one_line_problem, "email.from_name"),
    "email.list_unsubscribe": lambda v: v.strip() and url_problem(
        "email.list_unsubscribe", v.strip(), ("mailto", "https")),
}
LEAST = {"daily.close_after_hours": 0}  # whole-number settings allowed below 1
MAPPING_HINTS = {"daily": " (sources, window_days, close_after_hours)"}


@dataclass(frozen=True)
class Reading:
    """Where problems of site.yaml go, and the lines of its settings (see setting_lines)."""

    path: Path
    problems: Problems
    lines: dict[tuple[str, str], int]

    def add(self, message: str, section: str, key: object = "") -> None:
        """A problem at the line of a key (in a section), else at the line of its section."""
        line = self.lines.get((section, str(key))) or self.lines.get(("", section or str(key)))
        self.problems.add(self.path, message, line)


def parse_section(cls: type, data: dict, prefix: str, reading: Reading) -> Any:
    """A mapping of site.yaml as ``cls``, each key checked by its field's type (a section in
    turn); a wrong value is reported and left at its default."""
    known = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name, kind, message = f"{prefix}{key}", known.get(key), ""
        if kind is None:
            message = f"unknown setting '{name}'{did_you_mean(key, set(known))}"
        elif kind == "int":
            least = LEAST.get(name, 1)
            if not whole_number(value, least):
                message = f"'{name}' must be a whole number of at least {least}"
        elif kind == "str":
            if value is None and not prefix:
                continue
            if not isinstance(value, str):
                message = f"'{name}' must be text"
            elif control_character(value):
                message = f"'{name}' contains a control character; remove it"
            else:
                value = value if prefix else value.strip()
                message = CHECKS.get(name, lambda _value: "")(value)
        else:
            value = SECTIONS[kind](value, name, reading)
            if not value:  # nothing usable: the default stays
                continue
        if message:
            reading.add(message, prefix.rstrip("."), key)
        else:
            values[key] = value
    return cls(**values)


def parse_mapping(cls: type) -> Callable[[Any, str, Reading], Any]:
    """The parser of a section that is a mapping of settings (``email:``, ``daily:``)."""
    def parse(value: Any, name: str, reading: Reading) -> Any:
        if isinstance(value, dict):
            return parse_section(cls, value, name + ".", reading)
        reading.add(f"'{name}' must be a mapping{MAPPING_HINTS.get(name, '')}", "", name)
        return cls()
    return parse


SUBJECT_FIELDS = ("title", "date", "count", "papers")
SUBJECT_SPEC_RE = re.compile(r"^(?:.?[<>^])?\d{0,3}$")  # e.g. '>5': align and a small width


def subject_problem(template: str) -> str:
    """What is wrong with an email subject template, or '': only the documented placeholders,
    each at most with a small width ('{count:>3}'); no attributes, indexes or conversions."""
    known = ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"{exc} (write a literal brace as '{{{{' or '}}}}'; placeholders: {known})"
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in SUBJECT_FIELDS or conversion:
            return f"unknown placeholder '{{{name}{'!' + conversion if conversion else ''}}}' " \
                   f"(use {known})"
        if spec and not SUBJECT_SPEC_RE.match(spec):
            return f"the format '{{{name}:{spec}}}' is not supported (at most an alignment " \
                   "and a width below 1000, such as {count:>3})"
    return ""


def parse_saved_searches(data: Any, name: str, reading: Reading) -> tuple[SavedSearch, ...]:
    if not isinstance(data, list):
        reading.add("'saved_searches' must be a list of searches", name)
        return ()
    searches: list[SavedSearch] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        where = f"saved_searches[{index}]"
        search = parse_saved_search(item, where, reading)
        if search is None:
            continue
        if search.slug in seen:
            reading.add(f"{where}.slug: '{search.slug}' is used twice", name)
            continue
        seen.add(search.slug)
        searches.append(search)
    return tuple(searches)


def parse_saved_search(item: Any, where: str, reading: Reading) -> SavedSearch | None:
    if not isinstance(item, dict):
        reading.add(f"{where} must be a mapping with 'slug' and 'title'", "saved_searches")
        return None
    start = len(reading.problems.items)

    def report(message: str) -> None:
        reading.add(where + message, "saved_searches")

    known = {f.name for f in dataclasses.fields(SavedSearch)}
    for key in item:
        if key not in known:
            report(f".{key}: unknown key (known: {', '.join(sorted(known))})")
    slug = item.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug) or slug in DEVICE_NAMES:
        report(".slug: required, lowercase letters, digits and '-' (not a reserved name such "
               "as 'con' or 'aux')")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        report(".title: required text")
    for key in ("title", "any", "organizations"):  # they reach pages, feeds and emails
        value = item.get(key)
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and control_character(text) for text in texts):
            report(f".{key}: contains a control character; remove it")
    lists = {}
    for key in ("any", "none", "topics", "organizations"):
        value = item.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            report(f".{key}: must be a list of non-empty texts")
            value = []
        lists[key] = tuple(v.strip() for v in value)
    topics_dir = reading.path.parent / "topics"
    topics = {p.stem for p in topics_dir.glob("*.md")} if topics_dir.is_dir() else set()
    for topic in lists["topics"]:
        if topic not in topics:
            report(f".topics: unknown topic '{topic}': create topics/{topic}.md"
                   + (did_you_mean(topic, topics) if topics else ""))
    min_upvotes = item.get("min_upvotes", 0)
    if not whole_number(min_upvotes, 0):
        report(".min_upvotes: must be a whole number of at least 0")
    if len(reading.problems.items) == start and not (any(lists.values()) or min_upvotes):
        report(": give at least one of any, none, topics, organizations, min_upvotes")
    if len(reading.problems.items) > start:
        return None
    return SavedSearch(slug, title.strip(), lists["any"], lists["topics"],
                       lists["organizations"], min_upvotes, lists["none"])


def setting_lines(text: str) -> dict[tuple[str, str], int]:
    """The line of each top-level key, ``("", key)``, and of each key inside ``daily:``,
    ``("daily", key)``, from the YAML nodes (the file has loaded, so composing it is safe)."""
    lines: dict[tuple[str, str], int] = {}
    root = yaml.compose(text, Loader=SafeLoader)
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if not isinstance(key, yaml.ScalarNode):
            continue
        lines[("", key.value)] = key.start_mark.line + 1
        if key.value == "daily" and isinstance(value, yaml.MappingNode):
            lines.update({("daily", inner.value): inner.start_mark.line + 1
                          for inner, _ in value.value if isinstance(inner, yaml.ScalarNode)})
    return lines


def whole_number(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def parse_daily_sources(value: Any, _name: str, reading: Reading) -> tuple[DailySource, ...]:
    """``sources:`` as a list of type names (``hf-api``) or mappings with ``type`` and ``url``."""
    report = functools.partial(reading.add, section="daily", key="sources")
    if not isinstance(value, list) or not value:
        report("'daily.sources' must be a list of sources such as '- hf-api'")
        return ()
    sources = []
    for index, item in enumerate(value):
        where = f"daily.sources[{index}]"
        item = {"type": item} if isinstance(item, str) else item
        if not isinstance(item, dict):
            report(f"{where} must be a source type or a mapping with 'type' and 'url'")
            continue
        unknown = set(item) - {"type", "url"}
        kind, url = item.get("type", "hf-api"), item.get("url", HF_DAILY_API)
        if unknown:
            report(f"{where}: unknown key '{sorted(map(str, unknown))[0]}' (known: type, url)")
        elif kind not in DAILY_SOURCE_TYPES:
            report(f"{where}.type: '{kind}' is not a daily source (known: "
                   f"{', '.join(DAILY_SOURCE_TYPES)})")
        elif not isinstance(url, str) or url_problem(f"{where}.url", url, ("https", "http")):
            report(f"{where}.url must be an absolute http(s) URL")
        else:
            sources.append(DailySource(kind, url.strip()))
    return tuple(sources)


SECTIONS: dict[str, Callable[[Any, str, Reading], Any]] = {  # a field's type -> its parser
    "EmailSettings": parse_mapping(EmailSettings),
    "DailySettings": parse_mapping(DailySettings),
    "tuple[SavedSearch, ...]": parse_saved_searches,
    "tuple[DailySource, ...]": parse_daily_sources,
}
