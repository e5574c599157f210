"""Unattended daily operation: ``site-builder update`` and ``site-builder email --pending``.

``update`` re-reads a window of recent listing days from the sources in ``site.yaml``
(``daily.sources``), each day on its own, merges them into ``content/days/`` and records in
``content/state/`` when each paper and day was first published and when each day closed.
``email --pending`` mails every closed day that has not been mailed, once, recording each
recipient as it goes. Both take "now" from ``--now`` or ``SITE_BUILDER_NOW`` (replays, tests)
and report every day that failed, after writing everything that worked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from site_builder.config import DailySettings, SavedSearch, SiteConfig, load_config
from site_builder.errors import ContentError, Problem
from site_builder.importers import check_records, read_source
from site_builder.importers.hf_api import read_daily_listing
from site_builder.importers.record import ImportedPaper, ImportOptions, without_controls
from site_builder.importers.store import ContentStore, StoredPaper
from site_builder.state import (
    STATE_DIR,
    DayState,
    State,
    load_state,
    mail_kind,
    recipient_key,
)
from site_builder.transaction import (
    Transaction,
    finish_interrupted_import,
    remove_dead_temporaries,
)

if TYPE_CHECKING:  # the email package loads only when a run mails
    from site_builder.email.smtp import Session, SmtpServer

NOW_VARIABLE = "SITE_BUILDER_NOW"


def now_from(value: str | None) -> dt.datetime:
    """``--now``, else ``SITE_BUILDER_NOW``, else the clock; always an aware UTC time."""
    text = value or os.environ.get(NOW_VARIABLE, "").strip()
    if not text:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ContentError([Problem("--now" if value else NOW_VARIABLE, 0,
                                    f"'{text}' is not a time like 2026-04-21T22:43:00Z")]) \
            from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def closes_at(day: dt.date, settings: DailySettings) -> dt.datetime:
    """The closing rule: a day is complete ``close_after_hours`` after it ends in UTC."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    return end + dt.timedelta(hours=settings.close_after_hours)


def days_to_read(state: State, settings: DailySettings, now: dt.datetime) -> list[dt.date]:
    """The window of recent days, every day not closed yet, and every day since the newest
    closed one (so a run after days of failed or skipped runs reads all they missed)."""
    today = now.date()
    wanted = {today - dt.timedelta(days=n) for n in range(settings.window_days)}
    wanted |= {day for day, record in state.days.items() if not record.closed and day <= today}
    closed = [day for day, record in state.days.items() if record.closed]
    if closed:
        start = max(closed) + dt.timedelta(days=1)
        wanted |= {start + dt.timedelta(days=n) for n in range((today - start).days + 1)}
    return sorted(wanted)


@dataclass
class DayReport:
    day: dt.date
    listed: int = 0
    added: int = 0
    updated: int = 0
    closed: bool = False  # closed by this run
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.day}: FAILED: {self.error}"
        text = (f"{self.day}: {self.listed} listed, {self.added} added, {self.updated} "
                "updated")
        return text + ("; closed" if self.closed else "")


def read_day(day: dt.date, settings: DailySettings, options: ImportOptions) -> list[ImportedPaper]:
    """Every source's listing of one day, or ContentError: the day is one transaction."""
    papers: list[ImportedPaper] = []
    for source in settings.sources:
        papers += read_daily_listing(source.url, day, read_source, options).papers
    papers = [without_controls(paper) for paper in papers]
    check_records(papers, options).raise_if_any()
    return papers


def follow_withdrawal(paper: StoredPaper, record: ImportedPaper) -> bool:
    """The API is the authority on withdrawals, both ways: set or clear ``withdrawn``."""
    if record.withdrawn and paper.meta.get("withdrawn") != record.withdrawn:
        paper.meta["withdrawn"] = record.withdrawn
        return True
    if record.withdrawn is None and paper.meta.get("withdrawn"):
        del paper.meta["withdrawn"]
        return True
    return False


def merge_day(store: ContentStore, record_state: DayState, papers: list[ImportedPaper],
              known: dict[str, dt.datetime], now: dt.datetime, report: DayReport) -> None:
    for record in papers:
        change = store.merge(record, report.day, ())
        stored = store.papers[change.paper_id]
        if follow_withdrawal(stored, record):
            stored.dirty = True
        if change.status == "added" and change.paper_id not in known:  # published now
            known[change.paper_id] = record_state.papers[change.paper_id] = now
            report.added += 1
    report.listed = len(papers)
    if report.added and record_state.first_published is None and not record_state.predates_state:
        record_state.first_published = now


def update(content_dir: Path, now: dt.datetime) -> list[DayReport]:
    """Read the days, write papers, then state; the report of every day (failed ones too)."""
    settings = load_config(content_dir).daily
    state = load_state(content_dir)
    finish_interrupted_import(content_dir)  # a killed run before this one is finished first
    remove_dead_temporaries(content_dir)
    store = ContentStore.open(content_dir)
    known = state.paper_times()
    # The first run on an existing archive: its days and papers were published (and mailed)
    # before; they keep their dates and are not mailed again.
    adopted = set() if (content_dir / STATE_DIR).is_dir() else {
        paper.day for paper in store.papers.values()}
    options = ImportOptions(content_dir=content_dir, format="hf-api")
    reports = {day: DayReport(day) for day in days_to_read(state, settings, now)}
    for day, report in reports.items():
        try:
            papers = read_day(day, settings, options)
        except ContentError as exc:
            report.error = "; ".join(str(p) for p in exc.problems[:3])
            continue
        record_state = state.day(day)
        record_state.predates_state = record_state.predates_state or day in adopted
        merge_day(store, record_state, papers, known, now, report)
        if record_state.closed is None and now >= closes_at(day, settings):
            record_state.closed = now
            report.closed = True

    def refuse(paper: StoredPaper, reason: str) -> None:  # the next build would fail
        if paper.day in reports:
            reports[paper.day].error = (f"paper {paper.id} left out, its file would not pass "
                                        f"check: {reason}")

    writes = store.pending_writes(refuse)
    for paper, _target, _text in writes:
        if paper.day in reports and paper.path is not None:
            reports[paper.day].updated += 1
    # the papers and the state that says they are published: one transaction, as an import
    with Transaction(content_dir) as transaction:
        store.write(writes, transaction)
        state.save(transaction=transaction)
    return list(reports.values())


