"""Builds are atomic and reproducible.

A build killed outright (SIGKILL) or interrupted (Ctrl-C) at any moment leaves the previous
output complete and unchanged; the next build removes the staging folders a dead build left
and succeeds. Two builds of the same input are byte-identical, whatever the time zone, locale,
hash seed, SOURCE_DATE_EPOCH or clock.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from site_builder.cli import main
from site_builder.writer import SiteWriter
from tests.conftest import CONTENT, REPO, TEMPLATES

PAPERS = 600
TOPICS = ("ml", "vision", "nlp", "theory", "rl")
WORDS = ("neural network transformer attention diffusion model learning data robust sparse "
         "graph token loss scaling optimal transport regularization").split()
SEARCH_INDEX = "pagefind/"  # written by search.update: see test_search_index_is_stable


def generate_content(root: Path, papers: int, title: str = "Big digest") -> Path:
    """A content folder with many papers over two months (deterministic)."""
    rng = random.Random(7)
    (root / "topics").mkdir(parents=True)
    for slug in TOPICS:
        (root / "topics" / f"{slug}.md").write_text(
            f"---\ntitle: Topic {slug}\nkeywords: [{WORDS[len(slug)]}]\n---\nAbout {slug}.\n")
    (root / "site.yaml").write_text(f"title: {title}\nbase_url: https://example.org/big/\n")
    for number in range(papers):
        day = f"2026-{1 + number % 2:02d}-{1 + number % 28:02d}"
        folder = root / "days" / day
        folder.mkdir(parents=True, exist_ok=True)
        words = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
        abstract = " ".join(rng.choice(WORDS) for _ in range(120))
        (folder / f"paper-{number:05d}.md").write_text(
            f"---\ntitle: {words} {number}\nauthors: [Ada Lovelace, Alan Turing]\n"
            f"upvotes: {rng.randrange(100)}\ntopics: [{rng.choice(TOPICS)}]\n"
            f"organization: org{number % 7}\n---\n{abstract} with $x^{{{number}}}$.\n")
    return root


def file_hashes(folder: Path, skip: str = "") -> dict[str, str]:
    """Every file and symlink under a folder (relative path -> hash), folders as markers."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if skip and rel.startswith(skip):
            continue
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[rel + "/"] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def build_command(content: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "site_builder", "build", "--content", str(content),
            "--templates", str(TEMPLATES), "--out", str(out), "--quiet", *extra]


