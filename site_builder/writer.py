"""Atomic site writes through one output manifest.

Every output file of a build is an ``Entry`` of the manifest: what it is made from, the hash
of its bytes, its stat as written, and (for pages) the templates it was rendered with. The
staging folder starts as the previous output in hard links; an output whose ``made_from``
and file are as the manifest says is kept, any other is made, and written only when its
bytes changed. ``sync()`` then swaps the staging folder in, in one step: a failed,
interrupted or killed build leaves the previous output as it was, and the next build
removes what a dead build left behind. Builds of one output take turns (a lock on the
folder that holds it). Paths are checked by ``paths.Claims``; output folders that are
plainly not a built site (the content folder, a git checkout) are refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from site_builder.cache import Stat, content_hash, file_hash, scan_output
from site_builder.errors import ContentError, problem
from site_builder.paths import Claims, UnsafePathError, remove_tree
from site_builder.workers import signals_held

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds of one folder must not overlap
    fcntl = None  # type: ignore[assignment]

STAGING_MARK = ".staging-"
OLD_MARK = ".old-"
# what an output folder must never be: replacing it would destroy work
NOT_AN_OUTPUT = {
    ".git": "a git checkout",
    "site.yaml": "a content folder",
    "days": "a content folder",
    "base.html": "a templates folder",
    "pyproject.toml": "a project folder",
    "setup.py": "a project folder",
}


@dataclass(frozen=True)
class Entry:
    """One output file as a build made it."""

    made_from: str  # everything its bytes depend on ("" : made every build)
    hash: str  # of its bytes
    stat: Stat
    served: tuple[str, ...] = ()  # the templates it was rendered with (pages)


Manifest = dict[str, Entry]


def manifest_to_data(manifest: Manifest) -> dict:
    """The manifest as JSON data; the few distinct template lists are stored once."""
    lists: dict[tuple[str, ...], int] = {}
    files = {path: [e.made_from, e.hash, list(e.stat), lists.setdefault(e.served, len(lists))]
             for path, e in manifest.items()}
    return {"files": files, "served": [list(served) for served in lists]}


def manifest_from_data(data: dict | None) -> Manifest:
    if not data:
        return {}
    lists = [tuple(served) for served in data["served"]]
    return {path: Entry(made_from, digest, tuple(stat), lists[served])
            for path, (made_from, digest, stat, served) in data["files"].items()}


def stat_of(path: Path) -> Stat:
    stat = os.stat(path)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def replace_file(path: Path, data: bytes) -> Stat:
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
    return stat_of(path)


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


def remove_leftovers(out_dir: Path) -> None:
    """Remove staging folders of builds that died; restore an output lost mid-swap.

    Called with the lock held, so no other build is using a staging folder of this output.
    """
    parent = out_dir.parent
    if not parent.is_dir():
        return
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


def link_tree(source: Path, target: Path) -> bool:
    """Fill ``target`` with hard links to every file under ``source`` (no data copied)."""
    try:
        for folder, dirs, files in os.walk(source):
            relative = os.path.relpath(folder, source)
            into = target if relative == "." else target / relative
            for name in dirs:
                (into / name).mkdir(exist_ok=True)
            for name in files:
                os.link(os.path.join(folder, name), into / name, follow_symlinks=False)
        return True
    except OSError:
        return False


def remove_file(root: Path, file: str) -> None:
    """Delete ``root/file`` and the folders it leaves empty (up to ``root``)."""
    path = root / file
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)
    else:
        path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == root:
            break
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): the folders above are not empty either
            break


def mirror(staging: Path, out_dir: Path, wanted: dict[str, Stat]) -> None:
    """Make ``staging`` (an older output) hold exactly the files of ``out_dir`` (scanned as
    ``wanted``) in hard links: only the files that differ are touched."""
    found = scan_output(staging)
    for file in sorted(set(found) - set(wanted)):
        remove_file(staging, file)
    for file, stat in wanted.items():
        if found.get(file) != stat:
            target = staging / file
            if target.is_dir():
                remove_file(staging, file)
            target.unlink(missing_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(out_dir / file, target, follow_symlinks=False)


class SiteWriter:
    """Collects the files of one build in a staging folder, then swaps it in (``sync``).

    ``previous`` is the manifest of the last build. With a ``spare`` folder, the output a
    sync replaces is kept there, and the next build starts from it (``seed``): a few
    hundred links for a new day, instead of linking every file of the site again.
    ``sync()`` or ``abort()`` must end every writer: both release the lock.
    """

    def __init__(self, out_dir: Path, previous: Manifest | None = None,
                 spare: Path | None = None, lock: int | None = None):
        check_output_folder(out_dir)
        if out_dir.is_symlink():  # replace the folder the link points to, keep the link
            out_dir = out_dir.resolve()
        self.out_dir = out_dir
        self.previous = previous or {}
        self.spare = spare
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
        self.claims = Claims()
        self.staged: dict[str, Stat] = {}  # the staging folder's files as seeded
        self.manifest: Manifest = {}  # this build's outputs
        self.written = 0
        self.bytes_written = 0

    def seed(self, output: dict[str, Stat] | None) -> None:
        """Start the staging folder as the previous output (scanned as ``output``), in hard
        links: from the spare when there is one, else by linking every file.  Without
        ``output`` (a clean build) the spare is still the start: every file is written
        anew, and what the build does not make is removed, which costs less than deleting
        the spare as a whole."""
        if self._from_spare(output):
            return
        if output and link_tree(self.out_dir, self.staging):
            self.staged = output
        else:
            remove_tree(self.staging)
            self.staging.mkdir(parents=True)

    def _from_spare(self, output: dict[str, Stat] | None) -> bool:
        if self.spare is None or not self.spare.is_dir():
            return False
        try:
            self.staging.rmdir()
            self.spare.rename(self.staging)
            if output is None:
                self.staged = scan_output(self.staging)
            else:
                mirror(self.staging, self.out_dir, output)
                self.staged = output
            return True
        except OSError:
            remove_tree(self.staging)
            self.staging.mkdir(parents=True)
            return False

    def claim(self, site_path: str, source: str) -> Path:
        """Claim a path for a source (see ``paths.Claims``); no file system work."""
        return self.staging / self.claims.claim(site_path, source)

    def trusted(self, site_path: str) -> Entry | None:
        """The previous build's entry for a file the staging folder holds as it was made;
        a file whose stat changed (a restored cache) is trusted when its bytes did not."""
        entry = self.previous.get(site_path)
        stat = self.staged.get(site_path)
        if entry is None or stat is None:
            return None
        if stat != entry.stat:
            path = self.staging / site_path
            if not path.is_file() or file_hash(path) != entry.hash:
                return None
        return Entry(entry.made_from, entry.hash, stat, entry.served)

    def keep(self, site_path: str, made_from: str) -> bool:
        """Keep the file as the last build made it, if it was made from the same things."""
        entry = self.trusted(site_path) if made_from else None
        if entry is None or entry.made_from != made_from:
            return False
        self.manifest[site_path] = entry
        return True

    def unchanged(self, site_path: str, digest: str) -> Entry | None:
        """The staged file's entry when it already holds bytes of this hash."""
        entry = self.trusted(site_path)
        return entry if entry is not None and entry.hash == digest else None

    def record(self, site_path: str, entry: Entry, written: bool) -> None:
        """Note a file of this build (written now, or kept as the staging folder holds it)."""
        self.manifest[site_path] = entry
        if written:
            self.written += 1
            self.bytes_written += entry.stat[1]

    def write(self, site_path: str, data: bytes | str, source: str = "",
              made_from: str = "") -> None:
        """Claim a path and write its file, unless the staging folder holds these bytes."""
        self.claim(site_path, source or site_path)
        self.write_claimed(site_path, data.encode("utf-8") if isinstance(data, str) else data,
                           made_from)

    def copy_tree(self, folders: Sequence[Path], prefix: str,
                  hash_of: Callable[[str, Path], str] = lambda _name, path: file_hash(path),
                  ) -> None:
        """Copy static assets under a site path prefix; a file in a later folder replaces the
        one of the same name in an earlier folder (a site's own ``static/`` over the theme's).
        ``hash_of(name, path)`` gives a source file's hash: an unchanged asset is not read."""
        chosen: dict[str, tuple[str, Path]] = {}
        for number, folder in enumerate(folders):
            if not folder.is_dir():
                continue
            root = folder.resolve()
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    if not path.resolve().is_relative_to(root):
                        raise UnsafePathError(f"{path} is a symbolic link out of {folder}; "
                                              "copy the file in instead")
                    rel = path.relative_to(folder).as_posix()
                    chosen[rel] = (f"{number}/{rel}", path)
        for rel, (name, path) in sorted(chosen.items()):
            made_from = f"static:{hash_of(name, path)}"
            self.claim(prefix + rel, str(path))
            if not self.keep(prefix + rel, made_from):
                self.write_claimed(prefix + rel, path.read_bytes(), made_from)

    def write_claimed(self, site_path: str, data: bytes, made_from: str) -> None:
        digest = content_hash(data)
        same = self.unchanged(site_path, digest)
        stat = same.stat if same else replace_file(self.staging / site_path, data)
        self.record(site_path, Entry(made_from, digest, stat), same is None)

    def remove_stale(self, staged: set[str]) -> None:
        """Delete staged files (and emptied folders) that this build does not make.

        On a case-folding disk (macOS, Windows) a page renamed only in case (``GPT4o`` ->
        ``gpt4o``) was written over the old name's file, which is then not stale.
        """
        for file in sorted(staged - set(self.manifest)):
            twin = self.claims.twin(file)
            if twin is not None and self._same_file(file, twin):
                continue
            remove_file(self.staging, file)

    def _same_file(self, first: str, second: str) -> bool:
        try:
            return os.path.samefile(self.staging / first, self.staging / second)
        except OSError:
            return False

    def sync(self) -> Manifest:
        """Replace the output folder with the staging folder in one step; returns the
        manifest of the output now in place."""
        try:
            with signals_held():
                previous = self._swap()
            if previous is not None:  # a Ctrl-C now leaves it for the next build to remove
                self._retire(previous)
        finally:
            self._unlock()
        return self.manifest

    def _swap(self) -> Path | None:
        """Put the staging folder in place; returns where the previous output now is."""
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"{self.out_dir} exists and is not a folder")
        if not self.out_dir.exists():
            self.staging.rename(self.out_dir)
            return None
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
                remove_tree(self.spare)  # none left, but for a build that did not seed
                self.spare.parent.mkdir(parents=True, exist_ok=True)
                previous.rename(self.spare)
                return
            except OSError:
                pass
        remove_tree(previous)

    def _unlock(self) -> None:
        if self._owns_lock:
            unlock(self._lock)
        self._lock = None

    def abort(self) -> None:
        """Remove the staging folder. A helper that was interrupted with us (Pagefind, a render
        worker) may still be finishing a write, so try again briefly until it is gone."""
        try:
            remove_until_gone(self.staging)
        finally:
            self._unlock()
