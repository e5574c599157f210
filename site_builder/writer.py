"""Atomic site writes: everything goes to a staging folder that replaces the output at the end.

A failed, interrupted or killed build leaves the previous output as it was; the next build
removes any staging folder a dead build left behind. The writer refuses paths outside the
output folder and two outputs that claim the same path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path, PurePosixPath

RENAME_EXCHANGE = 2
STAGING_MARK = ".staging-"
OLD_MARK = ".old-"


class UnsafePathError(ValueError):
    """An output path that would leave the output folder or is not a plain relative path."""


class DuplicateOutputError(ValueError):
    """Two outputs claim the same file."""


def check_relative_path(site_path: str) -> PurePosixPath:
    """Reject absolute paths, ``..``, NUL bytes and backslashes in an output path."""
    if not site_path or "\x00" in site_path or "\\" in site_path:
        raise UnsafePathError(f"unsafe output path {site_path!r}")
    pure = PurePosixPath(site_path)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in pure.parts):
        raise UnsafePathError(f"unsafe output path {site_path!r}")
    if any(part.startswith(".") and part not in (".nojekyll",) for part in pure.parts):
        raise UnsafePathError(f"hidden output path {site_path!r}")
    return pure


def staging_folder(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}{STAGING_MARK}{os.getpid()}"


def remove_leftovers(out_dir: Path) -> None:
    """Remove staging folders of builds that died; restore an output lost mid-swap."""
    parent = out_dir.parent
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        if entry.name.startswith(f".{out_dir.name}{STAGING_MARK}"):
            shutil.rmtree(entry, ignore_errors=True)
    for entry in sorted(parent.iterdir()):
        if entry.name.startswith(f".{out_dir.name}{OLD_MARK}"):
            if not out_dir.exists():
                entry.rename(out_dir)
            else:
                shutil.rmtree(entry, ignore_errors=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE)
    return result == 0


class SiteWriter:
    """Collects the files of one build in a staging folder, then swaps it in."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        remove_leftovers(out_dir)
        self.staging = staging_folder(out_dir)
        self.staging.mkdir(parents=True)
        self.claimed: dict[str, str] = {}
        self.bytes_written = 0

    def target(self, site_path: str, source: str) -> Path:
        """Claim a path for a source, refusing unsafe paths and duplicates."""
        pure = check_relative_path(site_path)
        key = str(pure).casefold()  # case-insensitive file systems would merge these
        if key in self.claimed:
            raise DuplicateOutputError(
                f"two outputs claim {site_path!r}: {self.claimed[key]} and {source}"
            )
        self.claimed[key] = source
        path = self.staging.joinpath(*pure.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, site_path: str, data: bytes | str, source: str = "") -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.target(site_path, source or site_path).write_bytes(data)
        self.bytes_written += len(data)

    def copy_tree(self, folder: Path, prefix: str) -> None:
        """Copy static assets (templates/static) under a site path prefix."""
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                rel = path.relative_to(folder).as_posix()
                shutil.copyfile(path, self.target(prefix + rel, str(path)))
                self.bytes_written += path.stat().st_size

    @property
    def files_written(self) -> int:
        return len(self.claimed)

    def commit(self) -> None:
        """Replace the output folder with the staging folder in one step."""
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"{self.out_dir} exists and is not a folder")
        if not self.out_dir.exists():
            self.staging.rename(self.out_dir)
            return
        if exchange(self.staging, self.out_dir):
            shutil.rmtree(self.staging)
            return
        old = self.out_dir.parent / f".{self.out_dir.name}{OLD_MARK}{os.getpid()}"
        self.out_dir.rename(old)
        self.staging.rename(self.out_dir)
        shutil.rmtree(old)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