def run_update(args: argparse.Namespace) -> int:
    """``site-builder update``: print a line per day; exit 1 naming each day that failed."""
    reports = update(args.content, now_from(args.now))
    for report in reports:
        print(report.line(), file=sys.stderr if report.error else sys.stdout)
    failed = [r for r in reports if r.error]
    if failed:
        raise ContentError([Problem("site-builder update", 0,
                                    f"{len(failed)} of {len(reports)} days could not be read "
                                    f"({', '.join(str(r.day) for r in failed)}); written: "
                                    "every other day. The next run reads them again.")])
    return 0


# --- mailing -----------------------------------------------------------------------------


@dataclass
class PendingRun:
    args: argparse.Namespace
    config: SiteConfig
    env: jinja2.Environment
    search: SavedSearch | None
    recipients: list[str]
    now: dt.datetime


def send_pending(run: PendingRun, server: SmtpServer) -> int:
    """Mail every closed, not yet mailed day of the state, oldest first."""
    from site_builder.email.digest import entry_date, read_feed
    from site_builder.email.smtp import Session

    args = run.args
    state = load_state(args.content)
    kind = mail_kind(run.search.slug if run.search else None)
    if not any(waits_for_mail(record, kind) for record in state.days.values()):
        print("no closed day waits for its mail: nothing to send.", file=sys.stderr)
        return 0
    feed = read_feed(args.feed)
    in_feed = {d for d in (entry_date(e) for e in feed.entries) if d is not None}
    mailer = Session(server, args.sender)
    failures: list[Problem] = []
    try:
        for day in sorted(state.days):
            if not waits_for_mail(state.days[day], kind):
                continue
            try:
                failures += mail_day(run, state, state.days[day], kind, feed, in_feed, mailer)
            except ContentError as exc:  # the server is unreachable: try again next run
                failures += [Problem(p.path, p.line, f"{day}: {p.message}") for p in exc.problems]
                break
    finally:
        mailer.close()
    if failures:
        raise ContentError(failures + [Problem("site-builder email", 0, "the days above are "
                                               "not fully mailed; the next run sends the rest")])
    return 0


def waits_for_mail(record: DayState, kind: str) -> bool:
    """A closed day of this site's own (not adopted) whose mail of this kind is not sent."""
    mail = record.mails.get(kind)
    return bool(record.closed) and not record.predates_state and not (mail and mail.sent)


def mail_day(run: PendingRun, state: State, record: DayState, kind: str, feed,
             in_feed: set[dt.date], mailer: Session) -> list[Problem]:
    """Send one day's mail to every recipient that has not had it; the failures."""
    from site_builder.email.digest import filter_day
    from site_builder.email.digest import read_day as read_digest_day
    from site_builder.email.message import build_message

    args, day = run.args, record.day
    mail = record.mail(kind)
    if day not in in_feed:
        if not record.papers or (in_feed and day > min(in_feed)):
            return []  # nothing listed that day (or every paper lives on an earlier day)
        return [Problem(str(args.feed), 0, f"{day}: not in the feed any more (it keeps the "
                        "newest digest_size days): send it by hand with --date, or mark it "
                        "with site-builder mark-mailed")]
    digest = read_digest_day(feed, str(args.feed), day)
    if run.search:
        digest = filter_day(digest, run.search)
    if not digest.papers:
        mail.sent, mail.papers = run.now, 0
        state.save(day)
        print(f"{day}: no paper matches; nothing to send", file=sys.stderr)
        return []
    message = build_message(digest, run.config, run.env, args.content, run.search)
    message["From"] = formataddr((run.config.email.from_name or digest.site_title,
                                  parseaddr(args.sender)[1]))
    failures = []
    for recipient in run.recipients:
        key = recipient_key(recipient)
        if key in mail.recipients:
            continue  # had it from an earlier run
        reason = mailer.send(message, recipient)
        if reason:
            failures.append(Problem(mailer.server.label, 0,
                                    f"{day}: {recipient}: not sent: {reason}"))
            continue
        mail.recipients[key] = run.now
        state.save(day)  # at once: a crash later must not send it again
        print(f"{day}: sent to {recipient}")
    if not failures:
        mail.sent, mail.papers = run.now, len(digest.papers)
        state.save(day)
        print(f"{day}: mailed: {message['Subject']}", file=sys.stderr)
    return failures


def run_mark_mailed(args: argparse.Namespace) -> int:
    """``site-builder mark-mailed DAY``: record a day as mailed without sending anything."""
    config = load_config(args.content)
    if args.saved_search and args.saved_search not in {s.slug for s in config.saved_searches}:
        raise ContentError([Problem(str(args.content / "site.yaml"), 0,
                                    f"no saved search '{args.saved_search}'")])
    state = load_state(args.content)
    record = state.day(args.day)
    now = now_from(args.now)
    record.closed = record.closed or now
    record.mail(mail_kind(args.saved_search)).sent = now
    state.save(args.day)
    print(f"{args.day}: marked as mailed ({mail_kind(args.saved_search)})")
    return 0
