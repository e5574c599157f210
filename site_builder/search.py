"""Static full-text search: run Pagefind over the built paper pages.

Pagefind (the ``pagefind[bin]`` package) reads the finished HTML and writes its index and
its UI (``pagefind-ui.js``/``.css``) into ``pagefind/`` of the site. Only paper pages are
indexed; ``templates/paper.html`` marks what counts (``data-pagefind-body``) and the topic
filter (``data-pagefind-filter="topic"``). Without the binary the build warns once and
leaves search out; the search page then says so instead of failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from site_builder import urls
from site_builder.workers import die_with_parent

PAPER_GLOB = f"{urls.PAPERS}**/*.html"
BINARY_ENV = "SITE_BUILDER_PAGEFIND"  # a path to the binary, or "off" to skip search

_warned = False


class SearchIndexError(RuntimeError):
    """Pagefind ran but failed: the message carries its output."""


def search_switched_off() -> bool:
    return os.environ.get(BINARY_ENV, "").strip().lower() in ("off", "0", "false", "no")


def pagefind_executable() -> Path | None:
    """The Pagefind binary: $SITE_BUILDER_PAGEFIND, else the one ``pagefind[bin]`` bundles."""
    override = os.environ.get(BINARY_ENV, "").strip()
    if search_switched_off():
        return None
    if override:
        path = Path(override)
        return path if path.is_file() else None
    try:
        from pagefind_bin import get_executable
    except ImportError:
        return None
    try:
        return get_executable()
    except (FileNotFoundError, OSError):
        return None


def warn_once(message: str) -> None:
    """Say why search is missing, once per process (``serve`` rebuilds many times)."""
    global _warned
    if not _warned:
        _warned = True
        print(f"warning: {message}", file=sys.stderr)


def pagefind_command(binary: Path, site_dir: Path) -> list[str]:
    return [str(binary), "--site", str(site_dir), "--glob", PAPER_GLOB,
            "--output-subdir", urls.PAGEFIND.rstrip("/"), "--silent"]


def index_site(site_dir: Path) -> bool:
    """Index the paper pages of a built site in place; False when search was left out."""
    binary = pagefind_executable()
    if binary is None and search_switched_off():
        return False  # asked for: nothing to warn about (every test build runs like this)
    if binary is None:
        warn_once("the Pagefind binary is not available (pip install 'pagefind[bin]'), "
                  "so the site has no search index this time")
        return False
    shutil.rmtree(site_dir / urls.PAGEFIND, ignore_errors=True)  # no stale index files
    try:
        result = subprocess.run(pagefind_command(binary, site_dir), capture_output=True,
                                text=True, check=False, timeout=600,
                                preexec_fn=die_with_parent)
    except OSError as exc:  # not executable here, e.g. another platform's binary
        warn_once(f"could not run Pagefind ({binary}: {exc}); the site has no search index")
        return False
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise SearchIndexError(f"Pagefind failed (exit {result.returncode}): {output}")
    return True
