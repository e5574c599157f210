"""Fingerprints: what an output was made from, so an unchanged one is never made again.

A page's fingerprint hashes its path, title and the values of its context; the build adds
the values every template sees and the templates the loader served while rendering it
(``render.RecordingEnvironment``). Papers stand in by their content digest and computed
topics; other model objects by their fields, memoised per build, so a listing of ten
thousand papers is hashed once. Code (modules, functions, classes) stands in by its name:
the builder's own source is in every key already (``builder_key``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import types
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from site_builder import __version__
from site_builder.content import Paper
from site_builder.related import Related

if TYPE_CHECKING:  # pages imports the model, which hashes with digest()
    from site_builder.pages import Page

PACKAGE_DIR = Path(__file__).resolve().parent


def digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# libraries whose output ends up in the site's bytes: another version empties the caches
OUTPUT_LIBRARIES = ("jinja2", "markupsafe", "markdown", "nh3", "latex2mathml", "feedgen",
                    "lxml", "pyyaml", "numpy", "scipy", "css-inline")


def builder_key() -> str:
    """The builder's version and source, and the versions of the libraries that make output:
    a new version or an edited module empties caches."""
    hasher = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        hasher.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        hasher.update(path.read_bytes())
    for library in OUTPUT_LIBRARIES:
        try:
            hasher.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            hasher.update(f"{library}=none".encode())
    return hasher.hexdigest()


def paper_key(paper: Paper) -> str:
    return f"P{paper.digest}:{','.join(paper.topic_slugs)}"


def related_key(related: Related) -> str:
    return f"R{paper_key(related.paper)}:{'/'.join(related.terms)}"


class Fingerprinter:
    """Hashes page contexts; one per build (it memoises objects by identity)."""

    def __init__(self) -> None:
        self._memo: dict[int, str] = {}
        self._keep: list[Any] = []  # keeps memoised objects alive, so ids stay unique
        self._fields: dict[type, tuple[str, ...]] = {}

    def value_key(self, value: Any) -> str:
        kind = type(value)
        if kind is Paper:
            return paper_key(value)
        if value is None or kind in (str, int, float, bool):
            return repr(value)
        if kind in (dt.date, dt.datetime):
            return value.isoformat()
        memo = self._memo.get(id(value))
        if memo is not None:
            return memo
        key = self._compound_key(value)
        self._memo[id(value)] = key
        self._keep.append(value)
        return key

    def _compound_key(self, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            key = self.value_key
            return digest("L", *[paper_key(item) if type(item) is Paper
                                 else related_key(item) if type(item) is Related else key(item)
                                 for item in value])
        if isinstance(value, dict):
            return digest("D", *(f"{k}={self.value_key(v)}" for k, v in sorted(value.items())))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = self._fields.get(type(value))
            if names is None:
                names = tuple(f.name for f in dataclasses.fields(value))
                self._fields[type(value)] = names
            return digest(type(value).__name__,
                          *[f"{name}={self.value_key(getattr(value, name))}" for name in names])
        if callable(value) or isinstance(value, types.ModuleType):
            return code_name(value)
        return repr(value)

    def page_key(self, page: Page) -> str:
        """Everything of the page itself (the template's name, not yet its source)."""
        return digest(page.template, page.path, page.title, repr(page.rooted),
                      repr(page.feeds), self.value_key(page.context))

    def globals_key(self, *namespaces: dict[str, Any]) -> str:
        """The values every template sees: the environment's globals, the build's shared
        values; whatever is added there is in the key without naming it here."""
        return digest(*(f"{name}={self.value_key(value)}" for namespace in namespaces
                        for name, value in sorted(namespace.items())))


def code_name(value: Any) -> str:
    """A module, class or function by its name; another object that is called by templates
    (the card renderer) by its class: what it serves is recorded where it is used."""
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    kind = value if isinstance(value, type) or hasattr(value, "__qualname__") else type(value)
    return f"code {getattr(kind, '__module__', '')}.{getattr(kind, '__qualname__', kind)}"
