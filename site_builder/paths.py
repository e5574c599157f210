"""Path policy for everything a build writes: which site paths are safe, and which two paths
would be one file (a case-folding or Unicode-normalising disk)."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                          *(f"lpt{i}" for i in range(10))})
HIDDEN_ALLOWED = frozenset({".nojekyll", ".well-known"})
UNSAFE_CHARACTER_RE = re.compile(r"[\x00-\x1f\x7f\\:]")  # control characters, \ and :


class UnsafePathError(ValueError):
    """An output path that would leave the output folder or is not a plain relative path."""


class DuplicateOutputError(ValueError):
    """Two outputs claim the same file."""


def check_relative_path(site_path: str) -> str:
    """Reject absolute paths, ``..``, NUL bytes, backslashes, colons, control characters,
    hidden and reserved names (``con``, ``nul.txt``: Windows cannot create them).

    Returns the path, which is then already in its normal form (no empty parts, no ``.``).
    """
    if not site_path or UNSAFE_CHARACTER_RE.search(site_path):
        raise UnsafePathError(f"unsafe output path {site_path!r}")
    parts = site_path.split("/")  # an absolute path starts with an empty part
    if any(part in ("..", ".", "") for part in parts):
        raise UnsafePathError(f"unsafe output path {site_path!r}")
    for part in parts:
        if part.startswith(".") and part not in HIDDEN_ALLOWED:
            raise UnsafePathError(f"hidden output path {site_path!r}")
        if part.split(".", 1)[0].lower() in DEVICE_NAMES:
            raise UnsafePathError(f"reserved name {part!r} in output path {site_path!r}")
    return site_path


def path_key(site_path: str) -> str:
    """Two paths with one key would be one file on some file system (case, Unicode form)."""
    return unicodedata.normalize("NFC", site_path).casefold()


def parent_keys(key: str) -> list[str]:
    """``a/b/c.html`` -> ``["a/b", "a"]``: the folders a file needs."""
    parts = key.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


def site_path(relative: str, separator: str = os.sep) -> str:
    """A path relative to the output folder, as a site path (``/`` between parts)."""
    return relative.replace(separator, "/") if separator != "/" else relative


class Claims:
    """The site paths of one build, each claimed by one source: no unsafe path, no two
    outputs on one file, no file where another output needs a folder."""

    def __init__(self) -> None:
        self.claimed: dict[str, tuple[str, str]] = {}  # key -> (path, source)
        self.folders: dict[str, str] = {}  # key of every parent folder -> a file under it

    def claim(self, site_path: str, source: str) -> str:
        posix = check_relative_path(site_path)
        key = path_key(posix)
        if key in self.claimed:
            first_path, first_source = self.claimed[key]
            same = "" if first_path == site_path else f" (as {first_path!r})"
            raise DuplicateOutputError(
                f"two outputs claim {site_path!r}{same}: first {first_source}, then {source}")
        if key in self.folders:
            raise DuplicateOutputError(
                f"{site_path!r} ({source}) would be a file, but {self.folders[key]!r} needs "
                "a folder there")
        parents = parent_keys(key)
        for parent in parents:
            if parent in self.claimed:
                raise DuplicateOutputError(
                    f"{site_path!r} ({source}) needs a folder where "
                    f"{self.claimed[parent][0]!r} ({self.claimed[parent][1]}) is a file")
        for parent in parents:
            self.folders.setdefault(parent, site_path)
        self.claimed[key] = (site_path, source)
        return posix

    def twin(self, site_path: str) -> str | None:
        """The claimed path that is the same file as ``site_path`` on a case-folding disk."""
        found = self.claimed.get(path_key(site_path))
        return found[0] if found else None


def remove_tree(path: Path) -> None:
    """Remove a file, a link or a folder with everything in it; nothing if it is not there."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)
