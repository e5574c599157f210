"""Hostile environments: concurrent builds, killed helpers, a strict umask, connection floods
on the dev server, the machine's time zone, and inputs that made steps super-linear."""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import zoneinfo
from pathlib import Path

import pytest

from site_builder.build import BuildOptions, build
from site_builder.importers import site_today
from site_builder.markup import MarkupRenderer
from site_builder.server import BoundedHTTPServer
from site_builder.writer import lock_parent, remove_leftovers, unlock
from tests.conftest import TEMPLATES
from tests.test_robustness import make_content


def options(content: Path, out: Path) -> BuildOptions:
    return BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=out, quiet=True,
                        jobs=1)


def test_the_up_to_date_check_runs_under_the_lock(tmp_path):
    """A build that waits for another build of the same output decides what to do only once
    it has the lock, so it never reports 'up to date' over the other build's site."""
    content = make_content(tmp_path / "content")
    out = tmp_path / "output"
    build(options(content, out))
    expected = (out / "index.html").read_bytes()
    lock = lock_parent(out)  # another build is running
    reports = []
    waiting = threading.Thread(target=lambda: reports.append(build(options(content, out))))
    waiting.start()
    time.sleep(0.5)
    assert waiting.is_alive(), "the second build did not wait for the lock"
    (out / "index.html").write_bytes(b"<p>the other build's site</p>")  # what it published
    unlock(lock)
    waiting.join(60)
    assert reports and not reports[0].unchanged
    assert (out / "index.html").read_bytes() == expected


def test_output_is_world_readable_whatever_the_umask(tmp_path):
    content = make_content(tmp_path / "content")
    out = tmp_path / "output"
    previous = os.umask(0o077)
    try:
        build(options(content, out))
    finally:
        os.umask(previous)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [out, *out.rglob("*")]}
    assert {path: mode for path, mode in modes.items()
            if mode != (0o755 if (out / path).is_dir() else 0o644)} == {}
    assert os.umask(previous) == previous  # the build put the umask back


CHILD_OF_A_BUILD = """
import subprocess, sys, time
from site_builder.workers import die_with_parent
child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_killed_builds_helpers_die_with_it():
    """cp, Pagefind and render workers of a SIGKILLed build must not go on writing into its
    staging folder (the next build could not remove it while they do)."""
    parent = subprocess.Popen([sys.executable, "-c", CHILD_OF_A_BUILD], stdout=subprocess.PIPE,
                              text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _attempt in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        try:  # reap it if it is our grandchild turned zombie under init: not ours to wait
            os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        pytest.fail("the helper outlived the killed build")


def test_a_staging_folder_still_being_written_is_removed(tmp_path):
    out = tmp_path / "output"
    out.mkdir()
    staging = tmp_path / ".output.staging-999999"
    stop = time.monotonic() + 0.4

    def late_writer():  # a helper of the dead build, finishing its last writes
        number = 0
        while time.monotonic() < stop:
            folder = staging / "papers" / f"p{number}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "index.html").write_text("x")
            except OSError:
                pass
            number += 1

    writer = threading.Thread(target=late_writer)
    writer.start()
    time.sleep(0.05)
    remove_leftovers(out)
    writer.join()
    remove_leftovers(out)  # as the next build's first step would, had the first one raced
    assert not staging.exists()


def test_the_dev_server_bounds_its_connections(tmp_path):
    (tmp_path / "index.html").write_text("hello")
    handler_dir = str(tmp_path)

    class Handler(http.server.SimpleHTTPRequestHandler):
        timeout = 2

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=handler_dir, **kwargs)

        def log_message(self, format, *args):  # noqa: A002
            pass

    class Small(BoundedHTTPServer):
        max_connections = 3

    server = Small(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    time.sleep(0.5)
    assert threading.active_count() - before <= 3
    for sock in idle:
        sock.close()
    time.sleep(0.3)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/index.html")
    assert connection.getresponse().read() == b"hello"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("machine_zone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"])
def test_today_for_a_copied_page_is_the_sites_not_the_machines(tmp_path, monkeypatch,
                                                               machine_zone):
    content = make_content(tmp_path / "content", {"site.yaml": "timezone: Asia/Tokyo\n"})
    monkeypatch.setenv("TZ", machine_zone)
    time.tzset()
    try:
        expected = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo")).date()
        assert site_today(content) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("unit", ["a\n=\n", "a\n-\n", "---\n", "* a\n"])
def test_markdown_of_many_lines_is_shown_as_plain_paragraphs(unit):
    """Python-Markdown is quadratic in lines for these; over the bound the text is escaped
    paragraphs, which still show every word."""
    html = MarkupRenderer().block(unit * 600)
    assert "<h1>" not in html and "<h2>" not in html and "<hr" not in html and "<li>" not in html
    assert html.startswith("<p>")


@pytest.mark.slow
def test_many_random_kills_never_leave_staging_folders_after_the_next_build(tmp_path):
    """SIGKILL a build at 16 random moments; the next build, started at once (its helpers may
    still be dying), must exit with no staging folder beside the output and an intact site."""
    import random

    from tests.test_atomic import (
        SEARCH_INDEX,
        build_command,
        file_hashes,
        generate_content,
        leftovers,
        run_build,
    )

    content = generate_content(tmp_path / "content", 150)  # 16 trials matter more than size
    out = tmp_path / "output"
    started = time.monotonic()
    run_build(content, out)
    seconds = time.monotonic() - started
    rng = random.Random(14)
    for trial in range(16):
        (content / "site.yaml").write_text(f"title: Digest {trial}\n"
                                           "base_url: https://example.org/big/\n")
        process = subprocess.Popen(build_command(content, out, *(("--clean",) if trial % 4 == 0
                                                                else ())),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, seconds))
        process.kill()
        process.wait()
        run_build(content, out)  # at once: no waiting for the killed build's helpers
        assert leftovers(out) == [], f"trial {trial}: a staging folder outlived the next build"
        pages = file_hashes(out, skip=SEARCH_INDEX)
        assert f"Digest {trial}".encode() in (out / "index.html").read_bytes()
        assert pages, trial
