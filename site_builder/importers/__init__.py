"""``site-builder import``: read sources, detect their format, merge papers into content/."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from site_builder.config import SLUG_RE, load_config
from site_builder.errors import ContentError, Problems
from site_builder.importers.arxiv import (
    looks_like_arxiv,
    looks_like_arxiv_rss,
    parse_arxiv,
    parse_arxiv_rss,
)
from site_builder.importers.hf_api import looks_like_hf_api, parse_hf_api
from site_builder.importers.hf_page import PageFormatError, looks_like_hf_page, parse_hf_page
from site_builder.importers.jsonl import looks_like_jsonl, parse_jsonl
from site_builder.importers.record import (
    MAX_PROBLEMS,
    ImportedPaper,
    ImportOptions,
    ParseResult,
    source_error,
    source_problem,
    without_controls,
)
from site_builder.importers.store import Change, ContentStore, StoredPaper, topic_file_text
from site_builder.schema import FORMAT_NAMES
from site_builder.transaction import (
    Transaction,
    finish_interrupted_import,
    remove_dead_temporaries,
)

__all__ = ["FORMATS", "ImportOptions", "ImportSummary", "ParseResult", "detect_format",
           "import_sources", "parse_sources", "read_source"]

MAX_SOURCE_BYTES = 50_000_000
FETCH_TIMEOUT = 30  # seconds for a whole download
SHOWN_SKIPS = 10
SHOWN_DAYS = 7


@dataclass
class ImportSummary:
    changes: list[Change] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    topics_created: list[str] = field(default_factory=list)
    dry_run: bool = False
    days: set[str] = field(default_factory=set)  # day folders whose files change

    def count(self, status: str) -> int:
        return sum(1 for change in self.changes if change.status == status)

    @property
    def days_touched(self) -> list[str]:
        return sorted(self.days)

    def report(self) -> str:
        """The summary for people: skipped items grouped by reason, then the counts."""
        lines = []
        by_reason: dict[str, list[str]] = {}
        for origin, reason in self.skipped:
            by_reason.setdefault(reason, []).append(origin)
        for reason, origins in by_reason.items():
            lines.append(f"skipped {len(origins)}: {reason}")
            lines.extend(f"  {origin}" for origin in origins[:SHOWN_SKIPS])
            if len(origins) > SHOWN_SKIPS:
                lines.append(f"  ... and {len(origins) - SHOWN_SKIPS} more (--json lists all)")
        verb = "would create" if self.dry_run else "created"
        lines.extend(f"{verb} topic {slug} (topics/{slug}.md)" for slug in self.topics_created)
        prefix = "dry run, nothing written; would import" if self.dry_run else "imported"
        days = self.days_touched
        touched = (f"{len(days)} days from {days[0]} to {days[-1]}" if len(days) > SHOWN_DAYS
                   else ", ".join(days) or "none")
        lines.append(
            f"{prefix}: {self.count('added')} added, {self.count('merged')} merged, "
            f"{self.count('unchanged')} unchanged, {len(self.skipped)} skipped; days touched: "
            f"{touched}"
        )
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({
            "dry_run": self.dry_run,
            **{status: self.count(status) for status in ("added", "merged", "unchanged")},
            "skipped": [{"source": o, "reason": r} for o, r in self.skipped],
            "topics_created": self.topics_created,
            "days_touched": self.days_touched,
            "papers": [{"id": c.paper_id, "status": c.status, "day": c.day.isoformat(),
                        "source": c.origin} for c in self.changes],
        }, indent=2, sort_keys=True)


Parser = Callable[[str, str, ImportOptions], ParseResult]


def parse_hf_page_source(text: str, name: str, options: ImportOptions) -> ParseResult:
    try:
        return ParseResult(parse_hf_page(text, name, options.date,
                                         options.today or site_today(options.content_dir)))
    except PageFormatError as exc:
        raise source_error(name, str(exc), exc.line) from exc


def site_today(content_dir: Path) -> dt.date:
    """Today in the site's ``timezone`` (site.yaml), not the machine's: a copied page's date
    without a year means the same day wherever the import runs."""
    timezone = load_config(content_dir).timezone
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).date()


PARSERS: dict[str, tuple[Callable[[str], bool], Parser]] = {  # (detector on the text, parser)
    "hf-api": (looks_like_hf_api, parse_hf_api),
    "arxiv": (looks_like_arxiv, parse_arxiv),
    "arxiv-rss": (looks_like_arxiv_rss, parse_arxiv_rss),
    "jsonl": (looks_like_jsonl, parse_jsonl),
    "hf-page": (looks_like_hf_page, parse_hf_page_source),
}
# In schema.IMPORT_FORMATS' order, which is the order detection tries them in.
FORMATS = {name: PARSERS[name] for name in FORMAT_NAMES}


def detect_format(text: str, name: str) -> str:
    for format_name, (detect, _parse) in FORMATS.items():
        if detect(text):
            return format_name
    what = "it is empty" if not text.strip() else "it looks like none of them"
    raise source_error(name, f"cannot tell the format of this source ({what}); give it with "
                       f"--format ({', '.join(FORMATS)})")


def read_source(source: str) -> tuple[str, str]:
    """The text of a path, '-' (standard input) or an http(s) URL, with its display name."""
    if source == "-":
        name = "<stdin>"
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            data = stream.read(MAX_SOURCE_BYTES + 1)
        else:  # a text stream (as in tests)
            data = sys.stdin.read(MAX_SOURCE_BYTES + 1).encode("utf-8")
    elif source.lower().startswith(("http://", "https://")):
        data, name = fetch(source), source
    else:
        data, name = read_file(Path(source), source), source
    if len(data) > MAX_SOURCE_BYTES:
        raise source_error(name, f"source is larger than {MAX_SOURCE_BYTES:,} bytes; refusing "
                           "it (split it into smaller files)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise source_error(name, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                           f"{exc.start})", data[:exc.start].count(b"\n") + 1) from exc
    return text.replace("\r\n", "\n"), name


def read_file(path: Path, name: str) -> bytes:
    try:
        if path.is_dir():
            raise source_error(name, "is a folder, not a file")
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise source_error(name, f"source is too large ({size:,} bytes; the limit is "
                               f"{MAX_SOURCE_BYTES:,}); split it into smaller files")
        with path.open("rb") as stream:
            return stream.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError as exc:
        raise source_error(name, "no such file") from exc
    except OSError as exc:
        raise source_error(name, f"cannot read: {exc.strerror or exc}") from exc


class SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, and only to http(s) URLs (never ftp:, file: or others)."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        target = urllib.parse.urljoin(req.full_url, newurl)
        if urllib.parse.urlsplit(target).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"redirected to {target[:200]!r}, which is not an "
                                        "http(s) URL; refusing to follow it")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str) -> bytes:
    """The body of an http(s) URL, with a time limit on the whole download (not only on each
    read), a size limit, and a few http(s) redirects at most; errors are ContentErrors."""
    limit = FETCH_TIMEOUT
    request = urllib.request.Request(url, headers={
        "User-Agent": "site-builder (static daily papers digest)",
        "Accept": "application/json, application/atom+xml, application/rss+xml, text/*;q=0.8",
        "Accept-Encoding": "gzip, identity",
    })
    try:
        with urllib.request.build_opener(SafeRedirects).open(request, timeout=limit) as response:
            length = response.headers.get("Content-Length") or ""
            announced = int(length) if length.isdigit() else None
            if announced is not None and announced > MAX_SOURCE_BYTES:
                raise source_error(url, f"source is too large ({announced:,} bytes; the limit "
                                   f"is {MAX_SOURCE_BYTES:,})")
            data = read_body(response, url, time.monotonic() + limit, limit)
            if announced is not None and len(data) < announced:
                raise source_error(url, f"cannot fetch: the connection closed after "
                                   f"{len(data):,} of the {announced:,} bytes the server "
                                   "announced")
            return decode_body(data, response.headers.get("Content-Encoding", ""), url)
    except urllib.error.HTTPError as exc:
        raise source_error(url, f"cannot fetch: the server answered HTTP {exc.code} "
                           f"{exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise source_error(url, f"cannot fetch: {exc.reason}") from exc
    except (TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {limit} seconds"
        raise source_error(url, f"cannot fetch: {reason}") from exc


def read_body(response: http.client.HTTPResponse, url: str, deadline: float,
              limit: float) -> bytes:
    """Read an answer in chunks as they come, stopping at the deadline or the size limit."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_SOURCE_BYTES and (chunk := response.read1(65_536)):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise source_error(url, f"cannot fetch: the download took longer than {limit} "
                               f"seconds ({size:,} bytes so far); try again later")
    return b"".join(chunks)


