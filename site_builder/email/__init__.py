"""``site-builder email``: one day of the published digest (``digest`` reads it back from
digest.json, or from digest.xml's HTML for an older site) -> a message (``message``) -> a file
or SMTP (``smtp``)."""

from __future__ import annotations

import argparse
import sys
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, parseaddr
from pathlib import Path

from site_builder.config import SavedSearch, SiteConfig, load_config
from site_builder.email.digest import MissingDayError, filter_day, load_day
from site_builder.email.message import UNDISCLOSED, build_message, placeholder_sender
from site_builder.email.smtp import address_problem, parse_server, read_recipients, send_all
from site_builder.errors import ContentError, problem, source_problem
from site_builder.render import make_environment, site_templates

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def find_saved_search(config: SiteConfig, content_dir: Path, slug: str) -> SavedSearch:
    for search in config.saved_searches:
        if search.slug == slug:
            return search
    known = ", ".join(s.slug for s in config.saved_searches) or "none defined"
    raise ContentError([problem(content_dir / "site.yaml",
                                f"no saved search '{slug}' (known: {known})")])


def usage_error(message: str) -> int:
    print(f"site-builder email: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_arguments(args: argparse.Namespace) -> str:
    if args.ssl and args.starttls:
        return "use --ssl or --starttls, not both"
    if args.smtp:
        if not args.sender:
            return "--smtp needs --from ADDR"
        if not args.to and not args.to_file:
            return "--smtp needs --to ADDR or --to-file FILE"
    return ""


def send_digest_command(args: argparse.Namespace) -> int:
    """``site-builder email``: build one day's email from the digest feed; write or send it."""
    error = check_arguments(args)
    if error:
        return usage_error(error)
    server = parse_server(args.smtp, args.ssl, args.starttls) if args.smtp else None
    if isinstance(server, str):
        return usage_error(server)
    config = load_config(args.content) if args.content.is_dir() else SiteConfig()
    search = find_saved_search(config, args.content, args.saved_search) \
        if args.saved_search else None
    if args.sender and address_problem(args.sender):  # an input error, as a bad --to is
        raise ContentError([source_problem("--from", address_problem(args.sender))])
    recipients = read_recipients(args)
    # the site's own email templates where it has them, else the built-in theme's
    env = make_environment(site_templates(args.templates, args.content))
    if args.pending:  # every closed day not mailed yet (site_builder.daily)
        from site_builder.daily import PendingRun, now_from, send_pending

        if server is None:
            return usage_error("--pending sends: give --smtp HOST:PORT, not --out")
        return send_pending(PendingRun(args, config, env, search, recipients,
                                       now_from(args.now)), server)
    try:
        day = load_day(args.feed, None if args.latest else args.date)
    except MissingDayError as exc:
        if not args.skip_missing:
            raise
        print(f"{exc.problems[0]}: nothing to send.", file=sys.stderr)
        return EXIT_OK
    if search:
        day = filter_day(day, search)
        if not day.papers:
            print(f"no paper of {day.date.isoformat()} matches the saved search "
                  f"'{search.slug}': nothing to send.", file=sys.stderr)
            return EXIT_OK
    message = build_message(day, config, env, args.content, search)
    address = parseaddr(args.sender)[1] if args.sender else placeholder_sender(day)
    message["From"] = formataddr((config.email.from_name or day.site_title, address))
    if args.out:
        message["To"] = ", ".join(recipients) or UNDISCLOSED
        write_message(message, args.out)
        print(f"wrote {args.out}: {message['Subject']}", file=sys.stderr)
        return EXIT_OK
    assert server is not None
    failures = send_all(message, args.sender, recipients, server)
    sent = len(recipients) - len(failures)
    print(f"sent {sent} of {len(recipients)} message{'s' if len(recipients) != 1 else ''}: "
          f"{message['Subject']}", file=sys.stderr)
    if failures:
        raise ContentError(failures)
    return EXIT_OK


def write_message(message: EmailMessage, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(message.as_bytes(policy=SMTP_POLICY))
    except OSError as exc:
        raise ContentError([problem(path, f"cannot write the message: {exc.strerror or exc}")]) \
            from None
