"""The email message of one digest day: subject, headers, and the HTML and text parts sized to
what mail clients show in full."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import css_inline
import jinja2

from site_builder.config import SavedSearch, SiteConfig
from site_builder.dates import count, long_date, short_date
from site_builder.email.digest import DigestDay
from site_builder.errors import ContentError, problem

HTML_TEMPLATE = "email/digest.html"
TEXT_TEMPLATE = "email/digest.txt"
# Gmail clips an HTML part over 102 KB (hiding the rest and the footer): the email's HTML part
# stays under this many bytes, as sent (see choose_layout)
HTML_BUDGET = 90_000
TITLE_LINES = 200  # at most this many papers as title lines; the rest are counted

UNDISCLOSED = "undisclosed-recipients:;"  # the To of an --out file without --to (RFC 5322)


def placeholder_sender(day: DigestDay) -> str:
    """The From address of an --out file made without --from: the site's host, so the file is
    a complete message that any mail client opens (RFC 5322 requires a From)."""
    host = urlsplit(day.site_url or day.url).hostname or "localhost"
    return f"digest@{host}"


def message_date() -> str:
    """The Date header: now, or SOURCE_DATE_EPOCH when set (reproducible .eml files)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return formatdate(int(epoch) if epoch.isdigit() else None, usegmt=True)


def subject_line(config: SiteConfig, content_dir: Path, title: str, day: DigestDay) -> str:
    values = {"title": title, "date": short_date(day.date), "count": len(day.papers),
              "papers": count(len(day.papers), "paper")}  # "1 paper", "41 papers"
    try:
        subject = config.email.subject.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ContentError([problem(content_dir / "site.yaml",
                                    f"email.subject: cannot fill in {exc} (use {{title}}, "
                                    "{date}, {count} and {papers})")]) from None
    return " ".join(subject.split())


def message_id(day: DigestDay, search: SavedSearch | None) -> str:
    """The same id for the same day (and saved search), so a resend is recognisable."""
    key = day.guid + ("\0" + search.slug if search else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    host = urlsplit(day.guid).hostname or "site-builder.invalid"
    name = f"digest-{day.date.isoformat()}" + (f"-{search.slug}" if search else "")
    return f"<{name}.{digest}@{host}>"


def unsubscribe_link(value: str) -> str:
    """The List-Unsubscribe setting as a link for the footer (http(s) or mailto only)."""
    value = value.strip().strip("<>")
    return value if urlsplit(value).scheme in ("http", "https", "mailto") else ""


def one_click(value: str) -> bool:
    """True when the List-Unsubscribe setting has an https URL: one-click unsubscribe (a POST
    to it) is then offered. mailto: and http: alone cannot be one-click (RFC 8058)."""
    return any(urlsplit(part.strip().strip("<>")).scheme == "https" for part in value.split(","))


def list_unsubscribe(value: str) -> str:
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


@dataclass(frozen=True)
class Layout:
    """How many of the day's papers (top first) are shown in full and as title lines; the
    rest are counted, with a link to the day's page."""

    full: int
    titles: int


def render_bodies(env: jinja2.Environment, day: DigestDay, config: SiteConfig, title: str,
                  subject: str, search: SavedSearch | None,
                  layout: Layout | None = None) -> tuple[str, str]:
    """The HTML (CSS inlined) and text parts of the email."""
    papers = day.papers
    layout = layout or Layout(len(papers), 0)
    full, titles = papers[:layout.full], papers[layout.full:layout.full + layout.titles]
    context = {
        "day": day, "papers": papers, "title": title, "subject": subject, "search": search,
        "date_long": long_date(day.date), "settings": config.email, "language": config.language,
        "unsubscribe": unsubscribe_link(config.email.list_unsubscribe),
        "full_papers": full, "title_papers": titles,
        "more_count": len(papers) - len(full) - len(titles),
    }
    html_body = env.get_template(HTML_TEMPLATE).render(**context)
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
    return inliner.inline(html_body), env.get_template(TEXT_TEMPLATE).render(**context)


def html_part_size(html_body: str) -> int:
    """Bytes of the HTML part as sent (transfer-encoded), which is what Gmail measures."""
    part = EmailMessage()
    part.set_content(html_body, subtype="html")
    return len(part.as_bytes(policy=SMTP_POLICY))


def fit(size_of: Callable[[int], int], most: int) -> int:
    """The largest n in 0..most with size_of(n) <= HTML_BUDGET (size_of grows with n), or -1."""
    if size_of(most) <= HTML_BUDGET:
        return most
    low, high = -1, most  # size_of(low) fits (or low is -1), size_of(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if size_of(middle) <= HTML_BUDGET:
            low = middle
        else:
            high = middle
    return low


def choose_layout(render: Callable[[Layout], tuple[str, str]], count_: int) -> Layout:
    """The size rule: the most top papers in full such that the next ones (up to TITLE_LINES)
    still fit as title lines within HTML_BUDGET, the rest counted with a link to the day's
    page; so a normal day is all in full and the footer is always there."""
    def size(layout: Layout) -> int:
        return html_part_size(render(layout)[0])

    def with_titles(full: int) -> Layout:
        return Layout(full, min(count_ - full, TITLE_LINES))

    full = fit(lambda k: size(with_titles(k)), count_)
    if full >= 0:
        return with_titles(full)
    return Layout(0, max(0, fit(lambda n: size(Layout(0, n)), min(count_, TITLE_LINES))))


def build_message(day: DigestDay, config: SiteConfig, env: jinja2.Environment,
                  content_dir: Path, search: SavedSearch | None) -> EmailMessage:
    title = f"{day.site_title}: {search.title}" if search else day.site_title
    subject = subject_line(config, content_dir, title, day)

    def render(layout: Layout) -> tuple[str, str]:
        return render_bodies(env, day, config, title, subject, search, layout)

    html_body, text_body = render(choose_layout(render, len(day.papers)))
    message = EmailMessage()
    message["Subject"] = subject
    message["Date"] = message_date()
    message["Message-ID"] = message_id(day, search)
    if config.email.list_unsubscribe:
        message["List-Unsubscribe"] = list_unsubscribe(config.email.list_unsubscribe)
        if one_click(config.email.list_unsubscribe):  # RFC 8058, asked by Gmail and Yahoo
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message
