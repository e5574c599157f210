"""The build's memory: one store for everything a build remembers between builds.

Every remembered value is ``memo(namespace, inputs, compute)``: the value ``compute()`` gave
for these inputs, under one key (a hash of the builder's version, the namespace and the
inputs). Values are plain data (JSON), kept in one SQLite file beside the output folder, so
restoring the store from a CI cache can never run code. A build keeps what it used and
drops the rest; a damaged, foreign or older store is ignored with one warning and the build
starts clean. ``None`` is never remembered (a file with problems is read again each build).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sqlite3
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from site_builder.fingerprint import digest

T = TypeVar("T")
FORMAT = "site-builder store 1"
SCHEMA = ("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
          "CREATE TABLE IF NOT EXISTS memo (key TEXT PRIMARY KEY, namespace TEXT NOT NULL, "
          "value TEXT NOT NULL);"
          "CREATE INDEX IF NOT EXISTS memo_namespace ON memo (namespace);")
News = tuple[dict[str, tuple[str, Any]], set[str]]  # new values, keys touched


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class Store:
    """The memo of one output folder (``path``; None: remember for this build only)."""

    def __init__(self, path: Path | None, builder: str, clean: bool = False):
        self.path = path
        self.builder = builder
        self._pid = os.getpid()
        self._db: sqlite3.Connection | None = None
        self._rows: dict[str, dict[str, str]] = {}  # namespace -> key -> JSON, as stored
        # key -> (namespace, value) learnt now: turned into JSON only when saved, so a value
        # shares its strings with the model it is part of (never change one after memo())
        self._fresh: dict[str, tuple[str, Any]] = {}
        self._touched: set[str] = set()
        self._inherited: dict[str, tuple[str, Any]] = {}  # a worker: the build's _fresh
        self._news_pid = self._pid
        if path is not None and (clean or not self._usable(path)):
            path.unlink(missing_ok=True)

    def _usable(self, path: Path) -> bool:
        """The store at ``path`` is ours and of this builder; warn once when it is not."""
        if not path.exists():
            return True
        try:
            with sqlite3.connect(path) as db:
                meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
                db.execute("SELECT key, namespace, value FROM memo LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            warn(f"the build cache {path} is unreadable ({exc}); rebuilding fully")
            return False
        if meta.get("format") != FORMAT:
            warn(f"the build cache {path} is not a site-builder store; rebuilding fully")
            return False
        if meta.get("builder") != self.builder:
            warn(f"the build cache {path} was made by another version of site-builder; "
                 "rebuilding fully")
            return False
        return True

    def key(self, namespace: str, inputs: tuple[str, ...]) -> str:
        return digest(self.builder, namespace, *inputs)

    def memo(self, namespace: str, inputs: tuple[str, ...], compute: Callable[[], T]) -> T:
        """What ``compute()`` gave for these inputs, remembered; computed when not known."""
        key = self.key(namespace, inputs)
        self._after_fork()
        fresh = self._fresh.get(key) or self._inherited.get(key)
        if fresh is not None:
            self._touched.add(key)
            return fresh[1]
        text = self._namespace(namespace).get(key)
        if text is not None:
            self._touched.add(key)
            return json.loads(text)
        value = compute()
        if value is not None:
            self._fresh[key] = (namespace, value)
            self._touched.add(key)
        return value

    def read(self, namespace: str, inputs: tuple[str, ...]) -> Any:
        """The value remembered for these inputs, or None (and nothing is computed)."""
        return self.memo(namespace, inputs, lambda: None)

    def write(self, namespace: str, inputs: tuple[str, ...], value: Any) -> None:
        """Remember ``value`` for these inputs (a record of this build, like its output)."""
        key = self.key(namespace, inputs)
        self._after_fork()
        self._namespace(namespace).pop(key, None)
        self._fresh.pop(key, None)
        self.memo(namespace, inputs, lambda: value)

    def _namespace(self, namespace: str) -> dict[str, str]:
        """A namespace's stored rows, read on first use (a no-op build reads one)."""
        rows = self._rows.get(namespace)
        if rows is None:
            db = self._connection()
            found = db.execute("SELECT key, value FROM memo WHERE namespace = ?",
                               (namespace,)).fetchall() if db is not None else []
            rows = self._rows[namespace] = dict(found)
        return rows

    def preload(self, *namespaces: str) -> None:
        """Read namespaces now, so forked render workers find them in memory."""
        for namespace in namespaces:
            self._namespace(namespace)

    def _connection(self) -> sqlite3.Connection | None:
        if self.path is None or not self.path.exists():
            return None
        if self._db is None or self._pid != os.getpid():  # a forked worker opens its own
            self._db, self._pid = sqlite3.connect(self.path), os.getpid()
        return self._db

    def _after_fork(self) -> None:
        """In a forked worker, what the build had learnt is only looked up, never sent
        back: the news a worker sends are its own."""
        if self._news_pid != os.getpid():
            self._inherited = {**self._inherited, **self._fresh}
            self._fresh, self._touched, self._news_pid = {}, set(), os.getpid()

    def take_news(self) -> News:
        """What this process learnt since the last call (a worker sends it to the build)."""
        self._after_fork()
        news = (self._fresh, self._touched)
        self._fresh, self._touched = {}, set()
        return news

    def absorb(self, news: News) -> None:
        fresh, touched = news
        self._fresh.update(fresh)
        self._touched |= touched

    def save(self) -> None:
        """Keep what this build used and learnt, drop the rest, in one transaction."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._db is not None:
            self._db.close()
        self._db = db = sqlite3.connect(self.path)
        db.executescript(SCHEMA)
        with db:
            db.executemany("INSERT OR REPLACE INTO memo VALUES (?, ?, ?)",
                           ((key, ns, json.dumps(value, ensure_ascii=False,
                                                 separators=(",", ":")))
                            for key, (ns, value) in self._fresh.items()))
            db.execute("CREATE TEMP TABLE IF NOT EXISTS touched (key TEXT PRIMARY KEY)")
            db.execute("DELETE FROM touched")
            db.executemany("INSERT OR IGNORE INTO touched VALUES (?)",
                           [(key,) for key in self._touched])
            db.execute("DELETE FROM memo WHERE key NOT IN (SELECT key FROM touched)")
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [("format", FORMAT), ("builder", self.builder)])
        self._fresh = {}


# -- dataclasses as data: fields, read from the class, never listed by hand ------------------

def to_data(value: Any) -> Any:
    """A dataclass (and what it holds) as JSON data: objects, lists, ISO dates."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {key: to_data(item) for key, item in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def from_data(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` (a dataclass, or a type hint) that ``to_data`` gave."""
    return decoder(kind)(data)