def run_build(content: Path, out: Path, *extra: str, env: dict[str, str] | None = None,
              cwd: Path = REPO) -> None:
    result = subprocess.run(build_command(content, out, *extra), capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr


def wait_for_orphans(out: Path, seconds: float = 5.0) -> None:
    """Worker processes of a killed build finish on their own; give them a moment."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = subprocess.run(["pgrep", "-f", "--", f"--out {out}"], capture_output=True,
                              text=True)
        if not busy.stdout.strip():
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    """Content A built into an output folder; returns (root, output, seconds it took)."""
    root = tmp_path_factory.mktemp("big")
    content = generate_content(root / "content", PAPERS)
    out = root / "output"
    started = time.monotonic()
    run_build(content, out)
    return root, out, time.monotonic() - started


@pytest.mark.slow
def test_killed_or_interrupted_builds_leave_the_previous_output(big_site):
    root, out, seconds = big_site
    before = file_hashes(out)
    # content B: another site title (every page changes) and one more paper
    content = root / "content"
    (content / "site.yaml").write_text("title: Changed digest\nbase_url: https://example.org/big/\n")
    (content / "days" / "2026-01-01" / "late.md").write_text("---\ntitle: Late paper\n---\nNew.\n")
    seen: list[dict[str, str]] = []
    moments = [0.05, *(seconds * f for f in (0.35, 0.6, 0.8, 0.97))]
    for number, delay in enumerate(moments):
        how = signal.SIGKILL if number % 2 == 0 else signal.SIGINT
        extra = ("--clean",) if number % 3 == 0 else ()
        process = subprocess.Popen(build_command(content, out, *extra), cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        time.sleep(delay)
        if how == signal.SIGKILL:
            process.kill()  # only the build itself, as the OOM killer would
        else:
            with_group = os.getpgid(process.pid)
            os.killpg(with_group, signal.SIGINT)  # Ctrl-C reaches the whole process group
        _, err = process.communicate(timeout=120)
        moment = f"{how.name} after {delay:.2f}s: exit {process.returncode}\n{err.decode()}"
        if how == signal.SIGINT and process.returncode not in (0, -signal.SIGINT):
            assert process.returncode == 130, moment
            assert "interrupted; the output folder is left complete" in err.decode(), moment
            own = f".{out.name}.staging-{process.pid}"  # a killed build's may remain
            assert own not in leftovers(out), "an interrupted build cleans up after itself"
        wait_for_orphans(out)
        seen.append((moment, file_hashes(out)))
    run_build(content, out)
    assert leftovers(out) == []
    after = file_hashes(out)
    assert after != before
    after_pages = {k: v for k, v in after.items() if not k.startswith(SEARCH_INDEX)}
    for moment, state in seen:
        pages = {k: v for k, v in state.items() if not k.startswith(SEARCH_INDEX)}
        damaged = sorted(set(pages.items()) ^ set(after_pages.items()))[:5]
        assert state == before or pages == after_pages, f"damaged output ({moment}): {damaged}"


def test_ctrl_c_during_parallel_rendering_prints_no_traceback(big_site, tmp_path):
    root, _out, _seconds = big_site
    out = tmp_path / "output"
    process = subprocess.Popen(build_command(root / "content", out, "--clean", "--jobs", "2"),
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    staging = tmp_path / f".output.staging-{process.pid}" / "papers"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if staging.is_dir() and len(list(staging.glob("*/index.html"))) > 20:
            break
        time.sleep(0.01)
    os.killpg(os.getpgid(process.pid), signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert b"Traceback" not in err, err.decode()[-2000:]


def test_ctrl_c_in_process_keeps_the_output(big_site, tmp_path, monkeypatch, capsys):
    _root, out, _seconds = big_site
    content = generate_content(tmp_path / "content", 40)
    target = tmp_path / "output"
    assert main(["build", "--content", str(content), "--templates", str(TEMPLATES),
                 "--out", str(target), "--quiet", "--jobs", "1"]) == 0
    before = file_hashes(target)
    calls = {"n": 0}
    from site_builder import parallel

    real = parallel.render_page

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 10:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(parallel, "render_page", interrupted)
    (content / "site.yaml").write_text("title: Other\n")
    code = main(["build", "--content", str(content), "--templates", str(TEMPLATES),
                 "--out", str(target), "--quiet", "--jobs", "1"])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert file_hashes(target) == before
    assert leftovers(target) == []


def make_stale_staging(parent: Path) -> Path:
    for stale in (".output.staging-999999", ".output.staging-1"):
        (parent / stale / "papers").mkdir(parents=True)
        (parent / stale / "papers" / "half.html").write_text("<p>half")
    unrelated = parent / ".other.staging-5"
    unrelated.mkdir()
    return unrelated


def test_stale_staging_folders_are_removed_by_the_next_build(tmp_path):
    content = generate_content(tmp_path / "content", 5)
    out = tmp_path / "output"
    run_build(content, out)
    unrelated = make_stale_staging(tmp_path)
    (content / "site.yaml").write_text("title: Changed\n")
    run_build(content, out)
    assert leftovers(out) == []
    assert unrelated.exists(), "only this output's staging folders are removed"


def test_stale_staging_folders_are_removed_by_an_unchanged_build(tmp_path):
    content = generate_content(tmp_path / "content", 5)
    out = tmp_path / "output"
    run_build(content, out)
    make_stale_staging(tmp_path)
    run_build(content, out)
    assert leftovers(out) == []


def test_an_output_lost_mid_swap_is_restored(tmp_path):
    """The fallback swap (two renames) can be killed between them: the next build restores."""
    content = generate_content(tmp_path / "content", 5)
    out = tmp_path / "output"
    run_build(content, out)
    before = file_hashes(out)
    out.rename(tmp_path / ".output.old-424242")
    writer = SiteWriter(out)  # the next build's writer repairs before it starts
    try:
        assert file_hashes(out) == before
        assert not (tmp_path / ".output.old-424242").exists()
    finally:
        writer.abort()
    assert leftovers(out) == []


def test_a_writer_never_writes_through_hard_links(tmp_path):
    """An incremental build may seed staging with hard links to the previous output."""
    out = tmp_path / "output"
    out.mkdir()
    (out / "index.html").write_text("previous")
    writer = SiteWriter(out)
    os.link(out / "index.html", writer.staging / "index.html")
    writer.write("index.html", "new")
    assert (out / "index.html").read_text() == "previous"
    writer.sync()
    assert (out / "index.html").read_text() == "new"


# -- reproducibility ---------------------------------------------------------------------------

CLOCK_SHIFT = """
import datetime, sys, time
SHIFT = 86400 * 365 * 7 + 12345.678  # seven years and a bit from now
real_date, real_datetime = datetime.date, datetime.datetime
real_time, real_time_ns = time.time, time.time_ns
real_localtime, real_gmtime, real_strftime = time.localtime, time.gmtime, time.strftime


class Like(type):  # real dates stay instances of the patched classes
    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.__bases__[0])


