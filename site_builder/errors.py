"""Problems found in content or input, reported as ``path:line: message``."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file (or one input), with the line when known."""

    path: str
    line: int = 0
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return one_line(f"{where}: {self.message}")


def one_line(text: str) -> str:
    """Control characters escaped (a file name may hold a newline), so a message is one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def problem(path: Path | str, message: str, line: int | None = None) -> Problem:
    """Make a Problem with a printable path (relative to the working folder when possible)."""
    return Problem(display_path(path), line or 0, message)


def source_problem(source: Path | str, message: str, line: int | None = None) -> Problem:
    """A problem naming an input: a file (shown as a path), or a URL, '<stdin>' or an option
    such as '--to' (kept as they are)."""
    text = str(source)
    if "://" in text or text.startswith(("<", "--")):
        return Problem(text, line or 0, message)
    return problem(text, message, line)


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the current folder when inside it (symbolic
    links are not followed), with control characters escaped so a message stays on one line."""
    text = str(path)
    try:
        absolute = Path(os.path.abspath(text))
        text = str(absolute.relative_to(Path(os.path.abspath(os.getcwd()))))
    except (ValueError, OSError):
        pass
    return one_line(text)


class ContentError(Exception):
    """Raised with every problem of a run; the CLI prints them all and exits 1."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def report(self) -> str:
        count = len(self.problems)
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found.")
        return "\n".join(lines)


class Problems:
    """Collects problems so a run can report all of them at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.items.append(problem(path, message, line))

    def extend(self, problems: list[Problem]) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ContentError(self.items)


OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EDQUOT: "the disk quota is used up: free some space and run again",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "no permission: check the owner and permissions of the folder",
    errno.EPERM: "no permission: check the owner and permissions of the folder",
    errno.ELOOP: "a symbolic link loop",
}


def environment_problem(exc: OSError) -> Problem:
    """A file system failure (full disk, read-only or unwritable folder) as a message that
    names the path, instead of an internal error."""
    where = exc.filename if exc.filename is not None else "(a file)"
    what = exc.strerror or type(exc).__name__
    hint = OS_HINTS.get(exc.errno or 0, "")
    return problem(os.fsdecode(where) if isinstance(where, bytes) else str(where),
                   f"cannot use this file or folder: {what}" + (f" ({hint})" if hint else ""))
