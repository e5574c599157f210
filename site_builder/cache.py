"""Where a build's memory lives and what it scans: ``.site-builder-cache/`` beside the output.

The store (``store.py``) is ``<output name>.store.sqlite`` there, and the output before the
last one (the spare, see ``writer.py``) is ``<output name>.spare``. Inputs are known by paths
relative to their folder, never absolute, so a cache restored on another machine (a CI
cache) at another path is used as it is.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from site_builder.content import Paper
from site_builder.paths import site_path
from site_builder.store import Store, from_data, to_data

CACHE_DIR_NAME = ".site-builder-cache"
Stat = tuple[int, int, int]  # mtime_ns, size, inode


def cache_folder(out_dir: Path) -> Path:
    return out_dir.resolve().parent / CACHE_DIR_NAME


def store_file(out_dir: Path) -> Path:
    return cache_folder(out_dir) / f"{out_dir.resolve().name}.store.sqlite"


def spare_folder(out_dir: Path) -> Path:
    """Where the output replaced by the last build is kept (see writer.SiteWriter)."""
    return cache_folder(out_dir) / f"{out_dir.resolve().name}.spare"


def file_stats(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every file under a folder; links are not followed into folders."""
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:  # unreadable: it still counts (the build then names it)
            if current != str(folder):
                yield from lstat(current)
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                continue
            try:
                yield entry.path, entry.stat()
            except OSError:  # a broken link or a loop counts too (the build reports it)
                yield from lstat(entry.path)


def lstat(path: str) -> Iterator[tuple[str, os.stat_result]]:
    try:
        yield path, os.lstat(path)
    except OSError:
        pass


def scan_inputs(folders: dict[str, Path]) -> dict[str, list[int]]:
    """[mtime_ns, size] of every file under the given folders, by ``name/relative path``."""
    found = {}
    for name, folder in folders.items():
        prefix = len(str(folder)) + 1
        for path, stat in file_stats(folder):
            found[f"{name}/{site_path(path[prefix:])}"] = [stat.st_mtime_ns, stat.st_size]
    return found


def scan_output(out_dir: Path) -> dict[str, Stat]:
    """(mtime_ns, size, inode) of every file of a built site, by site path.

    The inode tells a file of the last build from another file with the same size and time
    (the spare output a build starts from holds older files under the same names).
    """
    prefix = len(str(out_dir)) + 1
    return {site_path(path[prefix:]): (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            for path, stat in file_stats(out_dir)}


def content_hash(data: bytes) -> str:
    """The one hash of output and input bytes (the manifest's and the store's)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_hash(path: Path) -> str:
    return content_hash(path.read_bytes())


def known_file_hash(store: Store, name: str, path: Path) -> str:
    """The hash of a file's bytes, read again only when its size or time changed."""
    stat = path.stat()
    return store.memo("file", (name, str(stat.st_mtime_ns), str(stat.st_size)),
                      lambda: file_hash(path))


class PaperMemo:
    """Papers parsed by earlier builds, known by their file's path in the content folder,
    listing day and bytes; kept as data (``store.to_data``) in the build's store."""

    def __init__(self, store: Store, content_dir: Path):
        self.store = store
        self.prefix = len(str(content_dir)) + 1

    def inputs(self, path: Path, day: object) -> tuple[str, ...]:
        name = "content/" + site_path(str(path)[self.prefix:])
        return (name, str(day), known_file_hash(self.store, name, path))

    def __call__(self, path: Path, day: object, parse: Callable[[], Paper | None]
                 ) -> Paper | None:
        parsed: list[Paper] = []

        def parse_now() -> object:
            paper = parse()
            if paper is None:
                return None  # not remembered: its problems are reported every build
            parsed.append(paper)
            return to_data(paper)

        data = self.store.memo("paper", self.inputs(path, day), parse_now)
        if parsed or data is None:
            return parsed[0] if parsed else None
        paper = from_data(Paper, data)
        paper.source = str(path)  # the path here, wherever the store was made
        return paper

    def offer(self, path: Path, day: object, paper: Paper) -> None:
        """A paper parsed ahead of the loader (in a worker) from the file as it is now."""
        self.store.write("paper", self.inputs(path, day), to_data(paper))
