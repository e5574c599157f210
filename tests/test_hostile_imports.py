"""Hostile import sources: slow, compressed, cut-short and redirecting servers; JSON that
attacks the parser; dates past the year 9999; records that `check` would refuse; imports
killed half-way. Each ends in a message naming the source (exit 1) or a clean import."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import site_builder.importers as importers
from site_builder.cli import main
from site_builder.transaction import JOURNAL
from tests.trees import snapshot

PAPER = {"paper": {"id": "2404.00001", "title": "A paper", "summary": "An abstract."},
         "publishedAt": "2026-04-21T08:00:00Z"}
BODY = json.dumps([PAPER]).encode()


class HostileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        route = getattr(self, "route_" + self.path.strip("/").replace("-", "_"), None)
        if route is None:
            self.send_error(404, "Not Found")
            return
        route()

    def answer(self, body: bytes, length: int | None = None, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def route_ok(self) -> None:
        self.answer(BODY)

    def route_drip(self) -> None:  # one byte every 0.2 s: each read is quick, the whole is not
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        for byte in BODY:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.2)

    def route_gzip(self) -> None:
        self.answer(gzip.compress(BODY), Content_Encoding="gzip")

    def route_gzip_bomb(self) -> None:
        self.answer(gzip.compress(b" " * 3_000_000), Content_Encoding="gzip")

    def route_brotli(self) -> None:
        self.answer(b"\x0b\x02\x80", Content_Encoding="br")

    def route_short(self) -> None:
        self.answer(BODY[:10], length=len(BODY))
        self.close_connection = True

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route_to_ftp(self) -> None:
        self.redirect("ftp://127.0.0.1/papers.json")

    def route_to_file(self) -> None:
        self.redirect("file:///etc/passwd")

    def route_loop(self) -> None:
        self.redirect("/loop")

    def route_to_ok(self) -> None:
        self.redirect("/ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (the dripping download, cut off by the importer) is what these
        tests want; its traceback must not land in a later test's captured stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), HostileHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def run_import(capsys: pytest.CaptureFixture[str], content: Path, *sources: str,
               extra: tuple[str, ...] = ()) -> tuple[int, str]:
    code = main(["import", *sources, "--content", str(content), *extra])
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, source: str, text: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert any(line.startswith(f"{source}") and text in line for line in err.splitlines()), err


def test_a_dripping_server_is_bounded_by_the_whole_download_time(
        server, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importers, "FETCH_TIMEOUT", 1)
    started = time.monotonic()
    code, err = run_import(capsys, tmp_path / "c", f"{server}/drip")
    assert time.monotonic() - started < 5  # the body alone takes len(BODY) * 0.2 s (> 20 s)
    assert_refused(code, err, f"{server}/drip", "took longer than 1 seconds")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("route", ["to-ftp", "to-file"])
def test_redirects_only_to_http(server, tmp_path, capsys, route):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/{route}")
    assert_refused(code, err, f"{server}/{route}", "cannot fetch")
    assert "not an http(s) URL" in err or "not allowed" in err
    assert not (tmp_path / "c").exists()


def test_redirect_loops_are_bounded(server, tmp_path, capsys):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/loop")
    assert_refused(code, err, f"{server}/loop", "cannot fetch")


def test_an_http_redirect_is_followed(server, tmp_path, capsys):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/to-ok")
    assert code == 0, err
    assert (tmp_path / "c/days/2026-04-21/2404.00001.md").is_file()


def test_a_gzip_answer_is_read(server, tmp_path, capsys):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/gzip")
    assert code == 0, err
    assert (tmp_path / "c/days/2026-04-21/2404.00001.md").is_file()


def test_a_gzip_bomb_is_refused(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importers, "MAX_SOURCE_BYTES", 1_000_000)
    code, err = run_import(capsys, tmp_path / "c", f"{server}/gzip-bomb")
    assert_refused(code, err, f"{server}/gzip-bomb", "once uncompressed")


def test_an_unknown_compression_is_named(server, tmp_path, capsys):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/brotli")
    assert_refused(code, err, f"{server}/brotli", "compressed the answer with 'br'")


def test_a_body_shorter_than_announced_says_so(server, tmp_path, capsys):
    code, err = run_import(capsys, tmp_path / "c", f"{server}/short")
    assert_refused(code, err, f"{server}/short", "closed after 10 of")


# (name, text of the source, --format, message text)
HOSTILE_JSON = [
    ("deep-array", "[" * 100_000, "hf-api", "nested more than"),
    ("deep-object", '{"paper": ' * 50_000, "hf-api", "nested more than"),
    ("deep-jsonl", '{"title": ' + "[" * 100_000 + "\n", "jsonl", "nested more than"),
    ("long-number", '[{"paper": {"id": "x", "title": "T", "upvotes": ' + "9" * 5001 + "}}]",
     "hf-api", "too many digits"),
    ("long-number-jsonl", '{"title": "T", "listed": "2026-04-21", "upvotes": ' + "9" * 5001
     + "}\n", "jsonl", "too many digits"),
    ("jsonl-far-date", '{"title": "T", "listed": "9999-12-31T23:00-05:00"}\n', "jsonl",
     "'listed' must be a date"),
]


@pytest.mark.parametrize(("text", "fmt", "message"), [c[1:] for c in HOSTILE_JSON],
                         ids=[c[0] for c in HOSTILE_JSON])
def test_hostile_json_is_an_input_error_with_a_position(tmp_path, capsys, text, fmt, message):
    source = tmp_path / "source.json"
    source.write_text(text)
    code, err = run_import(capsys, tmp_path / "c", str(source), extra=("--format", fmt))
    assert_refused(code, err, str(source), message)
    assert f"{source}:1:" in err


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity", "1e400"])
def test_non_finite_counts_are_treated_as_unknown(tmp_path, capsys, value):
    source = tmp_path / "source.json"
    source.write_text('[{"paper": {"id": "2404.00001", "title": "T", "upvotes": ' + value
                      + '}, "publishedAt": "2026-04-21T08:00:00Z"}]')
    code, err = run_import(capsys, tmp_path / "c", str(source))
    assert code == 0, err
    assert "upvotes" not in (tmp_path / "c/days/2026-04-21/2404.00001.md").read_text()


def test_dates_past_the_year_9999_are_not_an_internal_error(tmp_path, capsys):
    far = "9999-12-31T23:00-05:00"
    api = tmp_path / "api.json"
    api.write_text(json.dumps([{"paper": {"id": "2404.00001", "title": "T", "publishedAt": far,
                                          "withdrawnAt": far}, "publishedAt": far}]))
    code, err = run_import(capsys, tmp_path / "c", str(api))
    assert_refused(code, err, str(api), "no listing day")
    atom = tmp_path / "feed.xml"
    atom.write_text('<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
                    "<id>http://arxiv.org/abs/2404.00001v1</id><title>T</title>"
                    f"<published>{far}</published></entry></feed>")
    code, err = run_import(capsys, tmp_path / "c", str(atom), extra=("--date", "2026-04-21"))
    assert code == 0, err
    assert "published" not in (tmp_path / "c/days/2026-04-21/2404.00001.md").read_text()


def test_an_external_dtd_in_a_feed_is_refused(tmp_path, capsys):
    feed = tmp_path / "feed.xml"
    feed.write_text('<?xml version="1.0"?>\n<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/x.dtd">\n'
                    '<feed xmlns="http://www.w3.org/2005/Atom"></feed>\n')
    code, err = run_import(capsys, tmp_path / "c", str(feed), extra=("--format", "arxiv"))
    assert_refused(code, err, str(feed), "unsafe XML refused")


@pytest.mark.parametrize(("org", "abstract"), [("aux", "x"), ("COM1", "x"), ("Acme", "x"),
                                               ("Fine", "y" * 2_100_000)])
def test_an_import_never_writes_what_check_refuses(tmp_path, capsys, org, abstract):
    content = tmp_path / "c"
    (content / "days/2026-04-20").mkdir(parents=True)
    (content / "days/2026-04-20/old.md").write_text(
        "---\ntitle: Old\norganization: acme\n---\n")
    source = tmp_path / "api.json"
    source.write_text(json.dumps([{"paper": {"id": "2404.00001", "title": "T", "summary": abstract,
                                             "organization": {"name": org}},
                                   "publishedAt": "2026-04-21T08:00:00Z"}]))
    code, err = run_import(capsys, content, str(source))
    assert code == 0, err
    assert main(["check", "--content", str(content)]) == 0, capsys.readouterr().err


def test_a_failed_import_leaves_no_temporary_files(tmp_path, monkeypatch, capsys):
    content = tmp_path / "c"
    source = tmp_path / "api.json"
    source.write_text(json.dumps([dict(PAPER, paper=dict(PAPER["paper"], id=f"2404.0000{i}",
                                                         title=f"T{i}")) for i in range(5)]))
    calls = []

    def failing_replace(src, dst):  # the disk fills up while the files move in
        calls.append(dst)
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr("site_builder.transaction.os.replace", failing_replace)
    code, err = run_import(capsys, content, str(source))
    assert_refused(code, err, "", "No space left on device (the disk is full")
    assert [p.name for p in content.rglob("*") if p.is_file()] == []


KILL_SCRIPT = """
import sys
from site_builder.cli import main
sys.exit(main(["import", sys.argv[1], "--content", sys.argv[2]]))
"""


@pytest.mark.slow
def test_a_killed_import_leaves_the_content_as_before_or_after(tmp_path):
    """SIGKILL at random moments of a 400-paper import: each time, the content the next
    command reads is the content before or the content after, and no temporary file stays."""
    items = [{"paper": {"id": f"2404.{i:05d}", "title": f"Paper {i}", "summary": "x " * 200},
              "publishedAt": f"2026-04-{1 + i % 28:02d}T08:00:00Z"} for i in range(400)]
    source = tmp_path / "api.json"
    source.write_text(json.dumps(items))
    base = tmp_path / "base"
    (base / "days/2026-04-01").mkdir(parents=True)
    (base / "days/2026-04-01/2404.00000.md").write_text("---\ntitle: Paper 0\n---\n")
    after = tmp_path / "after"
    subprocess.run(["cp", "-a", str(base), str(after)], check=True)
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(source), str(after)], check=True,
                   capture_output=True)
    expected_after = snapshot(after)
    expected_before = snapshot(base)
    rng = random.Random(16)
    outcomes = set()
    for trial in range(12):
        content = tmp_path / f"trial{trial}"
        subprocess.run(["cp", "-a", str(base), str(content)], check=True)
        process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(source), str(content)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert main(["check", "--content", str(content)]) in (0, 1)  # finishes a journal
        assert not (content / JOURNAL).exists()
        files = snapshot(content)
        visible = {k: v for k, v in files.items() if not any(
            part.startswith(".") for part in Path(k).parts)}
        assert visible in (expected_before, expected_after), f"trial {trial}: half an import"
        outcomes.add("after" if visible == expected_after else "before")
        # the next import removes what the killed one left, and converges
        subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(source), str(content)],
                       check=True, capture_output=True)
        assert snapshot(content) == expected_after
        os.system(f"rm -rf {content}")
    assert outcomes  # at least one trial ran
