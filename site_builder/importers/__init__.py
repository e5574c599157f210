"""``site-builder import``: read sources, detect their format, merge papers into content/."""

from __future__ import annotations

import datetime as dt
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from site_builder.config import SLUG_RE
from site_builder.errors import ContentError, Problems, problem
from site_builder.importers.hf_page import PageFormatError, looks_like_hf_page, parse_hf_page
from site_builder.importers.record import ImportedPaper
from site_builder.importers.store import Change, ContentStore, topic_file_text

MAX_SOURCE_BYTES = 50_000_000
FETCH_TIMEOUT = 30


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
class ImportSummary:
    changes: list[Change] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    topics_created: list[str] = field(default_factory=list)
    dry_run: bool = False

    def count(self, status: str) -> int:
        return sum(1 for change in self.changes if change.status == status)

    @property
    def days_touched(self) -> list[str]:
        return sorted({c.day.isoformat() for c in self.changes if c.status != "unchanged"})

    def report(self) -> str:
        lines = []
        for origin, reason in self.skipped:
            lines.append(f"skipped {origin}: {reason}")
        for slug in self.topics_created:
            lines.append(f"created topic {slug}")
        prefix = "would import" if self.dry_run else "imported"
        lines.append(
            f"{prefix}: {self.count('added')} added, {self.count('merged')} merged, "
            f"{self.count('unchanged')} unchanged, {len(self.skipped)} skipped; days touched: "
            f"{', '.join(self.days_touched) or 'none'}"
        )
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({
            "dry_run": self.dry_run,
            "added": self.count("added"),
            "merged": self.count("merged"),
            "unchanged": self.count("unchanged"),
            "skipped": [{"source": o, "reason": r} for o, r in self.skipped],
            "topics_created": self.topics_created,
            "days_touched": self.days_touched,
            "papers": [{"id": c.paper_id, "status": c.status, "day": c.day.isoformat()}
                       for c in self.changes],
        }, indent=2, sort_keys=True)


@dataclass
class ParseResult:
    papers: list[ImportedPaper] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


Parser = Callable[[str, str, ImportOptions], ParseResult]


def parse_hf_page_source(text: str, name: str, options: ImportOptions) -> ParseResult:
    try:
        return ParseResult(parse_hf_page(text, name, options.date, options.today))
    except PageFormatError as exc:
        raise ContentError([problem(name, str(exc), exc.line)]) from exc


# format name -> (detector on the text, parser); later formats register here too
FORMATS: dict[str, tuple[Callable[[str], bool], Parser]] = {
    "hf-page": (looks_like_hf_page, parse_hf_page_source),
}


def detect_format(text: str, name: str) -> str:
    for format_name, (detect, _parse) in FORMATS.items():
        if detect(text):
            return format_name
    raise ContentError([problem(name, "cannot tell the format of this source; give it with "
                                f"--format ({', '.join(['auto', *FORMATS])})")])


def read_source(source: str) -> tuple[str, str]:
    """The text of a path, '-' (standard input) or an http(s) URL, with its display name."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
        name = "<stdin>"
    elif source.startswith(("http://", "https://")):
        data, name = fetch(source), source
    else:
        path = Path(source)
        name = source
        if not path.is_file():
            raise ContentError([problem(source, "no such file")])
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise ContentError([problem(source, f"source is larger than {MAX_SOURCE_BYTES:,} "
                                        "bytes; split it")])
        data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise ContentError([problem(name, f"source is larger than {MAX_SOURCE_BYTES:,} bytes")])
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n"), name
    except UnicodeDecodeError as exc:
        raise ContentError([problem(name, f"not valid UTF-8 at byte {exc.start}")]) from exc


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "site-builder"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            return response.read(MAX_SOURCE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ContentError([problem(url, f"fetch failed: HTTP {exc.code} {exc.reason}")]) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ContentError([problem(url, f"cannot fetch: {reason}")]) from exc


def parse_sources(sources: list[str], options: ImportOptions) -> ParseResult:
    """Parse every source before anything is written (several sources are one transaction)."""
    result = ParseResult()
    problems = Problems()
    for source in sources:
        try:
            text, name = read_source(source)
            format_name = options.format
            if format_name == "auto":
                format_name = detect_format(text, name)
            if format_name not in FORMATS:
                raise ContentError([problem(name, f"format '{format_name}' is not supported")])
            parsed = FORMATS[format_name][1](text, name, options)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        result.papers.extend(parsed.papers)
        result.skipped.extend(parsed.skipped)
    problems.raise_if_any()
    return result


def check_records(papers: list[ImportedPaper], options: ImportOptions) -> Problems:
    problems = Problems()
    for slug in options.topics:
        if not SLUG_RE.match(slug):
            problems.add("--topic", f"'{slug}' is not a slug (lowercase letters, digits, '-')")
    for paper in papers:
        if not paper.title.strip():
            problems.add(paper.origin, "paper without a title")
        if paper.listed is None and options.date is None:
            problems.add(paper.origin, "no listing day; give it with --date YYYY-MM-DD")
        for slug in paper.topics:
            if not SLUG_RE.match(slug):
                problems.add(paper.origin, f"topic '{slug}' is not a slug")
    return problems


def missing_topics(content_dir: Path, slugs: set[str]) -> list[str]:
    return sorted(s for s in slugs if not (content_dir / "topics" / f"{s}.md").exists())


def import_sources(sources: list[str], options: ImportOptions) -> ImportSummary:
    """Import every source into the content folder, all or nothing."""
    parsed = parse_sources(sources, options)
    problems = check_records(parsed.papers, options)
    problems.raise_if_any()
    store = ContentStore.open(options.content_dir, problems)
    problems.raise_if_any()
    summary = ImportSummary(skipped=parsed.skipped, dry_run=options.dry_run)
    for record in parsed.papers:
        day = options.date or record.listed
        assert day is not None  # checked above
        summary.changes.append(store.merge(record, day, options.topics))
    writes = store.pending_writes()
    changed = {paper.id for paper, _path, _text in writes}
    for change in summary.changes:
        if change.status == "merged" and change.paper_id not in changed:
            change.status = "unchanged"
    slugs = set(options.topics) | {s for r in parsed.papers for s in r.topics}
    summary.topics_created = missing_topics(options.content_dir, slugs)
    if not options.dry_run:
        for slug in summary.topics_created:
            path = options.content_dir / "topics" / f"{slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(topic_file_text(slug), "utf-8")
        store.write(writes)
    return summary
