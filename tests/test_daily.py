"""``site-builder update``, ``email --pending``, ``mark-mailed`` and the state files, one
behaviour at a time, against the simulated API and SMTP server of ``tests/hfsim.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest

from site_builder.cli import main
from site_builder.state import load_state, recipient_key
from tests.conftest import build_into
from tests.hfsim import SimPaper, SmtpServer, World, at, mailed, start_api

MONDAY = dt.date(2026, 4, 20)
TUESDAY = MONDAY + dt.timedelta(days=1)


def paper(number: int, day: dt.date = MONDAY, hour: int = 9, **extra) -> SimPaper:
    return SimPaper(f"2604.{number:05d}", f"Paper number {number}", day, at(day, hour),
                    10 + number, 0.0, **extra)


@pytest.fixture
def api():
    world = World()
    server, url = start_api(world)
    yield world, url
    server.shutdown()


def make_site(tmp_path: Path, url: str, extra: str = "") -> Path:
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    (content / "site.yaml").write_text(
        f"title: Daily Test\nbase_url: https://papers.example.org/\ndaily:\n  sources:\n"
        f"    - type: hf-api\n      url: {url}\n  window_days: 3\n{extra}", "utf-8")
    return content


def update(content: Path, now: dt.datetime) -> int:
    return main(["update", "--content", str(content), "--now", now.isoformat()])


def papers_on(content: Path, day: dt.date) -> list[str]:
    return sorted(p.stem for p in (content / "days" / day.isoformat()).glob("*.md"))


def test_daily_settings_are_checked_with_their_line(tmp_path, capsys):
    content = tmp_path / "content"
    content.mkdir()
    (content / "site.yaml").write_text(
        "title: T\ndaily:\n  window_days: 0\n  sources:\n    - arxiv\n  close_after: 3\n",
        "utf-8")
    assert main(["update", "--content", str(content)]) == 1
    err = capsys.readouterr().err
    assert f"{content / 'site.yaml'}:3: 'daily.window_days' must be a whole number" in err
    assert "daily.sources[0].type: 'arxiv' is not a daily source (known: hf-api)" in err
    assert ":6: unknown setting 'daily.close_after' (did you mean 'close_after_hours'?)" in err


def test_a_busy_day_is_read_page_by_page_until_a_short_page(tmp_path, api, capsys):
    world, url = api
    world.papers = [paper(n) for n in range(1, 251)]
    world.now = at(MONDAY, 22, 43)
    content = make_site(tmp_path, url)
    before = world.requests
    assert update(content, world.now) == 0
    assert len(papers_on(content, MONDAY)) == 250  # 100 + 100 + 50: three pages
    assert world.requests - before == 3 + 2  # Monday's three pages, one for each other day
    assert "2026-04-20: 250 listed, 250 added" in capsys.readouterr().out


def test_one_failing_day_does_not_block_the_others_and_is_read_next_run(tmp_path, api, capsys):
    world, url = api
    world.papers = [paper(1, MONDAY - dt.timedelta(days=1)), paper(2), paper(3, TUESDAY)]
    world.now = at(TUESDAY, 22, 43)
    world.faults = {MONDAY.isoformat(): "503"}
    content = make_site(tmp_path, url)
    assert update(content, world.now) == 1  # red, after writing the days that worked
    err = capsys.readouterr().err
    assert "2026-04-20: FAILED: " in err and "HTTP 503" in err
    assert "1 of 3 days could not be read (2026-04-20)" in err
    assert papers_on(content, TUESDAY) == ["2604.00003"]
    assert papers_on(content, MONDAY) == []
    world.faults = {}
    world.now = at(TUESDAY, 23, 30)
    assert update(content, world.now) == 0
    assert papers_on(content, MONDAY) == ["2604.00002"]


@pytest.mark.parametrize("fault", ["truncated", "500"])
def test_a_bad_page_leaves_the_whole_day_untouched(tmp_path, api, fault):
    world, url = api
    world.papers = [paper(n) for n in range(1, 151)]  # two pages; the fault hits both
    world.now = at(MONDAY, 22, 43)
    world.faults = {MONDAY.isoformat(): fault}
    content = make_site(tmp_path, url)
    assert update(content, world.now) == 1
    assert papers_on(content, MONDAY) == []
    assert MONDAY not in load_state(content).days


def test_a_day_closes_at_the_first_good_read_after_the_closing_hour(tmp_path, api):
    world, url = api
    world.papers = [paper(1)]
    content = make_site(tmp_path, url)
    for now, closed in [(at(MONDAY, 22, 43), None), (at(TUESDAY, 5, 59), None)]:
        world.now = now
        assert update(content, now) == 0
        assert load_state(content).days[MONDAY].closed == closed
    world.now, world.faults = at(TUESDAY, 6, 30), {MONDAY.isoformat(): "503"}
    assert update(content, world.now) == 1
    assert load_state(content).days[MONDAY].closed is None  # not read: not complete
    world.faults = {}
    world.now = at(TUESDAY, 6, 43)
    assert update(content, world.now) == 0
    record = load_state(content).days[MONDAY]
    assert record.closed == at(TUESDAY, 6, 43)
    assert record.first_published == at(MONDAY, 22, 43)
    assert record.papers == {"2604.00001": at(MONDAY, 22, 43)}


def test_withdrawals_follow_the_api_both_ways_and_upvotes_refresh(tmp_path, api):
    world, url = api
    listed = paper(1, withdrawn=[(at(TUESDAY, 8), at(TUESDAY, 20))])
    listed.rate = 1.0
    world.papers = [listed]
    content = make_site(tmp_path, url)
    path = content / "days" / MONDAY.isoformat() / "2604.00001.md"
    world.now = at(MONDAY, 10)
    assert update(content, world.now) == 0
    assert "withdrawn:" not in path.read_text()
    world.now = at(TUESDAY, 12)
    assert update(content, world.now) == 0
    assert "withdrawn: 2026-04-21" in path.read_text()
    world.now = at(TUESDAY, 21)
    assert update(content, world.now) == 0
    text = path.read_text()
    assert "withdrawn:" not in text  # the API took it back
    assert f"upvotes: {listed.upvotes(world.now)}" in text


def test_a_second_run_with_nothing_new_changes_no_file(tmp_path, api):
    world, url = api
    world.papers = [paper(1), paper(2)]
    world.now = at(TUESDAY, 7)
    content = make_site(tmp_path, url)
    assert update(content, world.now) == 0
    files = {p: p.read_bytes() for p in content.rglob("*") if p.is_file()}
    assert update(content, at(TUESDAY, 8)) == 0
    assert {p: p.read_bytes() for p in content.rglob("*") if p.is_file()} == files
    state_text = (content / "state" / f"{MONDAY}.yaml").read_text()
    assert "closed: '2026-04-21T07:00:00Z'" in state_text
    assert "papers:\n  '2604.00001': '2026-04-21T07:00:00Z'\n  '2604.00002': " in state_text


def test_catch_up_reads_every_day_since_the_newest_closed_one(tmp_path, api):
    world, url = api
    first = MONDAY - dt.timedelta(days=10)
    world.papers = [paper(1, first), paper(2, first + dt.timedelta(days=4))]
    content = make_site(tmp_path, url)  # window_days: 3
    world.now = at(first + dt.timedelta(days=1), 7)
    assert update(content, world.now) == 0
    world.now = at(MONDAY, 7)  # nine days of skipped runs
    assert update(content, world.now) == 0
    assert papers_on(content, first + dt.timedelta(days=4)) == ["2604.00002"]


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def pending(content: Path, out: Path, smtp: SmtpServer, now: dt.datetime,
            *recipients: str) -> int:
    to = [arg for r in recipients for arg in ("--to", r)]
    return main(["email", "--pending", "--feed", str(out / "digest.xml"), "--content",
                 str(content), "--smtp", f"127.0.0.1:{smtp.port}", "--from",
                 "papers@example.org", *to, "--now", now.isoformat()])


def test_pending_mails_each_closed_day_once_and_retries_only_failed_recipients(
        tmp_path, api, smtp, capsys):
    world, url = api
    world.papers = [paper(1), paper(2, TUESDAY)]
    content = make_site(tmp_path, url)
    out = tmp_path / "output"
    world.now = at(TUESDAY, 7)  # Monday closes; Tuesday is still open
    assert update(content, world.now) == 0
    build_into(content, out)
    smtp.sink.refuse = {"bob@example.org"}
    assert pending(content, out, smtp, world.now, "ann@example.org", "bob@example.org") == 1
    err = capsys.readouterr().err
    assert "2026-04-20: bob@example.org: not sent: 550 mailbox unavailable" in err
    smtp.sink.refuse = set()
    for _again in range(2):  # a re-run, then one more: bob once, ann never again
        assert pending(content, out, smtp, at(TUESDAY, 8), "ann@example.org",
                       "bob@example.org") == 0
    messages = mailed(smtp.sink)
    assert {key: len(value) for key, value in messages.items()} == {
        ("ann@example.org", MONDAY): 1, ("bob@example.org", MONDAY): 1}
    mail = load_state(content).days[MONDAY].mails["digest"]
    assert mail.sent == at(TUESDAY, 8) and mail.papers == 1
    assert mail.recipients == {recipient_key("ann@example.org"): at(TUESDAY, 7),
                               recipient_key("bob@example.org"): at(TUESDAY, 8)}
    assert "example.org" not in (content / "state" / f"{MONDAY}.yaml").read_text()


def test_pending_with_the_smtp_server_down_fails_and_the_next_run_sends(tmp_path, api, smtp,
                                                                        capsys):
    world, url = api
    world.papers = [paper(1)]
    content = make_site(tmp_path, url)
    out = tmp_path / "output"
    world.now = at(TUESDAY, 7)
    assert update(content, world.now) == 0
    build_into(content, out)
    smtp.stop()
    assert pending(content, out, smtp, world.now, "ann@example.org") == 1
    assert "2026-04-20: cannot connect to the SMTP server" in capsys.readouterr().err
    assert "digest" not in load_state(content).days[MONDAY].mails
    smtp.start()
    assert pending(content, out, smtp, at(TUESDAY, 22), "ann@example.org") == 0
    assert list(mailed(smtp.sink)) == [("ann@example.org", MONDAY)]


def test_mark_mailed_records_a_day_without_sending(tmp_path, api, smtp, capsys):
    world, url = api
    world.papers = [paper(1)]
    content = make_site(tmp_path, url)
    out = tmp_path / "output"
    world.now = at(TUESDAY, 7)
    assert update(content, world.now) == 0
    build_into(content, out)
    assert main(["mark-mailed", str(MONDAY), "--content", str(content), "--now",
                 "2026-04-21T07:05:00Z"]) == 0
    assert pending(content, out, smtp, world.now, "ann@example.org") == 0
    assert smtp.sink.messages == []
    assert "mails:\n  digest:\n    sent: '2026-04-21T07:05:00Z'" in (
        content / "state" / f"{MONDAY}.yaml").read_text()
    assert main(["mark-mailed", str(MONDAY), "--content", str(content), "--saved-search",
                 "nope"]) == 1


def test_pending_needs_smtp(tmp_path, capsys):
    feed = tmp_path / "digest.xml"
    feed.write_text("<rss/>")
    assert main(["email", "--pending", "--feed", str(feed), "--content", str(tmp_path),
                 "--out", str(tmp_path / "x.eml")]) == 2
    assert "--pending sends: give --smtp" in capsys.readouterr().err


def test_feed_items_are_dated_when_first_published(tmp_path, api):
    world, url = api
    world.papers = [paper(1)]
    content = make_site(tmp_path, url)
    world.now = at(TUESDAY, 0, 57)  # first published after its listing day ended
    assert update(content, world.now) == 0
    out = build_into(content, tmp_path / "output")
    for name in ("feed.xml", "atom.xml", "digest.xml"):
        entry = feedparser.parse((out / name).read_bytes()).entries[0]
        assert dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC) == at(TUESDAY, 0, 57)
    assert '"date_published": "2026-04-21T00:57:00Z"' in (out / "feed.json").read_text()
    again = build_into(content, tmp_path / "again")
    assert (again / "digest.xml").read_bytes() == (out / "digest.xml").read_bytes()
    # the email still finds the item by its listing day
    assert main(["email", "--feed", str(out / "digest.xml"), "--date", str(MONDAY),
                 "--content", str(content), "--out", str(tmp_path / "m.eml")]) == 0


def test_papers_without_a_state_keep_their_listing_day(built_root):
    entry = feedparser.parse((built_root / "feed.xml").read_bytes()).entries[0]
    assert entry.published_parsed[3:6] == (0, 0, 0)


def test_a_broken_state_file_is_an_error_with_its_line(tmp_path, content_copy, capsys):
    (content_copy / "state").mkdir()
    (content_copy / "state" / "2026-03-11.yaml").write_text(
        "day: 2026-03-11\nclosed: yesterday\n", "utf-8")
    assert main(["check", "--content", str(content_copy)]) == 1
    err = capsys.readouterr().err
    assert f"{content_copy / 'state' / '2026-03-11.yaml'}:2: 'closed': 'yesterday' is not a " \
           "time like 2026-04-21T22:43:05Z" in err


def test_the_api_is_asked_for_pages_of_100():
    from site_builder.importers.hf_api import daily_page_url

    query = parse_qs(urlsplit(daily_page_url("https://h.example/api/daily_papers?x=1",
                                             MONDAY, 2)).query)
    assert query == {"x": ["1"], "date": ["2026-04-20"], "limit": ["100"], "p": ["2"]}


def test_the_first_run_on_an_existing_archive_neither_redates_nor_mails_it(tmp_path, api, smtp):
    world, url = api
    world.papers = [paper(1), paper(2, hour=23)]  # paper 2 comes after the old import
    content = make_site(tmp_path, url)
    world.now = at(MONDAY, 22, 43)
    assert main(["import", f"{url}?date={MONDAY}", "--content", str(content)]) == 0
    out = build_into(content, tmp_path / "output")  # the site as the old workflow left it
    old_item = feedparser.parse((out / "feed.xml").read_bytes()).entries[0]
    world.now = at(TUESDAY, 7)
    assert update(content, world.now) == 0
    record = load_state(content).days[MONDAY]
    assert record.predates_state and record.closed == world.now
    assert record.papers == {"2604.00002": world.now}  # only the paper this run added
    out = build_into(content, out)
    entries = {e.id: e for e in feedparser.parse((out / "feed.xml").read_bytes()).entries}
    assert entries[old_item.id].published == old_item.published  # not re-dated
    assert pending(content, out, smtp, world.now, "ann@example.org") == 0
    assert smtp.sink.messages == []  # mailed by the old workflow already
