"""The build's store: one memo, data only, and what a build did not use is forgotten."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path

from site_builder.content import Organization, Paper
from site_builder.store import Store, from_data, to_data


def counting(value: object, calls: list[int]):
    def compute() -> object:
        calls.append(1)
        return value
    return compute


def test_a_value_is_computed_once_and_kept_by_the_next_build(tmp_path: Path) -> None:
    path, calls = tmp_path / "store.sqlite", []
    first = Store(path, "builder 1")
    assert first.memo("markup", ("abc",), counting(["<b>x</b>", "y"], calls)) == ["<b>x</b>", "y"]
    assert first.memo("markup", ("abc",), counting(["other"], calls)) == ["<b>x</b>", "y"]
    first.save()
    second = Store(path, "builder 1")
    assert second.memo("markup", ("abc",), counting(["other"], calls)) == ["<b>x</b>", "y"]
    assert calls == [1]


def test_what_a_build_did_not_use_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    first = Store(path, "b")
    first.memo("topics", ("kept",), lambda: ["a"])
    first.memo("topics", ("unused",), lambda: ["b"])
    first.save()
    second = Store(path, "b")
    second.memo("topics", ("kept",), lambda: ["changed"])
    second.save()
    third = Store(path, "b")
    assert third.read("topics", ("kept",)) == ["a"]
    assert third.read("topics", ("unused",)) is None


def test_none_is_never_remembered(tmp_path: Path) -> None:
    store, calls = Store(tmp_path / "s.sqlite", "b"), []
    store.memo("paper", ("broken.md",), counting(None, calls))
    store.memo("paper", ("broken.md",), counting(None, calls))
    assert calls == [1, 1]


def test_namespaces_and_inputs_make_distinct_keys(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite", "b")
    store.memo("a", ("x", "y"), lambda: 1)
    assert store.memo("b", ("x", "y"), lambda: 2) == 2
    assert store.memo("a", ("xy",), lambda: 3) == 3
    assert store.key("a", ("x",)) != Store(None, "c").key("a", ("x",))  # per builder


def test_another_builder_or_a_damaged_file_starts_empty_with_one_warning(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    store = Store(path, "old")
    store.memo("a", ("x",), lambda: 1)
    store.save()
    assert Store(path, "new").read("a", ("x",)) is None
    assert "another version" in capsys.readouterr().err
    path.write_bytes(b"garbage" * 50)
    assert Store(path, "new").read("a", ("x",)) is None
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and str(path) in err


def test_values_are_json_text(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = Store(path, "b")
    store.memo("card", ("p",), lambda: [["<li>", "</li>"], ["_paper.html"], "k"])
    store.save()
    with sqlite3.connect(path) as db:
        (value,) = db.execute("SELECT value FROM memo WHERE namespace = 'card'").fetchone()
    assert json.loads(value) == [["<li>", "</li>"], ["_paper.html"], "k"]


def test_a_paper_goes_through_data_and_back_with_every_field() -> None:
    paper = Paper("p", "Title", dt.date(2026, 4, 21), abstract="A $x$.", authors=("A", "B"),
                  organization=Organization("org", "Org"), published=dt.date(2026, 4, 1),
                  upvotes=3, topics=("t",), withdrawn=dt.date(2026, 5, 1), github_stars=None)
    data = json.loads(json.dumps(to_data(paper)))
    assert set(data) == {f.name for f in dataclasses.fields(Paper)}
    assert from_data(Paper, data) == paper


def test_what_a_worker_learnt_reaches_the_build(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    build, worker = Store(path, "b"), Store(path, "b")
    worker.memo("card", ("p",), lambda: ["card"])
    build.absorb(worker.take_news())
    build.save()
    assert Store(path, "b").read("card", ("p",)) == ["card"]
