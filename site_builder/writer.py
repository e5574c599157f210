"""Atomic site writes: everything goes to a staging folder that replaces the output at the end.

A failed, interrupted or killed build leaves the previous output as it was; the next build
removes any staging folder a dead build left behind. Builds of one output folder take turns
(a lock on the folder that holds it). The writer refuses paths outside the output folder,
two outputs that claim the same path, and output folders that are plainly not a built site
(the content folder, a git checkout, the current folder).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from site_builder.cache import scan_output
from site_builder.errors import ContentError, problem
from site_builder.workers import die_with_parent

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds of one folder must not overlap
    fcntl = None  # type: ignore[assignment]

RENAME_EXCHANGE = 2
STAGING_MARK = ".staging-"
OLD_MARK = ".old-"
TRASH_FOLDER = ".site-builder-trash"  # previous outputs being deleted in the background
DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                          *(f"lpt{i}" for i in range(10))})
HIDDEN_ALLOWED = frozenset({".nojekyll", ".well-known"})
UNSAFE_CHARACTER_RE = re.compile(r"[\x00-\x1f\x7f\\:]")  # control characters, \ and :
# what an output folder must never be: replacing it would destroy work
NOT_AN_OUTPUT = {
    ".git": "a git checkout",
    "site.yaml": "a content folder",
    "days": "a content folder",
    "base.html": "a templates folder",
    "pyproject.toml": "a project folder",
    "setup.py": "a project folder",
}


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


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def replace_file(path: Path, data: bytes) -> None:
    """Write a new file: never through a hard link shared with the previous output."""
    try:
        try:
            path.unlink()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:  # a full disk says no file name: name the file being written
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def parent_keys(key: str) -> list[str]:
    """``a/b/c.html`` -> ``["a/b", "a"]``: the folders a file needs."""
    parts = key.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


def staging_folder(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}{STAGING_MARK}{os.getpid()}"


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output folder whose replacement would destroy something that is not a site."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ContentError([problem(out_dir, "the output folder exists and is not a folder; "
                                    "choose another --out")])
    resolved = out_dir.resolve()
    cwd = Path.cwd().resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise ContentError([problem(out_dir, "refusing to replace this folder with the site; "
                                    "choose a new or empty --out folder")])
    if cwd == resolved or resolved in cwd.parents:
        raise ContentError([problem(out_dir, "the output folder contains the current folder; "
                                    "choose a new or empty --out folder such as 'output'")])
    if out_dir.is_dir():
        for name, what in NOT_AN_OUTPUT.items():
            if (out_dir / name).exists():
                raise ContentError([problem(
                    out_dir, f"refusing to replace this folder: it holds '{name}', so it looks "
                    f"like {what}, not a built site; choose a new or empty --out folder")])


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM for a few system calls, so a swap is never left half done."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no POSIX signals
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def lock_parent(out_dir: Path) -> int | None:
    """Take an exclusive lock on the folder that holds the output (released when the process
    ends, even when killed); a second build of the same output waits for the first."""
    if fcntl is None:  # pragma: no cover
        return None
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # pragma: no cover - a file system without locks
        os.close(fd)
        return None
    return fd


def unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(out_dir: Path) -> None:
    """Remove staging folders of builds that died; restore an output lost mid-swap.

    Called with the lock held, so no other build is using a staging folder of this output.
    """
    parent = out_dir.parent
    if not parent.is_dir():
        return
    trash = trash_folder(out_dir)
    if trash.is_dir():
        for entry in sorted(trash.iterdir()):
            if entry.name.startswith(f"{out_dir.name}-"):
                delete_in_background(entry)
    for entry in sorted(parent.iterdir()):
        if entry.name.startswith(f".{out_dir.name}{STAGING_MARK}"):
            remove_until_gone(entry)
    for entry in sorted(parent.iterdir()):
        if entry.name.startswith(f".{out_dir.name}{OLD_MARK}"):
            if not out_dir.exists() and not out_dir.is_symlink():
                entry.rename(out_dir)
            else:
                remove_tree(entry)


def remove_until_gone(path: Path, attempts: int = 40) -> None:
    """Remove a dead build's staging folder; a helper of that build may still be finishing a
    write into it for a moment, so try again briefly until it is gone."""
    for _attempt in range(attempts):
        remove_tree(path)
        if not path.exists():
            return
        time.sleep(0.05)


def trash_folder(out_dir: Path) -> Path:
    return out_dir.parent / TRASH_FOLDER


def discard_later(folder: Path, out_dir: Path) -> None:
    """Delete a previous output in the background: the new one is already in place, and a
    big site takes a while to delete. Whatever is left is removed by the next build."""
    trash = trash_folder(out_dir)
    try:
        trash.mkdir(exist_ok=True)
        doomed = trash / f"{out_dir.name}-{os.getpid()}-{time.time_ns()}"
        folder.rename(doomed)
    except OSError:
        remove_tree(folder)
        return
    delete_in_background(doomed)


def delete_in_background(folder: Path) -> None:
    try:
        subprocess.Popen(["rm", "-rf", "--", str(folder)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError:
        remove_tree(folder)


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


@dataclass
class Changes:
    """What one build changed in the output; the next build replays it onto the output
    before (the spare) to get its starting point without linking every file again."""

    written: list[str] = field(default_factory=list)  # files written (new bytes)
    removed: list[str] = field(default_factory=list)  # files deleted
    replaced: list[str] = field(default_factory=list)  # folders made afresh by a tool (search)


def link_tree(source: Path, target: Path) -> bool:
    """Fill ``target`` with hard links to every file under ``source`` (no data copied)."""
    try:
        subprocess.run(["cp", "-al", f"{source}/.", str(target)], check=True,
                       capture_output=True, timeout=600, preexec_fn=die_with_parent)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def remove_file(root: Path, file: str) -> None:
    """Delete ``root/file`` and the folders it leaves empty (up to ``root``)."""
    path = root / file
    path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == root:
            break
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): the folders above are not empty either
            break


class SiteWriter:
    """Collects the files of one build in a staging folder, then swaps it in.

    The staging folder starts as the previous output (``seed``), made of hard links.  With a
    ``spare`` folder, the output replaced by a commit is kept there, and the next build
    starts from it: it replays the changes of the build after it (a few hundred links for a
    new day) instead of linking every file of the site again.
    ``commit()`` or ``abort()`` must end every writer: both release the lock.
    """

    def __init__(self, out_dir: Path, spare: Path | None = None, lock: int | None = None):
        check_output_folder(out_dir)
        if out_dir.is_symlink():  # replace the folder the link points to, keep the link
            out_dir = out_dir.resolve()
        self.out_dir = out_dir
        self.spare = spare
        self.changes = Changes()
        self._owns_lock = lock is None  # else the caller holds it, and releases it
        self._lock = lock_parent(out_dir) if lock is None else lock
        self.staging = staging_folder(out_dir)
        try:
            remove_leftovers(out_dir)
            remove_tree(self.staging)
            self.staging.mkdir(parents=True)
        except BaseException:
            remove_tree(self.staging)
            self._unlock()
            raise
        self.claimed: dict[str, tuple[str, str]] = {}  # key -> (path, source)
        self.folders: dict[str, str] = {}  # key of every parent folder -> a file under it
        self.previous: dict[str, str] = {}  # file -> hash, for staged files as last built
        self.files: dict[str, str] = {}  # file -> hash of what this build made
        self.written_stats: dict[str, tuple[int, ...]] = {}  # file -> stat, as written
        self.written = 0
        self.bytes_written = 0

    def claim(self, site_path: str, source: str) -> Path:
        """Claim a path for a source, refusing unsafe paths and duplicates; no file system
        work (the folder is made when the file is written)."""
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
        return self.staging / posix

    def seed(self, changes: Changes | None) -> bool:
        """Start the staging folder as the previous output, in hard links; False if there is
        none.  From the spare and the changes since when both are there (see the class)."""
        if not self.out_dir.is_dir():
            return False
        spare = self.spare
        if spare is not None and spare.is_dir():
            if changes is not None and self._seed_from_spare(spare, changes):
                return True
            discard_later(spare, self.out_dir)  # of no use: not the output before
        if link_tree(self.out_dir, self.staging):
            return True
        self._empty_staging()
        return False

    def _seed_from_spare(self, spare: Path, changes: Changes) -> bool:
        try:
            self.staging.rmdir()
            spare.rename(self.staging)
            for file in changes.removed:
                remove_file(self.staging, file)
            for folder in changes.replaced:
                remove_tree(self.staging / folder)
                if (self.out_dir / folder).is_dir():
                    (self.staging / folder).mkdir(parents=True)
                    if not link_tree(self.out_dir / folder, self.staging / folder):
                        raise OSError(f"could not link {folder}")
            for file in changes.written:
                target = self.staging / file
                if target.is_dir() and not target.is_symlink():
                    remove_tree(target)
                else:
                    target.unlink(missing_ok=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(self.out_dir / file, target, follow_symlinks=False)
        except OSError:
            self._empty_staging()
            return False
        return True

    def _empty_staging(self) -> None:
        """An empty staging folder; what it held is deleted in the background."""
        if self.staging.exists():
            discard_later(self.staging, self.out_dir)
        self.staging.mkdir(parents=True)

    def record(self, file: str, digest: str, size: int, written: bool) -> None:
        """Note a file of this build (written now, or kept from the previous output)."""
        self.files[file] = digest
        if written:
            self.written += 1
            self.bytes_written += size
            self.changes.written.append(file)
            stat = os.stat(self.staging / file)
            self.written_stats[file] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def output_stats(self, staged: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        """(mtime_ns, size, inode) of every file of the staging folder, without scanning it
        again: ``staged`` (its scan before this build) less what the build removed or
        replaced, with the files it wrote and the folders a tool made afresh."""
        removed, replaced = set(self.changes.removed), tuple(self.changes.replaced)
        stats = {file: stat for file, stat in staged.items()
                 if file not in removed and not (replaced and file.startswith(replaced))}
        stats.update(self.written_stats)
        for folder in self.changes.replaced:
            stats.update((f"{folder.rstrip('/')}/{file}", stat)
                         for file, stat in scan_output(self.staging / folder).items())
        return stats

    def replace_folder(self, folder: str) -> Path:
        """Empty a folder of the staging site for a tool to fill (the search index)."""
        remove_tree(self.staging / folder)
        self.changes.replaced.append(folder)
        return self.staging / folder

    def keep(self, site_path: str, source: str) -> bool:
        """Keep the file as the last build wrote it, if the staging folder holds it so."""
        digest = self.previous.get(site_path)
        if digest is None:
            return False
        self.claim(site_path, source)
        self.record(site_path, digest, 0, False)
        return True

    def write(self, site_path: str, data: bytes | str, source: str = "") -> None:
        """Write a file, unless the staging folder already holds these bytes."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        path = self.claim(site_path, source or site_path)
        digest = content_hash(data)
        unchanged = self.previous.get(site_path) == digest and path.is_file()
        if not unchanged:
            replace_file(path, data)
        self.record(site_path, digest, len(data), not unchanged)

    def copy_tree(self, folders: Sequence[Path], prefix: str) -> None:
        """Copy static assets under a site path prefix; a file in a later folder replaces the
        one of the same name in an earlier folder (a site's own ``static/`` over the theme's)."""
        chosen: dict[str, Path] = {}
        for folder in folders:
            if not folder.is_dir():
                continue
            root = folder.resolve()
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    if not path.resolve().is_relative_to(root):
                        raise UnsafePathError(f"{path} is a symbolic link out of {folder}; "
                                              "copy the file in instead")
                    chosen[path.relative_to(folder).as_posix()] = path
        for rel, path in sorted(chosen.items()):
            self.write(prefix + rel, path.read_bytes(), str(path))

    def remove_stale(self, staged: set[str]) -> None:
        """Delete staged files (and emptied folders) that this build does not make.

        On a case-folding disk (macOS, Windows) a page renamed only in case (``GPT4o`` ->
        ``gpt4o``) was written over the old name's file, which is then not stale.
        """
        for file in sorted(staged - set(self.files)):
            twin = self.claimed.get(path_key(file))
            if twin is not None and self._same_file(file, twin[0]):
                continue
            remove_file(self.staging, file)
            self.changes.removed.append(file)

    def _same_file(self, first: str, second: str) -> bool:
        try:
            return os.path.samefile(self.staging / first, self.staging / second)
        except OSError:
            return False

    @property
    def files_written(self) -> int:
        return len(self.claimed)

    def commit(self) -> None:
        """Replace the output folder with the staging folder in one step."""
        try:
            with signals_held():
                previous = self._swap()
            if previous is not None:  # a Ctrl-C now leaves it for the next build to remove
                self._retire(previous)
        finally:
            self._unlock()

    def _swap(self) -> Path | None:
        """Put the staging folder in place; returns where the previous output now is."""
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"{self.out_dir} exists and is not a folder")
        if not self.out_dir.exists():
            self.staging.rename(self.out_dir)
            return None
        if exchange(self.staging, self.out_dir):
            return self.staging  # it now holds the previous output
        old = self.out_dir.parent / f".{self.out_dir.name}{OLD_MARK}{os.getpid()}"
        self.out_dir.rename(old)
        try:
            self.staging.rename(self.out_dir)
        except BaseException:
            old.rename(self.out_dir)
            raise
        return old

    def _retire(self, previous: Path) -> None:
        """The replaced output becomes the spare for the next build, or is deleted."""
        if self.spare is not None:
            try:
                if self.spare.exists() or self.spare.is_symlink():
                    discard_later(self.spare, self.out_dir)
                self.spare.parent.mkdir(parents=True, exist_ok=True)
                previous.rename(self.spare)
                return
            except OSError:
                pass
        discard_later(previous, self.out_dir)

    def _unlock(self) -> None:
        if self._owns_lock:
            unlock(self._lock)
        self._lock = None

    def abort(self) -> None:
        """Remove the staging folder. A helper that was interrupted with us (Pagefind, a render
        worker) may still be finishing a write, so try again briefly until it is gone."""
        try:
            for _attempt in range(40):
                remove_tree(self.staging)
                if not self.staging.exists():
                    break
                time.sleep(0.05)
        finally:
            self._unlock()
