"""Where sources come from: files, standard input, http(s) URLs; limits and clean errors."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import site_builder.importers as importers
from site_builder.cli import main
from site_builder.importers import ImportOptions, import_sources
from tests.trees import snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"
DAILY = FIXTURES / "hf_api_daily.json"
RSS = FIXTURES / "arxiv_rss.xml"


class FixtureHandler(http.server.BaseHTTPRequestHandler):
    """Serves the fixtures the way the real services do (paths and query strings)."""

    routes = {
        "/api/daily_papers?date=2025-11-11": (DAILY, "application/json; charset=utf-8"),
        "/rss/cs.CL": (RSS, "application/rss+xml"),
    }
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.requests.append(self.path)
        if self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            return
        if self.path == "/no-length":  # HTTP/1.0: the body ends when the connection closes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(RSS.read_bytes())
            return
        if self.path not in self.routes:
            self.send_error(404, "Not Found")
            return
        path, content_type = self.routes[self.path]
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output clean


@pytest.fixture
def server() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 in a thread; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FixtureHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_import_from_urls(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                          ) -> None:
    content = tmp_path / "content"
    url = f"{server}/api/daily_papers?date=2025-11-11"
    assert main(["import", url, "--format", "hf-api", "--content", str(content)]) == 0
    assert "4 added" in capsys.readouterr().out
    assert (content / "days" / "2025-11-11" / "2511.07301.md").is_file()
    # auto-detected, several URLs in one call
    assert main(["import", f"{server}/rss/cs.CL", url, "--content", str(content)]) == 0
    out = capsys.readouterr().out
    assert "1 added, 1 merged, 4 unchanged, 2 skipped" in out
    assert f"{server}/rss/cs.CL:45 2409.01234" in out  # the URL is shown as it was given


def test_http_error_is_clean_and_changes_nothing(server: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    import_sources([str(DAILY)], ImportOptions(content_dir=content))
    before = snapshot(content)
    missing = f"{server}/api/daily_papers?date=1999-01-01"
    assert main(["import", f"{server}/rss/cs.CL", missing, "--content", str(content)]) == 1
    err = capsys.readouterr().err
    assert f"{missing}: cannot fetch: the server answered HTTP 404 Not Found" in err
    assert "Traceback" not in err
    assert snapshot(content) == before


def test_unreachable_url_is_a_clean_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/daily_papers"
    assert main(["import", url, "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{url}: cannot fetch: ")
    assert "refused" in err.lower()
    assert "Traceback" not in err
    assert not (tmp_path / "c").exists()


def test_a_server_that_never_answers_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(importers, "FETCH_TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections (backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/slow"
        assert main(["import", url, "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert f"{url}: cannot fetch:" in err
    assert "0.3 seconds" in err or "timed out" in err


def test_oversized_sources_are_refused(tmp_path: Path, server: str,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(importers, "MAX_SOURCE_BYTES", 1000)
    assert main(["import", str(DAILY), "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "source is too large" in err and "the limit is 1,000" in err
    assert main(["import", f"{server}/huge", "--content", str(tmp_path / "c")]) == 1
    assert "source is too large (1,000,000,000 bytes" in capsys.readouterr().err
    assert main(["import", f"{server}/rss/cs.CL", "--content", str(tmp_path / "c")]) == 1
    assert f"source is too large ({len(RSS.read_bytes()):,} bytes" in capsys.readouterr().err
    assert main(["import", f"{server}/no-length", "--content", str(tmp_path / "c")]) == 1
    assert "source is larger than 1,000 bytes" in capsys.readouterr().err  # counted as read
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 2000))
    assert main(["import", "-", "--content", str(tmp_path / "c")]) == 1
    assert "<stdin>: source is larger than 1,000 bytes" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_stdin_with_a_byte_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    class Stdin:
        buffer = io.BytesIO(DAILY.read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["import", "-", "--content", str(tmp_path / "c")]) == 0
    assert "4 added" in capsys.readouterr().out


@pytest.mark.parametrize(("data", "message"), [
    (b"", "cannot tell the format of this source (it is empty)"),
    (b"Just some notes.\nNothing to import.\n", "cannot tell the format of this source"),
    (b'{"title": "Caf\xe9", "listed": "2025-01-01"}\n', "not valid UTF-8 (byte 0xe9"),
    (b"<html><body>Not a feed</body></html>", "cannot tell the format"),
])
def test_unusable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes,
                        message: str) -> None:
    source = tmp_path / "input.dat"
    source.write_bytes(data)
    assert main(["import", str(source), "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert message in err and "input.dat" in err
    assert "Traceback" not in err


def test_missing_file_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "nope.json"), str(tmp_path), "--content",
                 str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "nope.json: no such file" in err
    assert "is a folder, not a file" in err
    assert "2 problems found." in err


def test_a_windows_saved_file_with_bom_and_crlf(tmp_path: Path) -> None:
    source = tmp_path / "papers.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + b'{"title": "A", "listed": "2025-01-01"}\r\n'
                       b'{"title": "B", "listed": "2025-01-01"}\r\n')
    summary = import_sources([str(source)], ImportOptions(content_dir=tmp_path / "c"))
    assert summary.count("added") == 2


def test_format_option_forces_the_parser(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(RSS), "--format", "jsonl", "--content", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "arxiv_rss.xml:1: invalid JSON" in err
    assert "Traceback" not in err


def test_every_import_format_is_a_choice_and_explained(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # argparse would break 'arxiv-rss' at its hyphen
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in ("hf-page", "hf-api", "arxiv", "arxiv-rss", "jsonl"):
        assert f"{name}, " in help_text
        assert name in importers.FORMATS
    assert set(importers.PARSERS) == set(importers.FORMATS)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "x.txt", "--format", "bibtex"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'bibtex'" in capsys.readouterr().err
