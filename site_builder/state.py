"""What the site has published and mailed: one plain YAML file per listing day.

``content/state/<YYYY-MM-DD>.yaml`` (an example is in the README's "A daily import on GitHub
Actions") is written by ``site-builder update`` and ``site-builder email --pending`` and
committed with the papers, so the record survives failed runs, re-runs and new machines.
Recipients are recorded by a short hash of their address, never the address (the repository
is usually public). A missing file or key means "not yet".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from site_builder.errors import ContentError, Problems
from site_builder.frontmatter import key_lines, read_yaml, reported
from site_builder.transaction import Transaction

Report = Callable[[str], None]  # records a problem at one key's line
STATE_DIR = "state"
HEADER = ("# site-builder's record of this listing day: what was published and mailed, and\n"
          "# when. Written by `site-builder update` and `site-builder email --pending`\n"
          "# (README: \"The daily email\"); edit by hand only to recover.\n")
DAY_KEYS = ("day", "first_published", "closed", "predates_state", "papers", "mails")


def utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_stamps(moments: dict[str, dt.datetime]) -> dict[str, str]:
    return {key: utc_stamp(moment) for key, moment in sorted(moments.items())}


def parse_stamp(value: Any) -> dt.datetime | None:
    """A UTC time written by ``utc_stamp`` (or one YAML read as a datetime), or None."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def given(data: dict[str, Any]) -> dict[str, Any]:
    """The keys that have a value, for writing (a missing key means "not yet")."""
    return {key: value for key, value in data.items() if value is not None}


