"""Merging imported papers into the content folder: match, merge, write files stably."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml's emitter is several times faster (10,000 new papers: 1.5 s instead of 5 s)
    from yaml import CSafeDumper as FastDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as FastDumper  # type: ignore[assignment]

from site_builder import schema, urls
from site_builder.content import paper_from_front_matter, parse_day
from site_builder.errors import Problems
from site_builder.fields import is_safe_id
from site_builder.frontmatter import (
    MAX_FILE_BYTES,
    InputError,
    parse_front_matter,
    read_front_matter,
)
from site_builder.importers.record import (
    ImportedPaper,
    arxiv_id_from,
    arxiv_links,
    is_http_url,
    normalise_title,
)
from site_builder.slugs import slugify
from site_builder.transaction import Transaction


@dataclass
class StoredPaper:
    """A paper file in the content folder, as it is and as it will be written."""

    id: str
    day: dt.date
    meta: dict[str, Any]
    body: str
    path: Path | None = None  # where it is now (None for a new paper)
    original: str | None = None  # the file's text as read, to detect changes
    dirty: bool = False  # added or changed by this import: only these are written


@dataclass
class Change:
    status: str  # "added", "merged", "unchanged"
    paper_id: str
    day: dt.date
    origin: str


@dataclass
class ContentStore:
    """The papers of a content folder, indexed by id, arXiv id and normalised title."""

    content_dir: Path
    papers: dict[str, StoredPaper] = field(default_factory=dict)
    by_arxiv: dict[str, str] = field(default_factory=dict)
    by_title: dict[str, str] = field(default_factory=dict)
    by_folded_id: dict[str, str] = field(default_factory=dict)  # ids are unique ignoring case
    organizations: dict[str, str] = field(default_factory=dict)  # folded name -> spelling

    @classmethod
    def open(cls, content_dir: Path) -> ContentStore:
        """Every paper file of the folder; ContentError naming each one that cannot be read."""
        store, problems = cls(content_dir), Problems()
        days = content_dir / "days"
        if days.is_dir():
            for folder in sorted(days.iterdir()):
                day = parse_day(folder.name)
                if day is None or not folder.is_dir():
                    continue
                for path in sorted(folder.glob("*.md")):
                    if path.name != "index.md":
                        store.load(path, day, problems)
        problems.raise_if_any()
        return store

    def load(self, path: Path, day: dt.date, problems: Problems) -> None:
        try:
            doc = read_front_matter(path)
        except InputError as exc:
            problems.extend([exc.problem])
            return
        self.index(StoredPaper(path.stem, day, dict(doc.meta), doc.body, path,
                               path.read_text("utf-8")))

    def index(self, paper: StoredPaper) -> None:
        self.papers[paper.id] = paper
        self.by_folded_id.setdefault(paper.id.casefold(), paper.id)
        org = paper.meta.get("organization")
        name = org.get("name") if isinstance(org, dict) else org
        if isinstance(name, str) and name.strip():
            self.organizations.setdefault(org_key(name.strip()), name.strip())
        arxiv = stored_arxiv_id(paper)
        if arxiv:
            self.by_arxiv.setdefault(arxiv, paper.id)
        title = normalise_title(str(paper.meta.get("title", "")))
        if title:
            self.by_title.setdefault(title, paper.id)

    def find(self, record: ImportedPaper) -> StoredPaper | None:
        """The paper a record is: same arXiv id, else same id, else same normalised title (unless
        both know their arXiv ids and they differ: then they are two papers with one title)."""
        arxiv = record_arxiv_id(record)
        if arxiv in self.by_arxiv:
            return self.papers[self.by_arxiv[arxiv]]
        for paper_id in (self.by_folded_id.get(record.id.casefold()),  # no paper has id ''
                         self.by_title.get(normalise_title(record.title))):
            if paper_id is not None and (
                    not arxiv or stored_arxiv_id(self.papers[paper_id]) in ("", arxiv)):
                return self.papers[paper_id]
        return None

    def new_id(self, record: ImportedPaper) -> str:
        arxiv = record_arxiv_id(record)
        if arxiv:
            base = arxiv
        elif record.id:  # a source's own id: kept when it can name a file, else slugified
            base = record.id if is_safe_id(record.id) else slugify(record.id)
        else:
            base = slugify(record.title)
        if not is_safe_id(base):  # a reserved name such as 'index' or 'feed'
            base = f"{base}-paper"
        candidate, number = base, 2
        while candidate.casefold() in self.by_folded_id:
            candidate, number = f"{base}-{number}", number + 1
        return candidate

    def merge(self, record: ImportedPaper, day: dt.date, extra_topics: tuple[str, ...]) -> Change:
        """Add a record as a new paper or merge it into the paper it matches."""
        existing = self.find(record)
        incoming = record_meta(record, extra_topics)
        org = incoming.get("organization")
        if org:  # one spelling per organisation (names differing in case share a page)
            org["name"] = self.organizations.get(org_key(org["name"]), org["name"])
        if existing is None:
            paper_id = self.new_id(record)
            incoming["id"] = paper_id
            paper = StoredPaper(paper_id, day, incoming, record.abstract.strip(), dirty=True)
            self.index(paper)
            return Change("added", paper_id, day, record.origin)
        before = (copy.deepcopy(existing.meta), existing.body, existing.day)
        merge_meta(existing.meta, incoming)
        if not existing.body.strip() and record.abstract.strip():
            existing.body = record.abstract.strip()
        if day < existing.day:
            existing.day = day  # a paper keeps its earliest listing day
        self.index(existing)
        if (existing.meta, existing.body, existing.day) == before:
            return Change("unchanged", existing.id, existing.day, record.origin)
        existing.dirty = True
        return Change("merged", existing.id, existing.day, record.origin)

    def pending_writes(self, refuse: Callable[[StoredPaper, str], None],
                       ) -> list[tuple[StoredPaper, Path, str]]:
        """(paper, new path, new text) of each paper this import added or changed whose file
        text or place differs (files it did not touch are never rewritten), but those whose file
        ``check`` would refuse (an organisation named 'aux', a huge abstract), each told to
        ``refuse`` with check's first message: an import never breaks the next build."""
        writes = []
        for paper in self.papers.values():
            if not paper.dirty:
                continue
            text = serialise(paper)
            target = self.content_dir / "days" / paper.day.isoformat() / f"{paper.id}.md"
            if paper.path == target and paper.original == text:
                continue
            reasons = unbuildable(text, target, paper.day)
            if reasons:
                refuse(paper, reasons[0])
            else:
                writes.append((paper, target, text))
        return writes

    def write(self, writes: list[tuple[StoredPaper, Path, str]],
              transaction: Transaction) -> None:
        for paper, target, text in writes:
            transaction.write(target, text)
            if paper.path is not None and paper.path != target and paper.path.exists():
                transaction.remove(paper.path)


