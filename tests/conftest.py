"""Shared fixtures: the repository's templates and content, and built copies of the site."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from site_builder.build import BuildOptions, build

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "site_builder" / "theme"
CONTENT = REPO / "content"
SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"


def build_into(content: Path, out: Path, base_url: str | None = None,
               templates: Path = TEMPLATES) -> Path:
    """Build a content folder into ``out`` quietly and return the output folder."""
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
                      base_url="https://example.org/digest/")