def decode_body(data: bytes, encoding: str, url: str) -> bytes:
    """The body without its transfer compression (gzip, bounded), or a clear refusal."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding not in ("gzip", "x-gzip"):
        raise source_error(url, f"cannot fetch: the server compressed the answer with "
                           f"'{encoding[:40]}', which is not supported (only gzip)")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflate.decompress(data, MAX_SOURCE_BYTES + 1)
    except zlib.error as exc:
        raise source_error(url, "cannot fetch: the answer says it is gzip-compressed but is "
                           f"not ({exc})") from exc
    if len(body) > MAX_SOURCE_BYTES or inflate.unconsumed_tail:
        raise source_error(url, f"source is larger than {MAX_SOURCE_BYTES:,} bytes once "
                           "uncompressed; refusing it")
    return body


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
                raise source_error(name, f"format '{format_name}' is not supported "
                                   f"({', '.join(FORMATS)})")
            parsed = FORMATS[format_name][1](text, name, options)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        result.papers.extend(without_controls(paper) for paper in parsed.papers)
        result.skipped.extend(parsed.skipped)
    problems.raise_if_any()
    return result


def check_records(papers: list[ImportedPaper], options: ImportOptions) -> Problems:
    """Checks every parser relies on; at most MAX_PROBLEMS are listed."""
    problems = Problems()
    for slug in options.topics:
        if not SLUG_RE.match(slug):
            problems.add("--topic", f"'{slug}' is not a slug (lowercase letters, digits, '-')")
    found = []
    for paper in papers:
        if not paper.title.strip():
            found.append(source_problem(paper.origin, "paper without a title"))
        if paper.listed is None and options.date is None:
            found.append(source_problem(paper.origin, "no listing day in the source; give it "
                                        "with --date YYYY-MM-DD"))
        for slug in paper.topics:
            if not SLUG_RE.match(slug):
                found.append(source_problem(paper.origin, f"topic '{slug}' is not a slug"))
    if len(found) > MAX_PROBLEMS:
        more = len(found) - MAX_PROBLEMS
        found = found[:MAX_PROBLEMS] + [source_problem(found[MAX_PROBLEMS].path,
                                                       f"... and {more} more like these")]
    problems.extend(found)
    return problems


def import_sources(sources: list[str], options: ImportOptions) -> ImportSummary:
    """Import every source into the content folder, all or nothing.

    Every source is read and parsed, and the content folder is read, before the first file is
    written; any problem raises ContentError and leaves the folder untouched.
    """
    parsed = parse_sources(sources, options)
    if not options.dry_run:
        finish_interrupted_import(options.content_dir)
        remove_dead_temporaries(options.content_dir)
    check_records(parsed.papers, options).raise_if_any()
    store = ContentStore.open(options.content_dir)
    summary = ImportSummary(skipped=parsed.skipped, dry_run=options.dry_run)
    for record in parsed.papers:
        day = options.date or record.listed
        assert day is not None  # checked above
        summary.changes.append(store.merge(record, day, options.topics))

    def refuse(paper: StoredPaper, reason: str) -> None:
        origin = next((c.origin for c in reversed(summary.changes) if c.paper_id == paper.id),
                      paper.id)
        summary.skipped.append((origin, f"its file would not pass check: {reason}"))
        summary.changes = [c for c in summary.changes if c.paper_id != paper.id]

    writes = store.pending_writes(refuse)
    changed = {paper.id for paper, _path, _text in writes}
    for change in summary.changes:
        change.day = store.papers[change.paper_id].day  # where the paper ends up
        if change.status == "merged" and change.paper_id not in changed:
            change.status = "unchanged"
    for paper, target, _text in writes:
        summary.days.add(target.parent.name)
        if paper.path is not None:
            summary.days.add(paper.path.parent.name)  # a paper moved to an earlier day
    topics = options.content_dir / "topics"
    slugs = set(options.topics) | {s for r in parsed.papers for s in r.topics}
    summary.topics_created = sorted(s for s in slugs if not (topics / f"{s}.md").exists())
    if not options.dry_run:
        with Transaction(options.content_dir) as transaction:
            for slug in summary.topics_created:
                transaction.write(topics / f"{slug}.md", topic_file_text(slug))
            store.write(writes, transaction)
    return summary
