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
from site_builder.config import SLUG_RE
from site_builder.errors import ContentError, Problems, display_path, problem
from site_builder.fields import FieldReader, Organization
from site_builder.frontmatter import (
    FrontMatterFile,
    check_inside,
    is_inside,
    parse_front_matter,
    read_front_matter,
    read_text,
    reported,
)
from site_builder.paths import DEVICE_NAMES
from site_builder.state import STATE_DIR, Published, first_published
from site_builder.transaction import finish_interrupted_import

TOPIC_KEYS = ("title", "keywords")
MAX_AUTHORS = 5_000  # the largest real author lists; feeds and pages slow down beyond
MAX_ABSTRACT_CHARS = 20_000  # ten times a long abstract; text passes stay fast below it


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