_DECODERS: dict[Any, Callable[[Any], Any]] = {}


def identity(value: Any) -> Any:
    return value


def decoder(kind: Any) -> Callable[[Any], Any]:
    """A function turning ``to_data``'s form of a ``kind`` back into one; made once per type
    hint from the dataclass's own fields, so a field added to a class is read back too."""
    found = _DECODERS.get(kind)
    if found is None:
        found = _DECODERS[kind] = make_decoder(kind)
    return found


def optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda data: None if data is None else convert(data)


def make_decoder(kind: Any) -> Callable[[Any], Any]:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        return optional(decoder(options[0])) if len(options) == 1 else identity
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = decoder(args[0])
        return tuple if item is identity else lambda data: tuple(map(item, data))
    if origin is tuple:
        items = [decoder(arg) for arg in args]
        return lambda data: tuple(f(v) for f, v in zip(items, data, strict=True))
    if origin is list:
        item = decoder(args[0])
        return list if item is identity else lambda data: list(map(item, data))
    if origin is dict:
        value = decoder(args[1])
        return lambda data: {key: value(item) for key, item in data.items()}
    if kind is dt.datetime:
        return optional(dt.datetime.fromisoformat)
    if kind is dt.date:
        return optional(dt.date.fromisoformat)
    if dataclasses.is_dataclass(kind):
        return dataclass_decoder(kind)
    return identity


def dataclass_decoder(kind: type) -> Callable[[Any], Any]:
    hints = typing.get_type_hints(kind)
    fields = [(f.name, decoder(hints[f.name])) for f in dataclasses.fields(kind) if f.init]
    plain = {name for name, convert in fields if convert is identity}
    typed = [(name, convert) for name, convert in fields if convert is not identity]

    def decode(data: Any) -> Any:
        if data is None:
            return None
        values = {name: value for name, value in data.items() if name in plain}
        for name, convert in typed:
            if name in data:
                values[name] = convert(data[name])
        return kind(**values)

    return decode
