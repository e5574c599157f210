"""Reading text files and YAML (front matter) safely, with line numbers for errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster; both are "safe" loaders
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader  # type: ignore[assignment]

from site_builder.errors import Problem, problem

MAX_FILE_BYTES = 2_000_000
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


class InputError(Exception):
    """A single file could not be read or parsed."""

    def __init__(self, prob: Problem):
        self.problem = prob
        super().__init__(str(prob))


@dataclass(frozen=True)
class FrontMatterFile:
    """A Markdown file split into its YAML front matter and its body."""

    path: Path
    meta: dict[str, Any]
    body: str
    key_lines: dict[str, int]  # front matter key -> 1-based line in the file
    body_line: int

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing huge, binary and non-UTF-8 files with a clear error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(problem(path, f"cannot read file: {exc.strerror}")) from exc
    if size > max_bytes:
        raise InputError(
            problem(path, f"file is too large ({size:,} bytes; the limit is {max_bytes:,})")
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            problem(path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8", line)
        ) from exc
    if "\x00" in text:
        raise InputError(problem(path, "file contains NUL bytes; is it a binary file?"))
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def load_yaml(text: str, path: Path, first_line: int = 1) -> Any:
    """Parse YAML with the safe loader; errors name the file and the line."""
    try:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - SafeLoader/CSafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else first_line
        what = exc.problem or "invalid YAML"
        if exc.problem and "could not determine a constructor" in exc.problem:
            what = "unsupported YAML tag (only plain values are allowed): " + exc.problem
        raise InputError(problem(path, f"invalid YAML: {what}", line)) from exc
    except yaml.YAMLError as exc:
        raise InputError(problem(path, f"invalid YAML: {exc}", first_line)) from exc


def key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    """The line of each top-level key in a YAML mapping, for error messages."""
    lines: dict[str, int] = {}
    for match in _KEY_LINE.finditer(yaml_text):
        key = match.group(1)
        lines.setdefault(key, first_line + yaml_text.count("\n", 0, match.start()))
    return lines


def read_front_matter(path: Path) -> FrontMatterFile:
    """Split ``---`` YAML front matter from a Markdown body; the front matter is required."""
    text = read_text(path)
    if not text.strip():
        raise InputError(problem(path, "file is empty; a paper needs at least a title", 1))
    if not text.startswith("---\n") and text.rstrip("\n") != "---":
        raise InputError(
            problem(path, "missing front matter: the file must start with a line '---'", 1)
        )
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise InputError(
                problem(path, "front matter is not closed: add a line '---' after it", 1)
            )
    yaml_text = text[4 : end + 1]
    body = text[end + 5 :]
    meta = load_yaml(yaml_text, path, first_line=2) if yaml_text.strip() else {}
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError(problem(path, "front matter must be a mapping of 'key: value' lines", 2))
    body_line = yaml_text.count("\n") + 3
    return FrontMatterFile(path, meta, body.strip("\n"), key_lines(yaml_text, 2), body_line)
