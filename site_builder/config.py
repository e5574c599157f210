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

from site_builder.errors import ContentError, Problems, problem
from site_builder.frontmatter import (
    InputError,
    check_inside,
    control_character,
    key_lines,
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


# setting -> its type's name ("int", "str", or a section's class), from SiteConfig itself
SETTINGS = {f.name: str(f.type) for f in dataclasses.fields(SiteConfig)}


def did_you_mean(key: object, known: set[str]) -> str:
    """`` (did you mean 'title'?)`` for a misspelt key, else the list of known keys."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(sorted(known))})"


def text_problem(label: str, value: Any) -> str:
    """What is wrong with a text setting, or '': it must be text, without control characters."""
    if not isinstance(value, str):
        return f"{label} must be text"
    if control_character(value):
        return f"{label} contains a control character; remove it"
    return ""


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
    problems = Problems()
    config = parse_config(data, path, key_lines(text, 1), problems, text)
    problems.raise_if_any()
    return config


def timezone_problem(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown timezone '{name}' (use a name like Europe/Paris)"
    return ""


# text settings that end up in attributes, headers and files: what is wrong with each, or ''
CHECKS = {
    "base_url": base_url_problem,
    "timezone": timezone_problem,
    "language": lambda v: "" if not v or LANGUAGE_RE.match(v) else
    "'language' must be a language tag such as en, fr or pt-BR",
    "subscribe_form_url": lambda v: v and url_problem("subscribe_form_url", v, ("https", "http")),
    "cname": lambda v: "" if not v or HOSTNAME_RE.match(v) else
    "'cname' must be a domain name such as papers.example.org (no https://, no path)",
}


def parse_config(data: dict[str, Any], path: Path, lines: dict[str, int], problems: Problems,
                 text: str = "") -> SiteConfig:
    values: dict[str, Any] = {}
    for key, value in data.items():
        line = lines.get(str(key))
        kind, message = SETTINGS.get(key), ""
        if kind is None:
            message = f"unknown setting '{key}'{did_you_mean(key, set(SETTINGS))}"
        elif kind == "int":
            if not whole_number(value, 1):
                message = f"'{key}' must be a whole number of at least 1"
            values[key] = value
        elif kind == "str" and value is not None:
            check = CHECKS.get(key, lambda _text: "")
            message = text_problem(f"'{key}'", value) or check(value.strip())
            values[key] = value.strip() if isinstance(value, str) else value
        if message:
            problems.add(path, message, line)
            values.pop(key, None)
    if "base_url" in values:
        values["base_url"] = normalise_base_url(values["base_url"])
    if "email" in data:
        values["email"] = parse_email(data["email"], path, lines.get("email"), problems)
    if "saved_searches" in data:
        values["saved_searches"] = parse_saved_searches(
            data["saved_searches"], path, lines.get("saved_searches"), problems
        )
    if "daily" in data:
        values["daily"] = parse_daily(data["daily"], path,
                                      functools.partial(daily_line, text, lines), problems)
    return SiteConfig(**values)


def parse_email(data: Any, path: Path, line: int | None, problems: Problems) -> EmailSettings:
    if not isinstance(data, dict):
        problems.add(path, "'email' must be a mapping", line)
        return EmailSettings()
    known = {f.name for f in dataclasses.fields(EmailSettings)}
    values = {}
    for key, value in data.items():
        if key not in known:
            problems.add(path, f"unknown setting 'email.{key}'{did_you_mean(key, known)}", line)
            continue
        message = text_problem(f"'email.{key}'", value) or email_problem(key, value)
        if message:
            problems.add(path, message, line)
        else:
            values[key] = value
    return EmailSettings(**values)


def email_problem(key: str, value: str) -> str:
    """What is wrong with an email setting that is text, or ''."""
    if key in ("subject", "from_name") and ("\n" in value or "\r" in value):  # header values
        return f"'email.{key}' must be on one line (no line breaks)"
    if key == "subject" and subject_problem(value):
        return f"'email.subject': {subject_problem(value)}"
    if key == "list_unsubscribe" and value.strip():
        return url_problem("email.list_unsubscribe", value.strip(), ("mailto", "https"))
    return ""


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


def parse_saved_searches(
    data: Any, path: Path, line: int | None, problems: Problems
) -> tuple[SavedSearch, ...]:
    if not isinstance(data, list):
        problems.add(path, "'saved_searches' must be a list of searches", line)
        return ()
    searches: list[SavedSearch] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        where = f"saved_searches[{index}]"
        search = parse_saved_search(item, where, path, line, problems)
        if search is None:
            continue
        if search.slug in seen:
            problems.add(path, f"{where}.slug: '{search.slug}' is used twice", line)
            continue
        seen.add(search.slug)
        searches.append(search)
    return tuple(searches)


def parse_saved_search(item: Any, where: str, path: Path, line: int | None,
                       problems: Problems) -> SavedSearch | None:
    if not isinstance(item, dict):
        problems.add(path, f"{where} must be a mapping with 'slug' and 'title'", line)
        return None
    start = len(problems.items)

    def report(message: str) -> None:
        problems.add(path, where + message, line)

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
    topics_dir = path.parent / "topics"
    topics = {p.stem for p in topics_dir.glob("*.md")} if topics_dir.is_dir() else set()
    for topic in lists["topics"]:
        if topic not in topics:
            report(f".topics: unknown topic '{topic}': create topics/{topic}.md"
                   + (did_you_mean(topic, topics) if topics else ""))
    min_upvotes = item.get("min_upvotes", 0)
    if not whole_number(min_upvotes, 0):
        report(".min_upvotes: must be a whole number of at least 0")
    if len(problems.items) == start and not (any(lists.values()) or min_upvotes):
        report(": give at least one of any, none, topics, organizations, min_upvotes")
    if len(problems.items) > start:
        return None
    return SavedSearch(slug, title.strip(), lists["any"], lists["topics"],
                       lists["organizations"], min_upvotes, lists["none"])


def daily_line(text: str, top: dict[str, int], key: str) -> int | None:
    """The line of a key inside ``daily:`` (else of ``daily:``), so a problem names its line."""
    start = top.get("daily")
    if start is None:
        return None
    lines = text.split("\n")
    for number in range(start, len(lines)):
        line = lines[number]
        if line.strip() and not line.startswith((" ", "\t", "-")):
            break  # the next top-level key
        if re.match(rf"\s+{re.escape(key)}\s*:", line):
            return number + 1
    return start


def whole_number(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


DAILY_MINIMUMS = {"window_days": 1, "close_after_hours": 0}


def parse_daily(data: Any, path: Path, line_of: Callable[[str], int | None],
                problems: Problems) -> DailySettings:
    if not isinstance(data, dict):
        problems.add(path, "'daily' must be a mapping (sources, window_days, "
                     "close_after_hours)", line_of("daily"))
        return DailySettings()
    known = {f.name for f in dataclasses.fields(DailySettings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        line = line_of(str(key))
        if key not in known:
            problems.add(path, f"unknown setting 'daily.{key}'{did_you_mean(key, known)}", line)
        elif key in DAILY_MINIMUMS and not whole_number(value, DAILY_MINIMUMS[key]):
            problems.add(path, f"'daily.{key}' must be a whole number of at least "
                         f"{DAILY_MINIMUMS[key]}", line)
        elif key == "sources":
            sources = parse_daily_sources(value, path, line, problems)
            if sources:
                values["sources"] = sources
        else:
            values[key] = value
    return DailySettings(**values)


def parse_daily_sources(value: Any, path: Path, line: int | None,
                        problems: Problems) -> tuple[DailySource, ...]:
    """``sources:`` as a list of type names (``hf-api``) or mappings with ``type`` and ``url``."""
    if not isinstance(value, list) or not value:
        problems.add(path, "'daily.sources' must be a list of sources such as '- hf-api'", line)
        return ()
    sources = []
    for index, item in enumerate(value):
        where = f"daily.sources[{index}]"
        item = {"type": item} if isinstance(item, str) else item
        if not isinstance(item, dict):
            problems.add(path, f"{where} must be a source type or a mapping with 'type' and "
                         "'url'", line)
            continue
        unknown = set(item) - {"type", "url"}
        kind, url = item.get("type", "hf-api"), item.get("url", HF_DAILY_API)
        if unknown:
            problems.add(path, f"{where}: unknown key '{sorted(map(str, unknown))[0]}' "
                         "(known: type, url)", line)
        elif kind not in DAILY_SOURCE_TYPES:
            problems.add(path, f"{where}.type: '{kind}' is not a daily source (known: "
                         f"{', '.join(DAILY_SOURCE_TYPES)})", line)
        elif not isinstance(url, str) or url_problem(f"{where}.url", url, ("https", "http")):
            problems.add(path, f"{where}.url must be an absolute http(s) URL", line)
        else:
            sources.append(DailySource(kind, url.strip()))
    return tuple(sources)