def recipient_key(address: str) -> str:
    """A recipient as stored: 12 hex digits of the SHA-256 of the lowercased address."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:12]


@dataclass
class Mail:
    """One mail of a day (the full digest, or one saved search's digest)."""

    sent: dt.datetime | None = None  # every recipient got it (or there was nothing to send)
    papers: int | None = None  # how many papers it listed
    recipients: dict[str, dt.datetime] = field(default_factory=dict)  # recipient_key -> time

    def to_yaml(self) -> dict[str, Any]:
        return given({"sent": self.sent and utc_stamp(self.sent), "papers": self.papers,
                      "recipients": utc_stamps(self.recipients) or None})


@dataclass
class DayState:
    day: dt.date
    first_published: dt.datetime | None = None
    closed: dt.datetime | None = None
    papers: dict[str, dt.datetime] = field(default_factory=dict)  # paper id -> first published
    mails: dict[str, Mail] = field(default_factory=dict)  # "digest", "saved-search/<slug>"
    # on the site before the state folder existed: mailed (or not) by the old way, never by
    # ``email --pending``
    predates_state: bool = False

    def mail(self, kind: str) -> Mail:
        return self.mails.setdefault(kind, Mail())

    def to_yaml(self) -> dict[str, Any]:
        mails = {kind: mail.to_yaml() for kind, mail in sorted(self.mails.items())}
        return given({
            "day": self.day.isoformat(),
            "first_published": self.first_published and utc_stamp(self.first_published),
            "closed": self.closed and utc_stamp(self.closed),
            "predates_state": self.predates_state or None,
            "papers": utc_stamps(self.papers),
            "mails": {kind: data for kind, data in mails.items() if data} or None,
        })


def mail_kind(saved_search: str | None) -> str:
    return f"saved-search/{saved_search}" if saved_search else "digest"


def state_path(content_dir: Path, day: dt.date) -> Path:
    return content_dir / STATE_DIR / f"{day.isoformat()}.yaml"


@dataclass
class State:
    """Every day's record of a content folder, and which of them this run changed."""

    content_dir: Path
    days: dict[dt.date, DayState] = field(default_factory=dict)
    texts: dict[dt.date, str] = field(default_factory=dict)  # as read, to write only changes

    def day(self, day: dt.date) -> DayState:
        return self.days.setdefault(day, DayState(day))

    def paper_times(self) -> dict[str, dt.datetime]:
        """When each paper was first published (the earliest record wins)."""
        times: dict[str, dt.datetime] = {}
        for record in self.days.values():
            for paper_id, moment in record.papers.items():
                times[paper_id] = min(moment, times.get(paper_id, moment))
        return times

    def day_times(self) -> dict[dt.date, dt.datetime]:
        return {day: r.first_published for day, r in self.days.items() if r.first_published}

    def save(self, day: dt.date | None = None, transaction: Transaction | None = None,
             ) -> list[Path]:
        """Write the changed day files (or one day's), in the given transaction or in one of
        their own; the files written."""
        from site_builder.importers.store import dump_yaml

        written = []
        with nullcontext(transaction) if transaction else Transaction(self.content_dir) as into:
            for record in ([self.days[day]] if day else self.days.values()):
                text = HEADER + dump_yaml(record.to_yaml())
                if self.texts.get(record.day) != text:
                    path = state_path(self.content_dir, record.day)
                    into.write(path, text)
                    self.texts[record.day] = text
                    written.append(path)
        return written


def load_state(content_dir: Path) -> State:
    """Every ``state/<day>.yaml``; problems name the file and line (nothing is guessed)."""
    state = State(content_dir)
    folder = content_dir / STATE_DIR
    problems = Problems()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            load_day_file(path, state, problems)
    problems.raise_if_any()
    return state


def load_day_file(path: Path, state: State, problems: Problems) -> None:
    try:
        day = dt.date.fromisoformat(path.stem) if path.suffix == ".yaml" else None
    except ValueError:
        day = None
    if day is None or not path.is_file():
        problems.add(path, "not a day record (expected state/YYYY-MM-DD.yaml)")
        return
    loaded = reported(problems, read_yaml, path)
    if loaded is None:
        return
    data, text = loaded
    if not isinstance(data, dict):
        problems.add(path, "a day record must be a mapping", 1)
        return
    record = DayState(day)
    lines = key_lines(text, 1)
    for key, value in data.items():
        # nested keys report their top key's line
        at: Report = functools.partial(problems.add, path, line=lines.get(str(key)))
        if key not in DAY_KEYS:
            at(f"unknown key '{key}' (known: {', '.join(DAY_KEYS)})")
        elif key in ("first_published", "closed") and value is not None:
            setattr(record, key, stamp_or_problem(value, f"'{key}'", at))
        elif key == "predates_state":
            if not isinstance(value, bool):
                at("'predates_state' must be true or false")
            record.predates_state = value is True
        elif key == "papers":
            record.papers = stamps(value, "'papers'", at)
        elif key == "mails":
            record.mails = mails_of(value, at)
        elif key == "day" and str(value) != day.isoformat():
            at(f"'day' is {value} but the file is named for {day}")
    state.days[day] = record
    state.texts[day] = text


def mapping(value: Any, message: str, at: Report) -> dict[Any, Any]:
    """A mapping of a state file ({} when missing); anything else is a problem."""
    if value is not None and not isinstance(value, dict):
        at(message)
    return value if isinstance(value, dict) else {}


def stamp_or_problem(value: Any, what: str, at: Report) -> dt.datetime | None:
    moment = parse_stamp(value)
    if moment is None:
        at(f"{what}: '{value}' is not a time like 2026-04-21T22:43:05Z")
    return moment


def stamps(value: Any, what: str, at: Report) -> dict[str, dt.datetime]:
    found = {str(key): stamp_or_problem(item, f"{what} {key}", at)
             for key, item in mapping(value, f"{what} must be a mapping of names to times",
                                      at).items()}
    return {key: moment for key, moment in found.items() if moment}


def mails_of(value: Any, at: Report) -> dict[str, Mail]:
    mails = {}
    for kind, data in mapping(value, "'mails' must be a mapping such as 'digest: {sent: ...}'",
                              at).items():
        if not isinstance(data, dict):
            at(f"mails.{kind} must be a mapping (sent, papers, recipients)")
            continue
        mail = Mail()
        for key, item in data.items():
            if key == "sent":
                mail.sent = stamp_or_problem(item, f"mails.{kind}.sent", at)
            elif key == "papers" and isinstance(item, int) and not isinstance(item, bool):
                mail.papers = item
            elif key == "recipients":
                mail.recipients = stamps(item, f"mails.{kind}.recipients", at)
            else:
                at(f"mails.{kind}.{key}: unknown key, or 'papers' is not a number")
        mails[str(kind)] = mail
    return mails


@dataclass(frozen=True)
class Published:
    """When the site first published each paper and each day: the feeds' item dates."""

    papers: dict[str, dt.datetime] = field(default_factory=dict)
    days: dict[dt.date, dt.datetime] = field(default_factory=dict)


def first_published(content_dir: Path, problems: Problems) -> Published:
    """The feeds' dates from the state folder; empty without one (listing days are used)."""
    if not (content_dir / STATE_DIR).is_dir():
        return Published()
    try:
        state = load_state(content_dir)
    except ContentError as exc:
        problems.extend(exc.problems)
        return Published()
    return Published(state.paper_times(), state.day_times())
