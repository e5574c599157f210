"""Fingerprints: what a page was made from, so an unchanged page is never rendered again.

A page's fingerprint hashes its template (with everything it includes, imports or
extends), the site-wide values every page sees, its path, and the values of its context.
Papers stand in by their content digest and computed topics; other model objects by their
fields, memoised per build, so a listing of ten thousand papers is hashed once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from site_builder import __version__
from site_builder.content import Paper
from site_builder.pages import Page
from site_builder.related import Related

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


class TemplateKeys:
    """The fingerprint of each page template together with what it uses.

    What a template extends, includes or imports is found by parsing it; ``references``
    (kept by the build cache) remembers it by the template's name and source, so an
    unchanged template is not parsed again.  ``used`` is what this build needed of it.
    """

    def __init__(self, env: jinja2.Environment,
                 references: dict[str, tuple[str, ...]] | None = None):
        self.env = env
        self.references = references if references is not None else {}
        self.used: dict[str, tuple[str, ...]] = {}
        self._sources: dict[str, str] = {}
        self._keys: dict[str, str] = {}

    def source_key(self, name: str) -> str:
        if name not in self._sources:
            self._sources[name] = digest(name, self.source(name))
        return self._sources[name]

    def source(self, name: str) -> str:
        """The template's text."""
        assert self.env.loader is not None
        source, _filename, _uptodate = self.env.loader.get_source(self.env, name)
        return source

    def referenced(self, name: str) -> tuple[str, ...]:
        """The templates ``name`` extends, includes or imports by a constant name."""
        key = self.source_key(name)
        found = self.references.get(key)
        if found is None:
            parsed = self.env.parse(self.source(name))
            found = tuple(sorted({referenced for referenced
                                  in jinja2.meta.find_referenced_templates(parsed)
                                  if referenced is not None}))
        self.used[key] = found
        return found

    def names(self, name: str) -> set[str]:
        """A template and every template it extends, includes or imports, recursively."""
        seen, waiting = set(), [name]
        while waiting:
            current = waiting.pop()
            if current not in seen:
                seen.add(current)
                waiting.extend(self.referenced(current))
        return seen

    def __getitem__(self, name: str) -> str:
        if name not in self._keys:
            self._keys[name] = digest(*(self.source_key(n) for n in sorted(self.names(name))))
        return self._keys[name]


def paper_key(paper: Paper) -> str:
    return f"P{paper.digest}:{','.join(paper.topic_slugs)}"


def related_key(related: Related) -> str:
    return f"R{paper_key(related.paper)}:{'/'.join(related.terms)}"


class Fingerprinter:
    """Hashes page contexts; one per build (it memoises objects by identity)."""

    def __init__(self, templates: TemplateKeys, shared_key: str):
        self.templates = templates
        self.shared_key = shared_key
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
        return repr(value)

    def page_key(self, page: Page) -> str:
        return digest(self.templates[page.template], self.shared_key, page.path, page.title,
                      repr(page.rooted), repr(page.feeds), self.value_key(page.context))
