"""The search index: one Pagefind index per listing month, byte-reproducible, and a new day
re-indexes only its own month (issue 18, item 3)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from site_builder import search
from site_builder.build import BuildOptions, build
from tests.conftest import CONTENT, TEMPLATES
from tests.trees import tree_differences

MONTHS = ["2026-06", "2026-04", "2026-03"]  # the sample content's listing months


def write_paper(content: Path, day: str, paper_id: str, title: str) -> None:
    folder = content / "days" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{paper_id}.md").write_text(
        f"---\ntitle: {title}\nupvotes: 3\ntopics: []\n---\n\nA study of noisy labels.\n",
        "utf-8")


def index_files(out: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file of the search index: (bytes, mtime_ns, inode)."""
    index = out / "pagefind"
    return {path.relative_to(index).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns,
                                                 path.stat().st_ino)
            for path in sorted(index.rglob("*")) if path.is_file()}


def month_files(files: dict[str, tuple[bytes, int, int]], month: str) -> dict:
    return {name: value for name, value in files.items() if name.startswith(f"{month}/")}


def only_bytes(files: dict[str, tuple[bytes, int, int]]) -> dict[str, bytes]:
    return {name: value[0] for name, value in files.items()}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder


def build_site(content: Path, out: Path, clean: bool = False) -> None:
    build(BuildOptions(content, TEMPLATES, out, quiet=True, clean=clean))


def test_one_index_per_listing_month_listed_newest_first(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    listing = json.loads((out / "pagefind" / "indexes.json").read_text("utf-8"))
    assert listing["months"] == MONTHS
    counted = 0
    for month in MONTHS:
        entry = json.loads((out / "pagefind" / month / "pagefind-entry.json").read_text())
        counted += sum(language["page_count"] for language in entry["languages"].values())
    papers = sorted((content / "days").glob("*/*.md"))
    assert counted == len([p for p in papers if p.name != "index.md"]) == 227
    for name in search.UI_FILES:  # the UI once, not in every month
        assert (out / "pagefind" / name).is_file()
        assert not list((out / "pagefind").glob(f"*/{name}"))


def test_two_clean_builds_give_the_same_index_bytes(content, tmp_path, search_on):
    first, second = tmp_path / "one", tmp_path / "two"
    build_site(content, first, clean=True)
    build_site(content, second, clean=True)
    assert only_bytes(index_files(first)) == only_bytes(index_files(second))


def test_a_new_day_reindexes_only_its_month(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    before = index_files(out)
    write_paper(content, "2026-06-30", "a-late-june-paper", "A Late June Paper")
    build_site(content, out)
    after = index_files(out)
    for month in ("2026-04", "2026-03"):  # same bytes, same files on disk (inode, mtime)
        assert month_files(after, month) == month_files(before, month)
    assert only_bytes(month_files(after, "2026-06")) != only_bytes(month_files(before, "2026-06"))
    for name in ("indexes.json", *search.UI_FILES):
        assert after[name] == before[name]
    # the next day starts from the output before the last one (the writer's spare folder)
    write_paper(content, "2026-06-29", "another-june-paper", "Another June Paper")
    build_site(content, out)
    assert month_files(index_files(out), "2026-03") == month_files(before, "2026-03")
    reference = tmp_path / "clean"
    build_site(content, reference, clean=True)
    assert tree_differences(out, reference) == []


def test_a_new_month_adds_an_index_and_leaves_the_others(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    before = index_files(out)
    write_paper(content, "2026-07-01", "a-july-paper", "A July Paper")
    build_site(content, out)
    after = index_files(out)
    for month in MONTHS:
        assert month_files(after, month) == month_files(before, month)
    listing = json.loads((out / "pagefind" / "indexes.json").read_text("utf-8"))
    assert listing["months"] == ["2026-07", *MONTHS]
    reference = tmp_path / "clean"
    build_site(content, reference, clean=True)
    assert tree_differences(out, reference) == []


def test_a_month_left_without_papers_loses_its_index(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    shutil.rmtree(content / "days" / "2026-03-11")
    build_site(content, out)
    assert not (out / "pagefind" / "2026-03").exists()
    listing = json.loads((out / "pagefind" / "indexes.json").read_text("utf-8"))
    assert listing["months"] == MONTHS[:2]


def test_a_damaged_month_is_made_again(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    good = index_files(out)
    (out / "pagefind" / "2026-04" / "pagefind-entry.json").write_text("{}", "utf-8")
    write_paper(content, "2026-06-30", "a-late-june-paper", "A Late June Paper")
    build_site(content, out)
    entry = json.loads((out / "pagefind" / "2026-04" / "pagefind-entry.json").read_text())
    assert entry["languages"], "the damaged month was indexed again"
    assert only_bytes(month_files(index_files(out), "2026-04")) == only_bytes(
        month_files(good, "2026-04"))


def test_filter_values_are_sorted_whatever_order_pagefind_wrote() -> None:
    def cbor_text(text: str) -> bytes:
        data = text.encode()
        return bytes([0x60 | len(data)]) + data

    def pair(value: str, pages: list[int]) -> bytes:
        return b"\x82" + cbor_text(value) + bytes([0x80 | len(pages), *pages])

    shuffled = (search.SIGNATURE + b"\x82" + cbor_text("topic") + b"\x83"
                + pair("Vision", [3]) + pair("Audio", [1, 2]) + pair("Math", [0]))
    ordered = (search.SIGNATURE + b"\x82" + cbor_text("topic") + b"\x83"
               + pair("Audio", [1, 2]) + pair("Math", [0]) + pair("Vision", [3]))
    assert search.sorted_filter(shuffled) == ordered
    assert search.sorted_filter(ordered) == ordered
    assert gzip.decompress(search.compress(ordered)) == ordered


def test_without_pagefind_the_index_is_left_out(content, tmp_path, search_on, monkeypatch):
    out = tmp_path / "output"
    build_site(content, out)
    assert (out / "pagefind").is_dir()
    monkeypatch.setenv(search.BINARY_ENV, "off")
    write_paper(content, "2026-06-30", "a-late-june-paper", "A Late June Paper")
    build_site(content, out)
    assert not (out / "pagefind").exists()


def test_an_index_in_the_old_single_folder_layout_is_replaced(content, tmp_path, search_on):
    out = tmp_path / "output"
    build_site(content, out)
    (out / "pagefind" / "pagefind-entry.json").write_text("{}", "utf-8")  # as builds before
    (out / "pagefind" / "fragment").mkdir()  # the split wrote them
    (out / "pagefind" / "fragment" / "en_1234567.pf_fragment").write_bytes(b"old")
    write_paper(content, "2026-06-30", "a-late-june-paper", "A Late June Paper")
    build_site(content, out)
    reference = tmp_path / "clean"
    build_site(content, reference, clean=True)
    assert tree_differences(out, reference) == []
