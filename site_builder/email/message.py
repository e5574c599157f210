"""The email message of one digest day: subject, headers, and the HTML and text parts sized to
what mail clients show in full."""

from __future__ import annotations

import bisect
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
    """The From of an --out file without --from (RFC 5322 requires one): at the site's host."""
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
    """Whether List-Unsubscribe has the https URL that one-click unsubscribe needs (RFC 8058)."""
    return any(urlsplit(part.strip().strip("<>")).scheme == "https" for part in value.split(","))


@dataclass(frozen=True)
class Layout:
    """How many papers (top first) are shown in full and as title lines; the rest are counted."""

    full: int
    titles: int


def render_part(env: jinja2.Environment, template: str, context: dict, layout: Layout) -> str:
    """One part of the email with the papers laid out as told (CSS inlined in the HTML)."""
    papers = context["papers"]
    full, titles = papers[:layout.full], papers[layout.full:layout.full + layout.titles]
    body = env.get_template(template).render(**context, full_papers=full, title_papers=titles,
                                             more_count=len(papers) - len(full) - len(titles))
    if template != HTML_TEMPLATE:
        return body
    return css_inline.CSSInliner(load_remote_stylesheets=False).inline(body)


def html_part_size(html_body: str) -> int:
    """Bytes of the HTML part as sent (transfer-encoded), which is what Gmail measures."""
    part = EmailMessage()
    part.set_content(html_body, subtype="html")
    return len(part.as_bytes(policy=SMTP_POLICY))


def fit(size_of: Callable[[int], int], most: int) -> int:
    """The largest n in 0..most (tried first: a normal day) with size_of(n) <= HTML_BUDGET,
    or -1; size_of grows with n."""
    if size_of(most) <= HTML_BUDGET:
        return most
    return bisect.bisect_right(range(most), HTML_BUDGET, key=size_of) - 1


def choose_layout(render: Callable[[Layout], str], count_: int) -> Layout:
    """The most top papers in full such that the next ones (up to TITLE_LINES) still fit as
    title lines within HTML_BUDGET: a normal day is all in full, the footer always there."""
    def size(layout: Layout) -> int:
        return html_part_size(render(layout))

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
    context = {
        "day": day, "papers": day.papers, "title": title, "subject": subject, "search": search,
        "date_long": long_date(day.date), "settings": config.email, "language": config.language,
        "unsubscribe": unsubscribe_link(config.email.list_unsubscribe)}
    layout = choose_layout(lambda tried: render_part(env, HTML_TEMPLATE, context, tried),
                           len(day.papers))
    message = EmailMessage()
    message["Subject"] = subject
    message["Date"] = message_date()
    message["Message-ID"] = message_id(day, search)
    if config.email.list_unsubscribe:
        unsubscribe = config.email.list_unsubscribe.strip()
        message["List-Unsubscribe"] = unsubscribe if unsubscribe[:1] == "<" else f"<{unsubscribe}>"
        if one_click(unsubscribe):  # RFC 8058, asked by Gmail and Yahoo
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_part(env, TEXT_TEMPLATE, context, layout))
    message.add_alternative(render_part(env, HTML_TEMPLATE, context, layout), subtype="html")
    return message