class FakeDateTime(real_datetime, metaclass=Like):
    @classmethod
    def now(cls, tz=None):
        return real_datetime.fromtimestamp(time.time(), tz)

    @classmethod
    def utcnow(cls):
        return real_datetime.fromtimestamp(time.time(), datetime.timezone.utc).replace(tzinfo=None)

    @classmethod
    def today(cls):
        return cls.now()


class FakeDate(real_date, metaclass=Like):
    @classmethod
    def today(cls):
        return real_date.fromtimestamp(time.time())


time.time = lambda: real_time() + SHIFT
time.time_ns = lambda: real_time_ns() + int(SHIFT * 1e9)
time.localtime = lambda secs=None: real_localtime(time.time() if secs is None else secs)
time.gmtime = lambda secs=None: real_gmtime(time.time() if secs is None else secs)
time.strftime = lambda fmt, t=None: real_strftime(fmt, time.localtime() if t is None else t)
datetime.datetime, datetime.date = FakeDateTime, FakeDate
assert datetime.date.today().year >= real_date.fromtimestamp(real_time()).year + 6
assert datetime.datetime.now().year >= real_date.fromtimestamp(real_time()).year + 6
from site_builder.cli import main
sys.exit(main(sys.argv[1:]))
"""


def reference_tree(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> dict:
    out = tmp_path_factory.mktemp("ref") / "output"
    run_build(CONTENT, out, env=env)
    return file_hashes(out, skip=SEARCH_INDEX)


NO_SEARCH = {"SITE_BUILDER_PAGEFIND": "off"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return reference_tree(tmp_path_factory, {"TZ": "UTC", "PYTHONHASHSEED": "0", **NO_SEARCH})


@pytest.mark.parametrize("env", [
    {"TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "12345"},
    {"TZ": "America/St_Johns", "PYTHONHASHSEED": "random", "LC_ALL": "C",
     "SOURCE_DATE_EPOCH": "0"},
    {"TZ": "Asia/Kathmandu", "LANG": "tr_TR.UTF-8", "LC_ALL": "tr_TR.UTF-8",
     "SOURCE_DATE_EPOCH": "1700000000"},
], ids=["kiritimati", "st-johns-c-locale", "kathmandu-turkish"])
def test_builds_are_byte_identical_anywhere(reference, tmp_path, env):
    out = tmp_path / "elsewhere" / "site"  # another folder name: no path leaks into files
    run_build(CONTENT, out, env={**env, **NO_SEARCH}, cwd=tmp_path)
    assert file_hashes(out, skip=SEARCH_INDEX) == reference


def test_builds_do_not_read_the_clock(reference, tmp_path):
    script = tmp_path / "shifted.py"
    script.write_text(CLOCK_SHIFT)
    out = tmp_path / "output"
    result = subprocess.run(
        [sys.executable, str(script), "build", "--content", str(CONTENT), "--templates",
         str(TEMPLATES), "--out", str(out), "--quiet", "--clean"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, **NO_SEARCH, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert file_hashes(out, skip=SEARCH_INDEX) == reference


def test_a_rebuild_into_the_same_folder_is_identical(reference, tmp_path):
    out = tmp_path / "output"
    run_build(CONTENT, out, env=NO_SEARCH)
    first = file_hashes(out)
    run_build(CONTENT, out, "--clean", env=NO_SEARCH)
    assert file_hashes(out) == first


def test_search_index_is_stable(tmp_path, search_on):
    first, second = tmp_path / "a" / "output", tmp_path / "b" / "output"
    run_build(CONTENT, first)
    run_build(CONTENT, second)
    index = [file_hashes(folder / SEARCH_INDEX) for folder in (first, second)]
    assert index[0] == index[1]
