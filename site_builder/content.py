"""Read ``content/`` into typed records: papers, topics and day notes (errors as file:line)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from site_builder import schema, urls
from site_builder.config import SLUG_RE, did_you_mean
from site_builder.errors import ContentError, Problems, display_path, problem
from site_builder.frontmatter import (
    FrontMatterFile,
    check_inside,
    control_character,
    is_inside,
    parse_front_matter,
    read_front_matter,
    read_text,
    reported,
)
from site_builder.paths import DEVICE_NAMES, UnsafePathError, check_relative_path
from site_builder.state import STATE_DIR, Published, first_published
from site_builder.transaction import finish_interrupted_import

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
RESERVED_NAMES = {"index", "page", "feed", "atom", *DEVICE_NAMES}
TOPIC_KEYS = ("title", "keywords")
MAX_AUTHORS = 5_000  # the largest real author lists; feeds and pages slow down beyond
MAX_ABSTRACT_CHARS = 20_000  # ten times a long abstract; text passes stay fast below it
EMPTY = {schema.TEXT: "", schema.LINK: "", schema.TEXTS: (), schema.SLUGS: ()}  # else None


@dataclass(frozen=True)
class Organization:
    """The organisation that submitted a paper (Hugging Face's ``name`` and ``fullname``)."""

    name: str
    fullname: str = ""

    @property
    def label(self) -> str:
        return self.fullname or self.name


@dataclass
class Paper:
    """One paper as listed on one day; the file name is its id."""

    id: str
    title: str
    day: dt.date
    abstract: str = ""
    authors: tuple[str, ...] = ()
    author_count: int = 0
    organization: Organization | None = None
    published: dt.date | None = None
    upvotes: int | None = None  # None: the source did not say (shown as nothing, not 0)
    topics: tuple[str, ...] = ()
    arxiv: str = ""
    pdf: str = ""
    code: str = ""
    project_page: str = ""
    github_stars: int | None = None
    thumbnail: str = ""
    ai_summary: str = ""
    ai_keywords: tuple[str, ...] = ()
    withdrawn: dt.date | None = None
    doi: str = ""
    journal_ref: str = ""
    comment: str = ""
    categories: tuple[str, ...] = ()
    source: str = ""
    digest: str = ""
    # filled in by the model: every topic (explicit and by keyword), rendered markup
    topic_slugs: tuple[str, ...] = ()
    title_html: str = ""
    abstract_html: str = ""
    summary: str = ""

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Listing order: upvotes first, then title, then id for a stable tie-break."""
        return (-(self.upvotes or 0), self.title.casefold(), self.id)


@dataclass
class Topic:
    """A topic: a title, keyword rules and a Markdown description."""

    slug: str
    title: str
    keywords: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    digest: str = ""
    description_html: str = ""


@dataclass(frozen=True)
class DayNote:
    """An editor's note (``days/<day>/index.md``) shown at the top of that day."""

    day: dt.date
    body: str
    title: str = ""
    source: str = ""
    digest: str = ""


@dataclass
class Content:
    """Everything read from the content folder."""

    papers: list[Paper] = field(default_factory=list)
    topics: dict[str, Topic] = field(default_factory=dict)
    notes: dict[dt.date, DayNote] = field(default_factory=dict)
    memo: Any = field(default=None, repr=False, compare=False)
    published: Published = field(default_factory=Published)  # from state/, for feed dates


def file_digest(path: Path, text: str) -> str:
    return hashlib.blake2b(f"{path.name}\0{text}".encode(), digest_size=12).hexdigest()


def parse_day(name: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` folder name as a date, or None when it is not a real date."""
    with contextlib.suppress(ValueError):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", name):
            return dt.date.fromisoformat(name)
    return None


def is_safe_id(value: str) -> bool:
    """True when an id or slug can name a folder in the output without escaping it (and on
    every file system: no Windows device names such as ``con`` or ``nul.txt``)."""
    return (bool(ID_RE.match(value)) and value.lower() not in RESERVED_NAMES
            and value.split(".")[0].lower() not in DEVICE_NAMES and ".." not in value
            and not value.endswith("."))


def load_content(content_dir: Path, memo: Any = None) -> Content:
    """Read and validate every file under the content folder; raise ContentError listing all.

    ``memo`` (a ``cache.PaperMemo``: path, day, parse -> paper) hands back papers parsed by
    an earlier build from files that have not changed since, so a rebuild parses only new
    and edited files.
    """
    problems = Problems()
    content = Content(memo=memo)
    if not content_dir.is_dir():
        raise ContentError([problem(content_dir, "content folder not found")])
    finish_interrupted_import(content_dir)
    check_layout(content_dir, problems)
    content.topics = load_topics(content_dir / "topics", problems)
    load_days(content_dir / "days", content, problems)
    content.published = first_published(content_dir, problems)
    check_papers(content, problems)
    problems.raise_if_any()
    return content


def list_folder(folder: Path, problems: Problems) -> list[os.DirEntry]:
    """The entries of a folder, sorted, without hidden ones; an unreadable folder and a name
    that is not valid UTF-8 (it could name no page or feed) are problems, not crashes."""
    try:
        with os.scandir(folder) as scan:
            found = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        problems.add(folder, f"cannot read this folder: {exc.strerror or exc}; check its "
                     "permissions")
        return []
    entries = []
    for entry in found:
        if entry.name.startswith("."):
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            problems.add(entry.path, "the file name is not valid UTF-8; rename it")
            continue
        entries.append(entry)
    return entries


def is_file(entry: os.DirEntry | Path) -> bool:
    """``is_file`` that says False for a symbolic link loop or a vanished file, not raising."""
    with contextlib.suppress(OSError):
        return entry.is_file()
    return False


def is_dir(entry: os.DirEntry | Path) -> bool:
    with contextlib.suppress(OSError):
        return entry.is_dir()
    return False


def check_layout(content_dir: Path, problems: Problems) -> None:
    """Files that are not part of the content layout are errors (they would be ignored)."""
    for entry in list_folder(content_dir, problems):
        if entry.name == "site.yaml" and is_file(entry):
            continue
        if entry.name in ("topics", "days", STATE_DIR) and is_dir(entry):
            continue
        problems.add(entry.path, "not part of the content layout (expected site.yaml, "
                     "topics/, days/, state/)")


def load_topics(topics_dir: Path, problems: Problems) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    if not is_dir(topics_dir):
        return topics
    for entry in list_folder(topics_dir, problems):
        path = Path(entry.path)
        if path.suffix != ".md" or not is_file(entry):
            problems.add(path, "not part of the content layout (topics/ holds <slug>.md files)")
            continue
        topic = load_topic(path, topics_dir.parent, problems)
        if topic:
            topics[topic.slug] = topic
    return topics


def load_topic(path: Path, content_dir: Path, problems: Problems) -> Topic | None:
    slug = path.stem
    if not SLUG_RE.match(slug) or slug in DEVICE_NAMES:
        problems.add(path, f"topic file name '{slug}' must be a slug: lowercase letters, "
                     "digits and '-' (and not a reserved name such as 'con' or 'aux')")
        return None
    doc = reported(problems, lambda: read_front_matter(check_inside(path, content_dir)))
    if doc is None:
        return None
    reader = FieldReader(doc, problems)
    reader.only(TOPIC_KEYS)
    title = reader.get(schema.TEXT, "title")
    if not title:
        problems.add(path, "a topic needs a 'title'", doc.line_of("title"))
        return None
    keywords = reader.get(schema.TEXTS, "keywords")
    return Topic(slug, title, keywords, doc.body, str(path), file_digest(path, doc.text))


def load_days(days_dir: Path, content: Content, problems: Problems) -> None:
    if not is_dir(days_dir):
        return
    content_dir = days_dir.parent
    for folder_entry in list_folder(days_dir, problems):
        folder = Path(folder_entry.path)
        day = parse_day(folder.name)
        if folder.is_symlink():
            problems.add(folder, "a day folder must be a real folder, not a symbolic link")
            continue
        if not is_dir(folder):
            problems.add(folder, "not part of the content layout (days/ holds YYYY-MM-DD folders)")
            continue
        if day is None:
            problems.add(folder, f"'{folder.name}' is not a real date in the form YYYY-MM-DD")
            continue
        folder_inside = is_inside(folder, content_dir)  # then only a link can lead out
        for entry in list_folder(folder, problems):
            path = Path(entry.path)
            if entry.is_symlink() and not is_file(entry):
                problems.add(path, "is a symbolic link that leads to no file (it is broken "
                             "or a loop); remove it")
                continue
            if path.suffix != ".md" or not is_file(entry):
                problems.add(path, "not part of the content layout "
                             "(a day folder holds <paper-id>.md files and index.md)")
                continue
            if (not folder_inside or entry.is_symlink()) and not reported(
                    problems, check_inside, path, content_dir):
                continue
            if path.name == "index.md":
                note = load_note(path, day, problems)
                if note:
                    content.notes[day] = note
            else:
                parse = functools.partial(load_paper, path, day, problems)
                paper = content.memo(path, day, parse) if content.memo else parse()
                if paper:
                    content.papers.append(paper)


def load_note(path: Path, day: dt.date, problems: Problems) -> DayNote | None:
    doc = reported(problems, read_note, path)
    if doc is None:
        return None
    reader = FieldReader(doc, problems)
    reader.only(("title",), " (an editor's note has only a title)")
    title = reader.get(schema.TEXT, "title")
    return DayNote(day, doc.body, title, str(path), file_digest(path, doc.text))


def read_note(path: Path) -> FrontMatterFile:
    """An editor's note may be plain Markdown or have front matter."""
    text = read_text(path)
    if text.startswith("---\n"):
        return parse_front_matter(text, path)
    return FrontMatterFile(path, {}, text.strip("\n"), {}, 1, text)


def load_paper(path: Path, day: dt.date, problems: Problems) -> Paper | None:
    """Read one paper file; every problem is recorded, None when it cannot be used."""
    doc = reported(problems, read_front_matter, path)
    return None if doc is None else paper_from_front_matter(doc, day, problems)


def paper_from_front_matter(doc: FrontMatterFile, day: dt.date,
                            problems: Problems) -> Paper | None:
    """A paper from its file's front matter, every field read and checked as the schema says;
    None when any problem was found (each is recorded at its key's line)."""
    start = len(problems.items)
    reader = FieldReader(doc, problems)
    reader.only(schema.NAMES)
    title, paper_id = reader.title(), reader.file_id()
    values = {field.name: reader.get(field.kind, field.name) for field in schema.TYPED}
    authors = values["authors"]
    if len(authors) > MAX_AUTHORS:
        reader.error("authors", f"more than {MAX_AUTHORS:,} authors ({len(authors):,}); keep "
                     "the first ones and give the total as 'author_count'")
    values["author_count"] = len(authors) if authors else (values["author_count"] or 0)
    if len(doc.body) > MAX_ABSTRACT_CHARS:
        problems.add(doc.path, f"the abstract is {len(doc.body):,} characters long; the limit "
                     f"is {MAX_ABSTRACT_CHARS:,} (is it the paper's full text?)", doc.body_line)
    if len(problems.items) > start:
        return None
    return Paper(id=paper_id, title=title, day=day, abstract=doc.body, source=str(doc.path),
                 digest=file_digest(doc.path, doc.text + day.isoformat()), **values)


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


def check_papers(content: Content, problems: Problems) -> None:
    """Cross-file checks: ids are unique (ignoring case, as file systems may) and every topic
    slug is defined."""
    seen: dict[str, Paper] = {}
    for paper in content.papers:
        other = seen.get(paper.id.casefold())
        if other is None:
            seen[paper.id.casefold()] = paper
            continue
        same, also = ("the id", "") if other.id == paper.id else (
            "ids that differ only in case:", f" ('{other.id}')")
        problems.add(paper.source, f"two papers with {same} '{paper.id}': this one and "
                     f"{display_path(other.source)}{also}; remove or rename one", 1)
    check_organizations(content.papers, problems)
    known = set(content.topics)
    for paper in content.papers:
        for slug in paper.topics:
            if slug not in known:
                hint = f" (known: {', '.join(sorted(known))})" if known else ""
                problems.add(paper.source, f"unknown topic '{slug}': create topics/{slug}.md"
                             + hint, key_line(paper, "topics"))


def check_organizations(papers: list[Paper], problems: Problems) -> None:
    """Organisation names differing only in case (or Unicode form) would share one page on
    most hosts and disks, so the build stops and names both files."""
    first: dict[str, Paper] = {}
    for paper in papers:
        if paper.organization is None:
            continue
        key = urls.org(paper.organization.name).casefold()
        other = first.setdefault(key, paper)
        assert other.organization is not None
        if other.organization.name != paper.organization.name:
            problems.add(paper.source, f"organization name '{paper.organization.name}' and "
                         f"'{other.organization.name}' (in {display_path(other.source)}) "
                         "would share one page; spell it the same way in both",
                         key_line(paper, "organization"))


def key_line(paper: Paper, key: str) -> int:
    """The line of a top-level key in a paper's file (read again only to report an error)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for number, line in enumerate(Path(paper.source).read_text("utf-8").splitlines(), 1):
            if line.startswith(f"{key}:"):
                return number
    return 1
