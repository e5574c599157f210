"""An import as one transaction: a killed import leaves the content folder as before or as after.

Every new file is first written beside its target under a hidden temporary name (the build
ignores names starting with '.'). Then a journal listing the moves and removals is written
atomically, the moves are made, and the journal is deleted. A journal left by a killed import
is finished by the next command that reads the content (build, check, import): the files it
lists are complete, so finishing it gives the content the import meant. Temporary files of an
import killed before its journal was written are removed by the next import.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from site_builder.workers import signals_held

JOURNAL = ".import-journal.json"
TEMPORARY_RE = re.compile(r"^\..+\.tmp-(\d+)$")


@dataclass
class Transaction:
    """The files one import writes and removes in a content folder."""

    content_dir: Path
    moves: list[tuple[str, str]] = field(default_factory=list)  # (temporary, target), relative
    removals: list[str] = field(default_factory=list)
    recorded: bool = False  # the journal is in place: from now on, the import happens
    journal_temporary: Path | None = None

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Commit when the block ends normally; abort when it (or the commit) raises."""
        try:
            if kind is None:
                self.commit()
                return
        except BaseException:
            self.abort()
            raise
        self.abort()

    def write(self, target: Path, text: str) -> None:
        """Write a file's new text under a temporary name; it is moved in by ``commit``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)  # no fsync: this guards against a killed import, not power loss
        self.moves.append((self.relative(temporary), self.relative(target)))

    def remove(self, path: Path) -> None:
        self.removals.append(self.relative(path))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.content_dir).as_posix()

    def commit(self) -> None:
        """Record the journal, then make every move and removal; then forget the journal."""
        if not self.moves and not self.removals:
            return
        journal = self.content_dir / JOURNAL
        temporary = journal.with_name(f"{JOURNAL}.tmp-{os.getpid()}")
        temporary.write_text(json.dumps({"moves": self.moves, "removals": self.removals}),
                             "utf-8")
        self.journal_temporary = temporary
        with signals_held():  # Ctrl-C waits; a SIGKILL now is finished by the next command
            os.replace(temporary, journal)
            self.recorded = True
            apply_journal(self.content_dir, journal)

    def abort(self) -> None:
        """Remove the temporary files, unless the journal is recorded: then the next
        command finishes the import (the journal must find its files)."""
        if self.recorded:
            return
        for temporary, _target in self.moves:
            (self.content_dir / temporary).unlink(missing_ok=True)
        if self.journal_temporary is not None:
            self.journal_temporary.unlink(missing_ok=True)


def apply_journal(content_dir: Path, journal: Path) -> None:
    data = json.loads(journal.read_text("utf-8"))
    for temporary, target in data["moves"]:
        source = content_dir / temporary
        if source.exists():  # else moved already, before the kill
            os.replace(source, content_dir / target)
    for removed in data["removals"]:
        path = content_dir / removed
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty
            path.parent.rmdir()  # a day folder left empty by a paper that moved
    journal.unlink()


def finish_interrupted_import(content_dir: Path) -> None:
    """Finish what a killed import had started to move in (see the module's docstring)."""
    journal = content_dir / JOURNAL
    if journal.is_file():
        apply_journal(content_dir, journal)


def remove_dead_temporaries(content_dir: Path) -> None:
    """Delete the temporary files of imports that died before their journal was written."""
    for folder in (content_dir, content_dir / "topics", *sorted(content_dir.glob("days/*"))):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = TEMPORARY_RE.match(path.name)
            if match and not is_running(int(match.group(1))):
                path.unlink(missing_ok=True)


def is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        with contextlib.suppress(PermissionError):  # another user's process: it runs
            os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    return True