def unbuildable(text: str, target: Path, day: dt.date) -> list[str]:
    """The messages ``check`` would give for a paper file with this text (none: it is fine)."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        return [f"file is too large (more than {MAX_FILE_BYTES:,} bytes)"]
    problems = Problems()
    try:
        doc = parse_front_matter(text, target)
    except InputError as exc:
        return [exc.problem.message]
    paper_from_front_matter(doc, day, problems)
    return [found.message for found in problems.items]


def org_key(name: str) -> str:
    """Names with one organisation page are one organisation (``Acme``, ``acme``)."""
    return urls.org(name).casefold()


def record_arxiv_id(record: ImportedPaper) -> str:
    return arxiv_id_from(record.id) or arxiv_id_from(record.arxiv)


def stored_arxiv_id(paper: StoredPaper) -> str:
    return arxiv_id_from(str(paper.meta.get("arxiv") or "")) or arxiv_id_from(paper.id)


def as_list(value: Any) -> list[Any]:
    """A front matter value that should be a list (a hand-written file may give one string)."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def record_meta(record: ImportedPaper, extra_topics: tuple[str, ...]) -> dict[str, Any]:
    """The front matter an imported record brings (only the fields it knows)."""
    meta: dict[str, Any] = {"title": record.title.strip()}
    arxiv = record_arxiv_id(record)
    if arxiv:  # an arXiv paper always links its abstract page and PDF
        abs_url, pdf_url = arxiv_links(arxiv)
        meta["arxiv"] = record.arxiv if is_http_url(record.arxiv) else abs_url
        meta["pdf"] = record.pdf if is_http_url(record.pdf) else pdf_url
    for spec in schema.TYPED:
        value = meta_value(spec, getattr(record, spec.name), record)
        if spec.name not in meta and value is not None:
            meta[spec.name] = value
    topics = list(dict.fromkeys([*record.topics, *extra_topics]))
    if topics:
        meta["topics"] = topics
    return meta


def meta_value(spec: schema.Field, value: Any, record: ImportedPaper) -> Any:
    """A record's value as front matter, or None when it says nothing (a count of 0 says
    something; an author count does only for a record without author names)."""
    if spec.name == "author_count":
        return None if record.authors else value or None
    if spec.kind == schema.COUNT:
        return value
    if spec.kind == schema.LINK:
        return value if is_http_url(value) else None
    if spec.kind == schema.ORGANIZATION:
        named = value and value.get("name")
        return {key: value[key] for key in ("name", "fullname") if value.get(key)} if named \
            else None
    if not value:
        return None
    if spec.kind == schema.TEXT:
        return value.strip()
    return list(value) if spec.kind in (schema.TEXTS, schema.SLUGS) else value


def merge_meta(existing: dict[str, Any], incoming: dict[str, Any]) -> None:
    """Unite topics, refresh popularity, fill in what the content folder lacks."""
    for key, value in incoming.items():
        merge = schema.BY_NAME[key].merge
        if merge == schema.UNITE:
            existing[key] = list(dict.fromkeys([*as_list(existing.get(key)), *value]))
        elif merge == schema.REFRESH:
            existing[key] = value
        elif key == "author_count" and existing.get("authors"):
            continue
        elif key == "authors" and value:
            existing.pop("author_count", None)
            existing.setdefault("authors", value)
        elif existing.get(key) in (None, "", []):
            existing[key] = value


def serialise(paper: StoredPaper) -> str:
    """A paper file with its keys in a stable order, so re-imports are byte-identical."""
    meta = dict(paper.meta)
    meta["id"] = paper.id
    ordered = {key: meta[key] for key in schema.NAMES if key in meta and meta[key] not in ("", [])}
    ordered.update({key: meta[key] for key in sorted(meta, key=str) if key not in schema.BY_NAME})
    front = dump_yaml(ordered)
    body = paper.body.strip("\n")
    return f"---\n{front}---\n\n{body}\n" if body else f"---\n{front}---\n"


def dump_yaml(data: dict[str, Any]) -> str:
    """Block-style YAML with Unicode kept readable and no line folding."""
    options = {"sort_keys": False, "allow_unicode": True, "width": 100_000,
               "default_flow_style": False}
    text = yaml.dump(data, Dumper=FastDumper, **options)
    if "\\U" in text:  # libyaml escapes characters beyond U+FFFF (emoji); PyYAML keeps them
        text = yaml.dump(data, Dumper=yaml.SafeDumper, **options)
    return text


def topic_file_text(slug: str) -> str:
    """A new topic file for a slug an import brought in (edit its keywords later)."""
    meta = {"title": slug.replace("-", " ").capitalize(), "keywords": []}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"
