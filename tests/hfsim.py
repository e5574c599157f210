"""A simulated world for the daily replays: the Hugging Face daily papers API on 127.0.0.1
(papers appearing over time, upvotes moving, withdrawals set and taken back, faults on
demand) and an SMTP server on 127.0.0.1 that keeps every message (and can be taken down)."""

from __future__ import annotations

import datetime as dt
import email
import http.server
import json
import random
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme
from aiosmtpd.controller import Controller

UTC = dt.UTC


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


@dataclass
class SimPaper:
    id: str
    title: str
    day: dt.date  # the listing day the API answers it under
    appears: dt.datetime  # from when it is listed
    base_upvotes: int
    rate: float  # upvotes per hour, for the first 10 days
    withdrawn: list[tuple[dt.datetime, dt.datetime | None]] = field(default_factory=list)

    def upvotes(self, now: dt.datetime) -> int:
        hours = min(max((now - self.appears).total_seconds() / 3600, 0), 240)
        return self.base_upvotes + int(self.rate * hours)

    def withdrawn_at(self, now: dt.datetime) -> dt.datetime | None:
        for start, end in self.withdrawn:
            if start <= now and (end is None or now < end):
                return start
        return None

    def item(self, now: dt.datetime) -> dict:
        withdrawn = self.withdrawn_at(now)
        return {"paper": {
            "id": self.id, "title": self.title, "summary": f"Abstract of {self.title}.",
            "authors": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}],
            "publishedAt": self.appears.isoformat().replace("+00:00", "Z"),
            "upvotes": self.upvotes(now),
            "withdrawnAt": withdrawn.isoformat().replace("+00:00", "Z") if withdrawn else None,
        }, "publishedAt": self.appears.isoformat().replace("+00:00", "Z"),
            "title": self.title}


@dataclass
class World:
    """What the API lists at any moment: papers per day, re-listings, faults."""

    papers: list[SimPaper] = field(default_factory=list)
    relisted: dict[dt.date, list[tuple[SimPaper, dt.datetime]]] = field(default_factory=dict)
    now: dt.datetime = at(dt.date(2026, 3, 2), 0)
    faults: dict[str, str] = field(default_factory=dict)  # date (or "*") -> kind, this run
    served_faults: list[str] = field(default_factory=list)
    requests: int = 0

    def listing(self, day: dt.date) -> list[dict]:
        items = [p for p in self.papers if p.day == day and p.appears <= self.now]
        items += [p for p, since in self.relisted.get(day, []) if since <= self.now]
        items.sort(key=lambda p: (-p.upvotes(self.now), p.id))
        return [p.item(self.now) for p in items]

    def home_day(self) -> dict[str, dt.date]:
        """Where each listed paper belongs on the site: its first listing day."""
        return {p.id: p.day for p in self.papers if p.appears <= self.now}


def make_world(start: dt.date, days: int, seed: int = 13, busy: int = 205) -> World:
    """Weekdays with 2 to 9 papers (one day with ``busy``, three API pages), weekends and a
    holiday with none, late additions after the evening run, withdrawals both ways."""
    rng = random.Random(seed)
    world = World(now=at(start, 0))
    holiday = start + dt.timedelta(days=9)
    number = 0
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day.weekday() >= 5 or day == holiday:
            continue
        count = busy if offset == 3 else rng.randint(2, 9)
        for index in range(count):
            number += 1
            hour = rng.randint(6, 21)
            appears = at(day, hour, rng.randint(0, 59))
            if index % 5 == 4:  # a late addition: after the 22:43 run, before the day closes
                appears = at(day, 23, 10) + dt.timedelta(hours=rng.randint(0, 4))
            rate = rng.choice([0.0, 0.2, 1.5]) if index < 20 else 0.0  # (cheaper rebuilds)
            world.papers.append(SimPaper(
                f"2603.{number:05d}", f"Paper {number} on day {day}", day, appears,
                rng.randint(0, 30), rate))
    for number, paper in enumerate(world.papers[7::4]):  # withdrawn two days after listing
        since = paper.appears + dt.timedelta(days=2)
        back = since + dt.timedelta(days=1, hours=12) if number % 2 else None  # taken back
        paper.withdrawn.append((since, back))
    for paper in world.papers[11::41]:  # listed again three days later
        later = paper.day + dt.timedelta(days=3)
        world.relisted.setdefault(later, []).append((paper, at(later, 12)))
    return world


class ApiHandler(http.server.BaseHTTPRequestHandler):
    world: World

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        world = self.world
        world.requests += 1
        query = parse_qs(urlsplit(self.path).query)
        date = query.get("date", [""])[0]
        page = int(query.get("p", ["0"])[0])
        limit = min(int(query.get("limit", ["50"])[0]), 100)
        fault = world.faults.get(date) or world.faults.get("*")
        if fault:
            world.served_faults.append(f"{date}:{fault}")
        if fault in ("500", "503"):
            self.send_error(int(fault))
            return
        if fault == "timeout":
            time.sleep(1.5)  # longer than the test's fetch timeout
        items = world.listing(dt.date.fromisoformat(date))[page * limit:(page + 1) * limit]
        body = json.dumps(items).encode()
        if fault == "truncated":
            body = body[: len(body) // 2]
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def start_api(world: World) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type("Handler", (ApiHandler,), {"world": world})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/daily_papers"


class Sink:
    """Keeps every message; refuses recipients in ``refuse`` with 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, email.message.Message]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """An aiosmtpd server on a fixed port that can be stopped (connections refused) and
    started again."""

    def __init__(self, tls_folder: Path | None = None) -> None:
        self.sink = Sink()
        self.port = free_port()
        self.controller: Controller | None = None
        self.options: dict = {}
        self.authority: Path | None = None
        if tls_folder is not None:  # STARTTLS with a test authority (trust it: SSL_CERT_FILE)
            authority = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            authority.issue_cert("127.0.0.1").configure_cert(context)
            self.authority = tls_folder / "authority.pem"
            authority.cert_pem.write_to_path(str(self.authority))
            self.options = {"tls_context": context, "require_starttls": True}

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port,
                                         **self.options)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


MESSAGE_DAY_RE = re.compile(r"<digest-(\d{4}-\d{2}-\d{2})[.-]")
PAPER_LINK_RE = re.compile(r"/papers/([^/\s\"<>]+)/")


def mailed(sink: Sink) -> dict[tuple[str, dt.date], list[set[str]]]:
    """(recipient, day) -> the paper ids of each message that went to them for that day."""
    found: dict[tuple[str, dt.date], list[set[str]]] = {}
    for rcpt, message in sink.messages:
        day = dt.date.fromisoformat(MESSAGE_DAY_RE.match(message["Message-ID"]).group(1))
        text = next(part.get_payload(decode=True).decode() for part in message.walk()
                    if part.get_content_type() == "text/plain")
        found.setdefault((rcpt, day), []).append(set(PAPER_LINK_RE.findall(text)))
    return found
