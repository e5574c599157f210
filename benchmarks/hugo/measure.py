"""Time Hugo on the benchmark corpus: clean build, no-op rebuild, +1 day (for bench.py).

Hugo is whatever ``hugo`` is on the PATH (Debian's package here); without it the comparison
is refused with a message. site-builder itself never runs or needs Hugo.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.hugo.convert import add_papers, new_site


@dataclass
class HugoResult:
    version: str
    clean_s: float
    noop_s: float
    new_day_s: float
    files: int
    bytes: int  # the output's files, added up


def hugo_binary() -> str:
    found = shutil.which("hugo")
    if found is None:
        raise SystemExit("--compare hugo needs the hugo binary on the PATH "
                         "(e.g. apt-get install hugo)")
    return found


def hugo_version(binary: str) -> str:
    result = subprocess.run([binary, "version"], capture_output=True, text=True, check=False)
    words = result.stdout.split()
    return words[1] if len(words) > 1 else result.stdout.strip()


def run_hugo(binary: str, site: Path, out: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([binary, "--source", str(site), "--destination", str(out),
                             "--quiet"], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"hugo failed:\n{result.stderr or result.stdout}")
    return seconds


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) of every file under the folder."""
    sizes = [path.stat().st_size for path in folder.rglob("*") if path.is_file()]
    return len(sizes), sum(sizes)


def measure(base: list[dict], days: list[list[dict]], workdir: Path) -> HugoResult:
    """Build ``base`` clean, again with nothing changed, then add each held-back day and
    build; the +1 day figure is the last of these (the same day bench.py reports for us)."""
    binary = hugo_binary()
    site, out = workdir / "hugo-site", workdir / "hugo-output"
    new_site(site)
    add_papers(site, base)
    clean = run_hugo(binary, site, out)
    files, size = folder_size(out)
    noop = run_hugo(binary, site, out)
    new_day = 0.0
    for records in days:
        add_papers(site, records)
        new_day = run_hugo(binary, site, out)
    return HugoResult(hugo_version(binary), clean, noop, new_day, files, size)
