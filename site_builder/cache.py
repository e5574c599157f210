"""The persistent build cache, ``.site-builder-cache/`` beside the output folder.

It remembers, for one output folder, what the last successful build read and wrote: the
stat signature of every input file, the papers parsed from each content file, rendered
Markdown, and the fingerprint and hash of every output file. It is only an accelerator:
it is keyed by the builder's version and source, a corrupt or foreign cache is discarded
with a warning, and ``--clean`` ignores it.
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR_NAME = ".site-builder-cache"
FORMAT = 4


@dataclass
class BuildState:
    """What the last build of one output folder was made from and wrote."""

    builder: str = ""
    options: str = ""  # base URL, folders: anything that changes every output
    inputs: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (mtime_ns, size)
    papers: dict[str, tuple[int, int, Any]] = field(default_factory=dict)  # path -> stat, Paper
    markup: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # text key -> html
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # text -> matched topics
    pages: dict[str, str] = field(default_factory=dict)  # output file -> page fingerprint
    files: dict[str, str] = field(default_factory=dict)  # output file -> hash of its bytes
    extras: dict[str, str] = field(default_factory=dict)  # e.g. the search index's input
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # source -> references
    output: dict[str, tuple[int, ...]] = field(default_factory=dict)  # file -> stat as written
    changes: Any = None  # writer.Changes: what the last build changed in the output
    feeds: dict[str, str] = field(default_factory=dict)  # feed file -> what it was made from


def cache_folder(out_dir: Path) -> Path:
    return out_dir.resolve().parent / CACHE_DIR_NAME


def state_file(out_dir: Path) -> Path:
    return cache_folder(out_dir) / f"{out_dir.resolve().name}.state.pickle"


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_state(out_dir: Path, builder: str, options: str) -> BuildState:
    """The previous build's state, or an empty one (no cache, other builder, corrupt)."""
    path = state_file(out_dir)
    if not path.is_file():
        return BuildState(builder, options)
    try:
        with path.open("rb") as handle:
            fmt, state = pickle.load(handle)  # noqa: S301 - our own file beside the output
        if fmt != FORMAT or not isinstance(state, BuildState):
            raise ValueError("unknown cache format")
    except Exception as exc:  # any damage: start afresh, never fail the build
        warn(f"the build cache {path} is unreadable ({type(exc).__name__}); rebuilding fully")
        return BuildState(builder, options)
    if state.builder != builder or state.options != options:
        return BuildState(builder, options)
    return state


def save_state(out_dir: Path, state: BuildState) -> None:
    """Write the state atomically (a killed build leaves the previous state or none)."""
    write_pickle(state_file(out_dir), (FORMAT, state))


def write_pickle(path: Path, value: Any) -> None:
    """Pickle ``value`` into ``path`` atomically (a killed build leaves the old file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def forget_state(out_dir: Path) -> None:
    state_file(out_dir).unlink(missing_ok=True)


def cards_file(out_dir: Path) -> Path:
    return cache_folder(out_dir) / f"{out_dir.resolve().name}.cards.pickle"


def load_cards(out_dir: Path, salt: str) -> dict[Any, Any]:
    """The paper cards the last build kept, if they were made with this ``salt``."""
    try:
        with cards_file(out_dir).open("rb") as handle:
            fmt, stored_salt, cards = pickle.load(handle)  # noqa: S301 - our own file
    except FileNotFoundError:
        return {}
    except Exception as exc:  # any damage: render the cards again
        warn(f"the card cache {cards_file(out_dir)} is unreadable ({type(exc).__name__}); "
             "rendering cards afresh")
        return {}
    if fmt != FORMAT or stored_salt != salt or not isinstance(cards, dict):
        return {}
    return cards


def save_cards(out_dir: Path, salt: str, cards: dict[Any, Any]) -> None:
    write_pickle(cards_file(out_dir), (FORMAT, salt, cards))


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


def scan_inputs(*folders: Path) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of every file under the given folders, by path."""
    return {path: (stat.st_mtime_ns, stat.st_size)
            for folder in folders for path, stat in file_stats(folder)}


class PaperMemo:
    """Papers parsed by earlier builds, handed back while their file is unchanged."""

    def __init__(self, stats: dict[str, tuple[int, int]],
                 previous: dict[str, tuple[int, int, Any]]):
        self.stats = stats
        self.previous = previous
        self.current: dict[str, tuple[int, int, Any]] = {}

    def reuse(self, path: Path, day: Any) -> Any:
        key = str(path)
        stat = self.stats.get(key)
        known = self.previous.get(key)
        if stat is None or known is None or known[:2] != stat or known[2].day != day:
            return None
        self.current[key] = known
        return copy.copy(known[2])

    def offer(self, path: str, paper: Any) -> None:
        """A paper parsed ahead of the loader (in a worker) from the file as it is now."""
        stat = self.stats.get(path)
        if stat is not None:
            self.previous[path] = (*stat, paper)

    def remember(self, path: Path, paper: Any) -> None:
        key = str(path)
        stat = self.stats.get(key)
        if stat is not None:
            self.current[key] = (*stat, copy.copy(paper))


def scan_output(out_dir: Path) -> dict[str, tuple[int, ...]]:
    """(mtime_ns, size, inode) of every file of a built site, by site path.

    The inode tells a file of the last build from another file with the same size and time
    (the spare output a build starts from holds older files under the same names).
    """
    prefix = len(str(out_dir)) + 1
    return {site_path(path[prefix:]): (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            for path, stat in file_stats(out_dir)}


def site_path(relative: str, separator: str = os.sep) -> str:
    """A path relative to the output folder, as a site path (``/`` between parts)."""
    return relative.replace(separator, "/") if separator != "/" else relative


def spare_folder(out_dir: Path) -> Path:
    """Where the output replaced by the last build is kept (see writer.SiteWriter)."""
    return cache_folder(out_dir) / f"{out_dir.resolve().name}.spare"


def trusted_files(state: BuildState, current: dict[str, tuple[int, ...]]) -> dict[str, str]:
    """The previous build's output hashes, for files nobody changed since (stat as written)."""
    return {file: digest for file, digest in state.files.items()
            if file in current and current[file] == state.output.get(file)}
