"""Static full-text search: one Pagefind index per listing month, in ``pagefind/<YYYY-MM>/``.

The search page loads the newest month and merges the others (``mergeIndex``), listed in
``pagefind/indexes.json``, so a new day re-indexes only its month. ``canonical_filters``
makes the index byte-reproducible (Pagefind writes filters in hash-map order). ``update`` is
the one call a build makes; without the binary the build warns once and leaves search out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import cbor2

from site_builder import urls
from site_builder.cache import file_hash, scan_output
from site_builder.paths import remove_tree
from site_builder.workers import die_with_parent
from site_builder.writer import Entry, SiteWriter

BINARY_ENV = "SITE_BUILDER_PAGEFIND"  # a path to the binary, or "off" to skip search
FORMAT = 2  # of the record update() returns; a record of another format is not trusted
LISTING = "indexes.json"  # the month folders, newest first, for the search page
UI_FILES = ("pagefind-ui.js", "pagefind-ui.css")  # once, in pagefind/ itself
MONTH_TOP_FILES = ("pagefind-entry.json", "pagefind.js", "pagefind-worker.js")
MONTH_FOLDERS = ("index", "fragment", "filter")
SIGNATURE = b"pagefind_dcd"  # starts every decompressed Pagefind data file
BODY_MARK = b"data-pagefind-body"
TAG_START = re.compile(rb"<([a-zA-Z][a-zA-Z0-9-]*)[^>]*$")
MARKED_TAG = re.compile(rb"<[^<>]*data-pagefind-[^<>]*>[^<]*")  # with its text: a filter
LANG = re.compile(rb"<html[^>]*>")
PLAIN_NAME = re.compile(r"[A-Za-z0-9._%-]+")  # a paper folder a glob can name as it is
MAX_ARGUMENT = 100_000  # Linux takes up to 128 KiB in one command-line argument

_warned = False


class SearchIndexError(RuntimeError):
    """Pagefind ran but failed: the message carries its output."""


class PagefindUnusable(OSError):
    """The binary is there but cannot run here (e.g. another platform's build)."""


class PaperPage(NamedTuple):
    """A paper page as search sees it: its listing month ("2026-04") and its bytes' hash."""

    month: str
    hash: str


def search_switched_off() -> bool:
    return os.environ.get(BINARY_ENV, "").strip().lower() in ("off", "0", "false", "no")


def pagefind_executable() -> Path | None:
    """The Pagefind binary: $SITE_BUILDER_PAGEFIND, else the one ``pagefind[bin]`` bundles."""
    override = os.environ.get(BINARY_ENV, "").strip()
    if search_switched_off():
        return None
    if override:
        path = Path(override)
        return path if path.is_file() else None
    try:
        from pagefind_bin import get_executable
    except ImportError:
        return None
    try:
        return get_executable()
    except (FileNotFoundError, OSError):
        return None


def warn_once(message: str) -> None:
    """Say why search is missing, once per process (``serve`` rebuilds many times)."""
    global _warned
    if not _warned:
        _warned = True
        print(f"warning: {message}", file=sys.stderr)


# the one call ---------------------------------------------------------------------------


def update(writer: SiteWriter, paper_pages: Mapping[str, PaperPage],
           previous: Mapping | None) -> dict:
    """Bring ``pagefind/`` of the writer's staging folder up to date with the paper pages and
    record its files in the writer's manifest; return the record the next build passes back.

    ``paper_pages`` maps each paper page's site path (``papers/<id>/index.html``) to its
    listing month and the hash of its bytes. A month whose files the manifest says were made
    from the same pages, and are still as they were made, is left alone, file for file.
    """
    site_dir = writer.staging
    folder = site_dir / urls.PAGEFIND
    binary = pagefind_executable()
    if binary is None:
        if not search_switched_off():  # asked for: nothing to warn about
            warn_once("the Pagefind binary is not available (pip install 'pagefind[bin]'), "
                      "so the site has no search index this time")
        return leave_out(folder)
    if not paper_pages:
        return leave_out(folder)  # nothing to index (and Pagefind refuses an empty index)
    trusted = isinstance(previous, Mapping) and previous.get("format") == FORMAT
    keys = index_keys(site_dir, paper_pages, (previous.get("pages") or {}) if trusted else {})
    months = pages_by_month(paper_pages, keys)
    made_from = {month: month_key(pages) for month, pages in months.items()}
    stale = sorted(set(months) - intact_months(writer, made_from))
    if months and not stale and not all(writer.trusted(urls.PAGEFIND + name)
                                        for name in UI_FILES):
        stale = [max(months)]  # the UI comes with an index: make the newest month again
    for entry in folder.iterdir() if folder.is_dir() else []:
        if entry.is_dir() and entry.name not in months:
            remove_tree(entry)  # a month that has no papers any more
    try:
        ui = index_months(binary, site_dir, {month: months[month] for month in stale})
    except PagefindUnusable as exc:
        warn_once(f"{exc}; the site has no search index")
        return leave_out(folder)
    remove_strays(folder)
    write_top_files(folder, sorted(months, reverse=True), ui)
    record_files(writer, made_from)
    return {"format": FORMAT, "pages": {path: [paper_pages[path][1], key]
                                        for path, key in sorted(keys.items())}}


def intact_months(writer: SiteWriter, made_from: Mapping[str, str]) -> set[str]:
    """The months whose index the manifest says was made from these pages, with every file
    as the last build left it (one whose stat changed is trusted if its bytes did not)."""
    recorded, staged = month_files(writer.previous), month_files(writer.staged)
    return {month for month, key in made_from.items()
            if recorded.get(month) and recorded[month] == staged.get(month)
            and all(writer.previous[path].made_from == key and writer.trusted(path)
                    for path in recorded[month])}


def month_files(files: Iterable[str]) -> dict[str, set[str]]:
    """The site paths under ``pagefind/<month>/``, by month."""
    grouped: dict[str, set[str]] = {}
    for path in files:
        if path.startswith(urls.PAGEFIND):
            month, slash, _name = path[len(urls.PAGEFIND):].partition("/")
            if slash:
                grouped.setdefault(month, set()).add(path)
    return grouped


def record_files(writer: SiteWriter, made_from: Mapping[str, str]) -> None:
    """Note every file of ``pagefind/`` in the writer's manifest with its bytes' hash, so the
    next build knows them even from a copy (a restored CI cache)."""
    root = writer.staging / urls.PAGEFIND
    for file, stat in (scan_output(root) if root.is_dir() else {}).items():
        path = urls.PAGEFIND + file
        entry = writer.trusted(path)
        if entry is None or entry.stat != stat:
            entry = Entry(made_from.get(file.partition("/")[0], "search"),
                          file_hash(root / file), stat)
        writer.record(path, entry, written=False)


def remove_strays(folder: Path) -> None:
    """Remove files of ``pagefind/`` itself that this module does not write (an index in
    an older layout, a write cut short)."""
    strays = [entry for entry in (folder.iterdir() if folder.is_dir() else [])
              if not entry.is_dir() and entry.name not in (LISTING, *UI_FILES)]
    for entry in strays:
        entry.unlink()


def leave_out(folder: Path) -> dict:
    """Search is off: no index folder, as a clean build without search."""
    remove_tree(folder)
    return {"format": FORMAT}


def index_keys(site_dir: Path, paper_pages: Mapping[str, PaperPage],
               known: Mapping[str, list]) -> dict[str, str]:
    """Each page's ``indexed_part`` hash; read again only from pages whose bytes changed
    (a new day changes the related papers of hundreds of pages, not what search sees)."""
    keys = {}
    for path, (_month, page_hash) in paper_pages.items():
        before = known.get(path)
        if isinstance(before, list) and len(before) == 2 and before[0] == page_hash:
            keys[path] = before[1]
        else:
            data = indexed_part((site_dir / path).read_bytes())
            keys[path] = hashlib.sha256(data).hexdigest()[:32]
    return keys


def indexed_part(page: bytes) -> bytes:
    """What Pagefind reads of a page, or a little more: the ``data-pagefind-body`` element,
    the ``<html>`` tag (the language), and every tag marked for Pagefind with its text.
    A page without a body element is indexed whole, so all of it counts."""
    mark = page.find(BODY_MARK)
    opening = page.rfind(b"<", 0, mark) if mark >= 0 else -1
    tag = TAG_START.match(page, opening, mark) if opening >= 0 else None
    if tag is None:
        return page
    end = element_end(page, opening, tag.group(1))
    html = LANG.search(page)
    rest = page[:opening] + page[end:]
    return b"\0".join([html.group(0) if html else b"", page[opening:end],
                       *MARKED_TAG.findall(rest)])


def element_end(page: bytes, start: int, name: bytes) -> int:
    """Where the element opened at ``start`` closes (same-name elements nest)."""
    pattern = re.compile(rb"<(/?)" + re.escape(name) + rb"[\s>/]", re.IGNORECASE)
    depth = 0
    for found in pattern.finditer(page, start):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            close = page.find(b">", found.end() - 1)
            return len(page) if close < 0 else close + 1
    return len(page)


def pages_by_month(paper_pages: Mapping[str, PaperPage],
                   keys: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """month -> {page: its index key}"""
    months: dict[str, dict[str, str]] = {}
    for path, (month, _page_hash) in paper_pages.items():
        months.setdefault(month, {})[path] = keys[path]
    return months


def month_key(pages: Mapping[str, str]) -> str:
    """What a month's index is made from: what search reads of its pages, and this
    module's format."""
    text = "\n".join(f"{path}={key}" for path, key in sorted(pages.items()))
    return hashlib.sha256(f"{FORMAT}\n{text}".encode()).hexdigest()


# running Pagefind -----------------------------------------------------------------------


def index_months(binary: Path, site_dir: Path, months: Mapping[str, Mapping[str, str]]
                 ) -> dict[str, bytes]:
    """Index each month afresh into ``pagefind/<month>/``; returns the UI files (the same
    for every month; they go to ``pagefind/`` once)."""
    if not months:
        return {}
    work = Path(tempfile.mkdtemp(prefix=".pagefind-", dir=site_dir.parent))
    try:
        # Pagefind uses every core, but little of them while it starts and writes
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(
                lambda month: index_month(binary, site_dir, work / month, month,
                                          months[month]), sorted(months)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results[-1]


def index_month(binary: Path, site_dir: Path, work: Path, month: str,
                pages: Mapping[str, str]) -> dict[str, bytes]:
    """Run Pagefind over one month's pages of the site and move its index into place."""
    output = work / "index"
    pattern = month_glob(pages)
    if pattern is not None:
        run_pagefind(binary, site_dir, pattern, output)
    else:  # names a glob cannot spell: the pages, hard-linked at the same site paths
        source = work / "site"
        for path in sorted(pages):
            link_or_copy(site_dir / path, source / path)
        run_pagefind(binary, source, f"{urls.PAPERS}**/*.html", output)
    canonical_filters(output)
    ui = trim_bundle(output)
    target = site_dir / urls.PAGEFIND / month
    remove_tree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(output, target)
    return ui


def month_glob(pages: Iterable[str]) -> str | None:
    """One glob naming exactly these pages (``papers/{a,b}/index.html``), or None when a
    name holds a glob character or the glob would be too long for one argument."""
    folders, prefix, suffix = [], urls.PAPERS, "/index.html"
    for path in sorted(pages):
        folder = path[len(prefix):-len(suffix)]
        if not (path.startswith(prefix) and path.endswith(suffix) and PLAIN_NAME.match(folder)):
            return None
        folders.append(folder)
    pattern = f"{prefix}{{{','.join(folders)}}}{suffix}"
    return pattern if len(pattern) < MAX_ARGUMENT else None


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def run_pagefind(binary: Path, source: Path, pattern: str, output: Path) -> None:
    try:
        result = subprocess.run([str(binary), "--site", str(source), "--glob", pattern,
                                 "--output-path", str(output), "--silent"],
                                capture_output=True, text=True, check=False, timeout=600,
                                preexec_fn=die_with_parent)
    except OSError as exc:  # not executable here, e.g. another platform's binary
        raise PagefindUnusable(f"could not run Pagefind ({binary}: {exc})") from exc
    if result.returncode != 0:
        output_text = (result.stderr or result.stdout).strip()
        raise SearchIndexError(f"Pagefind failed (exit {result.returncode}): {output_text}")


def trim_bundle(output: Path) -> dict[str, bytes]:
    """Keep what a month's index needs as the primary or a merged index: its entry, meta,
    chunks, the search library, its worker and the WebAssembly its languages use. Returns
    the UI files, taken out; the other UIs Pagefind writes are not used."""
    entry = json.loads((output / "pagefind-entry.json").read_text("utf-8"))
    languages = entry["languages"].values()
    keep = {*MONTH_TOP_FILES, *MONTH_FOLDERS,
            *(f"wasm.{language.get('wasm') or 'unknown'}.pagefind" for language in languages),
            *(f"pagefind.{language['hash']}.pf_meta" for language in languages)}
    ui = {name: (output / name).read_bytes() for name in UI_FILES}
    for path in output.iterdir():
        if path.name not in keep:
            remove_tree(path)
    return ui


def write_top_files(folder: Path, months_newest_first: list[str], ui: Mapping[str, bytes]
                    ) -> None:
    """``pagefind/`` itself: the month list and the UI (when a month was just indexed).
    Written only when their bytes change (by rename: the file may be a hard link shared
    with the live output), so an ordinary new day leaves them alone."""
    if not months_newest_first:
        return
    wanted = {LISTING: (json.dumps({"months": months_newest_first}, indent=1) + "\n").encode(),
              **ui}
    for name, data in wanted.items():
        path = folder / name
        if not path.is_file() or path.read_bytes() != data:
            temporary = path.with_name(f".{name}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)


# a deterministic index ------------------------------------------------------------------


def canonical_filters(output: Path) -> None:
    """Sort the values of every filter file and rename the filter and metadata files after
    their bytes, so the index depends only on the pages (see the module's note)."""
    names: dict[bytes, bytes] = {}  # old file name -> new, as the metadata spells them
    for path in sorted((output / "filter").glob("*.pf_filter")):
        data = sorted_filter(decompress(path.read_bytes()))
        new_name = renamed(path.stem, data)
        names[path.stem.encode()] = new_name.encode()
        path.unlink()
        (output / "filter" / f"{new_name}.pf_filter").write_bytes(compress(data))
    entry_path = output / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text("utf-8"))
    for language in entry["languages"].values():
        meta_path = output / f"pagefind.{language['hash']}.pf_meta"
        meta = decompress(meta_path.read_bytes())
        for old, new in names.items():
            meta = meta.replace(old, new)
        language["hash"] = renamed(language["hash"], meta)
        meta_path.unlink()
        (output / f"pagefind.{language['hash']}.pf_meta").write_bytes(compress(meta))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")),
                          "utf-8")


def renamed(name: str, data: bytes) -> str:
    """``en_1e42c4a`` -> the same language prefix and length, hex of the new bytes' hash."""
    prefix, _, old = name.rpartition("_")
    return f"{prefix}_{hashlib.sha256(data).hexdigest()[:len(old)]}"


def decompress(data: bytes) -> bytes:
    raw = gzip.decompress(data)
    if not raw.startswith(SIGNATURE):
        raise SearchIndexError("Pagefind wrote a data file this builder cannot read")
    return raw


def compress(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=9, mtime=0)


def sorted_filter(raw: bytes) -> bytes:
    """A filter file is CBOR ``[name, [[value, [page, ...]], ...]]`` after the signature;
    its values come in hash-map order. The same file with the values sorted."""
    try:
        name, values = cbor2.loads(raw[len(SIGNATURE):])
        values = sorted(values, key=lambda pair: pair[0])
    except (cbor2.CBORDecodeError, ValueError, TypeError, IndexError) as exc:
        raise SearchIndexError("Pagefind wrote a filter file of an unknown shape") from exc
    return SIGNATURE + cbor2.dumps([name, values])
