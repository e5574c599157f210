"""Reading text files and YAML (front matter) safely, with line numbers for errors.

Content comes from scrapes and pull requests, so every file is treated as hostile: a size
limit, UTF-8 only, no NUL bytes, YAML through the safe loader only (a ``!!python/...`` tag is an
error, never executed), no anchors or aliases (a "billion laughs" document is refused), a
nesting limit (libyaml's composer recurses and would crash on ``[[[[...``), duplicate keys
and impossible dates reported at their line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

try:  # the C loader is several times faster; both are "safe" loaders
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader  # type: ignore[assignment]

from site_builder.errors import Problem, Problems, problem

T = TypeVar("T")

MAX_FILE_BYTES = 2_000_000
MAX_YAML_DEPTH = 32  # front matter is nearly flat; deep nesting only attacks the parser
MAX_YAML_VALUES = 100_000
DEPTH_SCAN_BYTES = 4_096  # shorter YAML cannot nest deep enough to hurt libyaml
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)
YAML_HINTS = {  # common mistakes -> what to do about them
    "mapping values are not allowed": " (put a value that contains ': ' in quotes)",
    "tab character": " (indent with spaces, not tabs)",
    "cannot start any token": " (put a value that starts with @, ` or % in quotes)",
    "is not a real date": " (put it in quotes if it is meant as text)",
    "found undefined alias": " (put a value that starts with * in quotes)",
    "found unknown escape character": " (use single quotes, or double the backslash)",
}
ALIAS_MESSAGE = ("anchors and aliases ('&name', '*name') are not supported; write the value "
                 "out")
_ALIAS_RE = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\[\]{}]+")
_NESTING_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_NESTING_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class InputError(Exception):
    """A single file could not be read or parsed."""

    def __init__(self, prob: Problem):
        self.problem = prob
        super().__init__(str(prob))


VALUE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError)


def shorten(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else "the value"
    return repr(text if len(text) <= limit else text[:limit] + "…")


def refusal(message: str, mark: Any) -> yaml.constructor.ConstructorError:
    """A loader error at a place in the text (``load_yaml`` reports its line)."""
    return yaml.constructor.ConstructorError(None, None, message, mark)


class StrictLoader(SafeLoader):
    """The safe loader, plus: a key given twice and an impossible date are errors."""

    line_offset = 0  # lines before the YAML text in its file, for messages
    alias_mark = None  # where the first alias is, when the text has one (for messages)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise refusal("merge keys ('<<') are not supported; write the keys out",
                                  key_node.start_mark)
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.value in first:
                    raise refusal(f"'{key_node.value}' is given twice (first on line "
                                  f"{first[key_node.value]}); keep one", key_node.start_mark)
                first[key_node.value] = key_node.start_mark.line + 1 + self.line_offset
        return super().construct_mapping(node, deep)

    def construct_object(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        if node in self.constructed_objects:  # a node met twice is an alias ('*name')
            raise refusal(ALIAS_MESSAGE, self.alias_mark or node.start_mark)
        try:
            return super().construct_object(node, deep)
        except VALUE_ERRORS as exc:  # an impossible date, or a tag the value does not fit
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise refusal(f"'{node.value}' is not a real date" if tag == "!!timestamp" else
                          f"{shorten(node.value)} is not a valid {tag} value",
                          node.start_mark) from exc


@dataclass(frozen=True)
class FrontMatterFile:
    """A Markdown file split into its YAML front matter and its body."""

    path: Path
    meta: dict[str, Any]
    body: str
    key_lines: dict[str, int]  # front matter key -> 1-based line in the file
    body_line: int
    text: str = ""  # the whole file as read (for digests)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


@lru_cache(maxsize=8)
def _resolved(root: Path) -> Path:
    return root.resolve()


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` exists and is really inside ``root``, symbolic links followed."""
    try:
        path.resolve(strict=True).relative_to(_resolved(root))
    except (OSError, RuntimeError, ValueError):
        return False
    return True


def check_inside(path: Path, root: Path) -> Path:
    """The path of a file inside the folder being read, or InputError when it is really outside
    it through a symbolic link (a pull request could otherwise publish any file of the machine
    that builds the site)."""
    if not is_inside(path, root):
        raise InputError(problem(
            path, "is (through a symbolic link) outside the content folder; copy the file in "
            "instead"))
    return path


def reported(problems: Problems, read: Callable[..., T], *args: Any) -> T | None:
    """``read(*args)``, or None with the problem of the file it reads recorded."""
    try:
        return read(*args)
    except InputError as exc:
        problems.extend([exc.problem])
        return None


CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def control_character(text: str) -> str:
    """The first control character in a text (one that XML and feeds cannot carry), or ''."""
    match = CONTROL_RE.search(text)
    return match.group(0) if match else ""


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing huge, binary and non-UTF-8 files with a clear error."""
    try:
        # O_NONBLOCK: a FIFO named like a content file must not make the build wait forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(problem(path, "is not a regular file (a FIFO, a device or a "
                                         "socket); replace it with a text file"))
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(problem(path, f"cannot read file: {exc.strerror or exc}")) from exc
    if len(data) > max_bytes:
        raise InputError(problem(
            path, f"file is too large (more than {max_bytes:,} bytes); is it the right file?"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(problem(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            line)) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(problem(path, "file contains NUL bytes; is it a binary file?", line))
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\f", "\n").replace("\v", "\n")  # page breaks from PDF copy-paste
    bad = CONTROL_RE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputError(problem(
            path, f"contains the control character U+{ord(bad.group(0)):04X}, which pages and "
            "feeds cannot carry; remove it", line))
    return text


def read_yaml(path: Path) -> tuple[Any, str]:
    """A YAML file's data ({} when it is empty) and its text."""
    text = read_text(path)
    return load_yaml(text, path) or {}, text


def check_nesting(text: str, path: Path, first_line: int) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH before composing it (libyaml's composer
    recurses and crashes the interpreter on ~20,000 levels); the event scan is iterative."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=SafeLoader):
            depth += isinstance(event, _NESTING_START) - isinstance(event, _NESTING_END)
            if depth > MAX_YAML_DEPTH:
                raise InputError(problem(
                    path, f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep",
                    first_line + event.start_mark.line))
    except yaml.YAMLError:
        return  # load_yaml reports the syntax error with its line


def check_size(data: Any, path: Path, first_line: int) -> None:
    """Refuse absurdly many values, walking iteratively (the loader refuses aliases, so no
    value is met twice)."""
    stack, count = [data], 0
    while stack:
        value = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise InputError(problem(
                path, f"invalid YAML: more than {MAX_YAML_VALUES:,} values", first_line))
        if isinstance(value, dict):
            stack.extend([*value, *value.values()])
        elif isinstance(value, (list, set)):
            stack.extend(value)


def load_yaml(text: str, path: Path, first_line: int = 1) -> Any:
    """Parse YAML with the safe loader; errors name the file and the line."""
    if len(text) > DEPTH_SCAN_BYTES:
        check_nesting(text, path, first_line)
    loader = StrictLoader(text)
    loader.line_offset = first_line - 1
    alias = _ALIAS_RE.search(text) if "*" in text else None
    if alias:
        line = text.count("\n", 0, alias.start() + 1)
        loader.alias_mark = yaml.Mark("", 0, line, 0, None, None)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else first_line
        what = exc.problem or "invalid YAML"
        if "could not determine a constructor" in what:
            tag = what.rsplit(" ", 1)[-1].strip("'").replace("tag:yaml.org,2002:", "!!")
            what = (f"the tag {tag} is not allowed (only plain values: text, numbers, dates, "
                    "lists and mappings)")
        else:
            what += next((hint for key, hint in YAML_HINTS.items() if key in what), "")
        raise InputError(problem(path, f"invalid YAML: {what}", line)) from exc
    except (yaml.YAMLError, *VALUE_ERRORS) as exc:
        raise InputError(problem(path, f"invalid YAML: {exc}", first_line)) from exc
    except RecursionError as exc:
        raise InputError(problem(path, "invalid YAML: nested too deeply", first_line)) from exc
    finally:
        loader.dispose()
    check_size(data, path, first_line)
    return data


def key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    """The line of each top-level key in a YAML mapping, for error messages."""
    lines: dict[str, int] = {}
    for match in _KEY_LINE.finditer(yaml_text):
        lines.setdefault(match.group(1), first_line + yaml_text.count("\n", 0, match.start()))
    return lines


def read_front_matter(path: Path) -> FrontMatterFile:
    """Split ``---`` YAML front matter from a Markdown body; the front matter is required."""
    return parse_front_matter(read_text(path), path)


def parse_front_matter(text: str, path: Path) -> FrontMatterFile:
    """``read_front_matter`` of a text already read (or about to be written, by an import)."""
    if not text.strip():
        raise InputError(problem(
            path, "file is empty: it needs front matter between two '---' lines with at least "
            "a 'title'", 1))
    if not text.startswith("---\n") and text.rstrip("\n") != "---":
        raise InputError(problem(path, "missing front matter: the file must start with a line "
                                 "'---'", 1))
    end = text.find("\n---\n", 3)
    if end == -1 and not text.endswith("\n---"):
        raise InputError(problem(path, "front matter is not closed: add a line '---' after it",
                                 1))
    end = len(text) - 4 if end == -1 else end
    yaml_text = text[4 : end + 1]
    body = text[end + 5 :]
    meta = load_yaml(yaml_text, path, first_line=2) if yaml_text.strip() else None
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise InputError(problem(path, "front matter must be a mapping of 'key: value' lines", 2))
    body_line = yaml_text.count("\n") + 3
    return FrontMatterFile(path, meta, body.strip("\n"), key_lines(yaml_text, 2), body_line,
                           text)
