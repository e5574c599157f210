"""Shared fixtures: the repository's templates and content, and built copies of the site."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from site_builder.build import BuildOptions, build
from site_builder.search import BINARY_ENV

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "site_builder" / "theme"
CONTENT = REPO / "content"
SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"


# Search (Pagefind) is off in every test, and in the builds they start, unless the test is
# about search: it costs a second a build and only those tests look at the index.
# The developer's setting is kept in a variable of its own, since pytest-xdist's workers
# inherit the environment after this module switched search off in the main process.
_KEPT = "SITE_BUILDER_TESTS_PAGEFIND"
os.environ.setdefault(_KEPT, os.environ.get(BINARY_ENV, "(unset)"))
SEARCH_SETTING = None if os.environ[_KEPT] == "(unset)" else os.environ[_KEPT]
os.environ[BINARY_ENV] = "off"


@contextlib.contextmanager
def search_enabled() -> Iterator[None]:
    """Pagefind as the developer's environment has it, for the length of the block."""
    if SEARCH_SETTING is None:
        os.environ.pop(BINARY_ENV, None)
    else:
        os.environ[BINARY_ENV] = SEARCH_SETTING
    try:
        yield
    finally:
        os.environ[BINARY_ENV] = "off"


@pytest.fixture
def search_on() -> Iterator[None]:
    """For a test about search: Pagefind runs in its builds."""
    with search_enabled():
        yield


def build_into(content: Path, out: Path, base_url: str | None = None,
               templates: Path = TEMPLATES, search: bool = False) -> Path:
    """Build a content folder into ``out`` quietly and return the output folder."""
    with search_enabled() if search else contextlib.nullcontext():
        build(BuildOptions(content_dir=content, templates_dir=templates, out_dir=out,
                           base_url=base_url, quiet=True, jobs=1))
    return out


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of the embedded content that a test may change."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


@pytest.fixture(scope="session")
def built_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded content built for a site served at the root."""
    return build_into(CONTENT, tmp_path_factory.mktemp("root") / "output",
                      base_url="https://example.org/")


@pytest.fixture(scope="session")
def built_subpath(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded content built for a GitHub project site under /digest/."""
    return build_into(CONTENT, tmp_path_factory.mktemp("sub") / "output",
                      base_url="https://example.org/digest/", search=True)
