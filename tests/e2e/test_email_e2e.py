"""End to end: the site served over HTTP under /digest/, feeds read by feedparser over HTTP,
and ``site-builder email`` run as a real process against the served digest.xml."""

from __future__ import annotations

import email
import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from email import policy
from pathlib import Path

import feedparser
import pytest
import yaml
from aiosmtpd.controller import Controller

from site_builder.build import BuildOptions, build

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "site_builder" / "theme"
CONTENT = REPO / "content"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The embedded content built for http://127.0.0.1:PORT/digest/ and served from there."""
    root = tmp_path_factory.mktemp("served")
    content = root / "content"
    shutil.copytree(CONTENT, content)
    handler = functools.partial(QuietHandler, directory=str(root / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}/digest/"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITE_BUILDER_PAGEFIND", "off")  # search is not what this tests
        build(BuildOptions(content, TEMPLATES, root / "www" / "digest", url, jobs=1,
                           quiet=True))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, content
    server.shutdown()
    server.server_close()


def site_builder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI as a separate process on this working tree, without SMTP credentials."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_USER", "SMTP_PASSWORD")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "site_builder", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def latest_day_titles(content: Path) -> tuple[str, list[str]]:
    day = sorted(p for p in (content / "days").iterdir() if p.is_dir())[-1]
    titles = []
    for path in sorted(day.glob("*.md")):
        if path.name != "index.md":
            front = path.read_text("utf-8").split("---\n")[1]
            titles.append(str(yaml.safe_load(front)["title"]))
    return day.name, titles


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def test_feeds_parse_over_http(served):
    url, _content = served
    for name in ("feed.xml", "atom.xml", "digest.xml", "weekly.xml",
                 "topics/optimization/feed.xml", "topics/optimization/atom.xml"):
        parsed = feedparser.parse(url + name)
        assert parsed.get("status") == 200, name
        assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
        assert parsed.entries, name
        assert all(e.link.startswith(url) for e in parsed.entries), name


def test_email_command_reads_the_served_digest(served, tmp_path):
    url, content = served
    out = tmp_path / "x.eml"
    result = site_builder("email", "--feed", url + "digest.xml", "--out", str(out),
                          "--templates", str(TEMPLATES), "--content", str(content),
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    message = read_eml(out)
    day, titles = latest_day_titles(content)
    assert message["Subject"].startswith("Daily Papers — ")
    assert message["Subject"].endswith(f": {len(titles)} papers")
    assert message["Message-ID"].startswith(f"<digest-{day}.")
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    # under Gmail's 102 KB clip, footer included (issue 14, item 2)
    assert len(message.get_body(("html",)).as_bytes()) < 102_000
    assert "You get this email because" in body[-1500:]
    flat = " ".join(text.split())  # the text part is wrapped at 78 characters
    for title in titles:
        assert " ".join(title.split()) in flat, title
    paper_links = [line.strip() for line in text.splitlines()
                   if line.strip().startswith("http") and "/papers/" in line]
    assert len(paper_links) == len(titles)
    assert all(link.startswith(url + "papers/") for link in paper_links)
    assert f'href="{url}date/{day}/"' in body


def test_a_missing_feed_url_is_a_clear_error(served, tmp_path):
    url, _content = served
    result = site_builder("email", "--feed", url + "no-such-feed.xml", "--out",
                          str(tmp_path / "x.eml"), "--templates", str(TEMPLATES), cwd=tmp_path)
    assert result.returncode == 1
    assert "HTTP 404" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.eml").exists()


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_email_command_sends_to_every_recipient(served, tmp_path):
    url, content = served
    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        recipients = tmp_path / "subscribers.txt"
        recipients.write_text("ada@example.org\nalan@example.org\ngrace@example.org\n", "utf-8")
        result = site_builder("email", "--feed", url + "digest.xml", "--smtp",
                              f"127.0.0.1:{port}", "--from", "papers@example.org",
                              "--to-file", str(recipients), "--templates", str(TEMPLATES),
                              "--content", str(content), cwd=tmp_path)
    finally:
        controller.stop()
    assert result.returncode == 0, result.stderr
    assert "sent 3 of 3 messages" in result.stderr
    assert [to for to, _data in inbox.received] == [
        ["ada@example.org"], ["alan@example.org"], ["grace@example.org"]]
    messages = [email.message_from_bytes(data, policy=policy.default)
                for _to, data in inbox.received]
    assert len({m["Message-ID"] for m in messages}) == 1
    assert [m["To"] for m in messages] == ["ada@example.org", "alan@example.org",
                                           "grace@example.org"]


@pytest.mark.browser
@pytest.mark.parametrize("width", [600, 375])
def test_the_html_part_fits_a_desktop_and_a_phone(served, tmp_path, width):
    """Mail clients show the HTML part at about 600 px, phones at about 375: nothing may
    stick out sideways (a long citation key in an abstract once did at 375 px)."""
    from tests.e2e.conftest import CHROMIUM, LAUNCH_ARGS, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    url, content = served
    out = tmp_path / "x.eml"
    result = site_builder("email", "--feed", url + "digest.xml", "--out", str(out),
                          "--content", str(content), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page_file = tmp_path / "part.html"
    page_file.write_text(read_eml(out).get_body(("html",)).get_content(), "utf-8")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=LAUNCH_ARGS)
        try:
            page = chromium.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            scroll, client = page.evaluate("[document.documentElement.scrollWidth, "
                                           "document.documentElement.clientWidth]")
        finally:
            chromium.close()
    assert scroll <= client, f"{scroll - client} px stick out at {width} px"
