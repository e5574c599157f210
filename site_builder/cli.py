"""Command-line interface: argument parsing only; the work happens in the other modules."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import traceback
from pathlib import Path

from site_builder import __version__
from site_builder.errors import ContentError, environment_problem
from site_builder.schema import FORMAT_NAMES, IMPORT_FORMATS

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2
TEMPLATES_HELP = ("your own templates, overriding the built-in theme file by file (default: "
                  "templates/ beside the content folder, if there is one)")
FORMAT_HELP = "the sources' format (default: auto, told from each source's text): " + "; ".join(
    f"{f.name}, {f.description}" for f in IMPORT_FORMATS)
NOW_HELP = ("the time to act as if it were, e.g. 2026-04-21T22:43:00Z (default: "
            "SITE_BUILDER_NOW, else the clock)")


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-04-21") from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, default=Path("content"),
                        help="content folder (default: content)")
    parser.add_argument("--templates", type=Path, default=None, help=TEMPLATES_HELP)
    parser.add_argument("--out", type=Path, default=Path("output"),
                        help="output folder (default: output)")
    parser.add_argument("--base-url", help="override base_url from site.yaml")
    parser.add_argument("--jobs", type=positive_int, default=0,
                        help="worker processes and threads for parsing, related papers and "
                             "rendering (default: number of cores)")
    parser.add_argument("--clean", action="store_true", help="ignore the build cache")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    parser.add_argument("--strict", action="store_true",
                        help="fail on broken internal links and other warnings")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="site-builder",
        description="Build a static daily papers digest: pages, feeds and a daily email.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    debug = argparse.ArgumentParser(add_help=False)  # --debug also after the command name
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of internal errors")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[debug], help=help_)

    add_build_arguments(command("build", "build the site into the output folder"))

    check = command("check", "validate the content only; exit 1 on any error")
    check.add_argument("--content", type=Path, default=Path("content"))
    check.add_argument("--templates", type=Path, default=None, help=TEMPLATES_HELP)
    check.add_argument("--strict", action="store_true",
                       help="also build into a temporary folder and fail on broken links")

    serve = command("serve", "build, serve on 127.0.0.1, rebuild and reload on change")
    add_build_arguments(serve)
    serve.add_argument("--port", type=positive_int, default=8000, help="port (default: 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1)")

    init = command("init", "create a new site (content, workflow, .gitignore)")
    init.add_argument("folder", nargs="?", type=Path, default=Path("."),
                      help="where to create it (default: this folder); made if missing")

    imp = command("import", "import papers from pages, APIs and feeds")
    imp.add_argument("sources", nargs="+", metavar="SOURCE",
                     help="a file, '-' for standard input, or an http(s) URL")
    imp.add_argument("--content", type=Path, default=Path("content"))
    imp.add_argument("--format", default="auto", choices=["auto", *FORMAT_NAMES],
                     help=FORMAT_HELP)
    imp.add_argument("--date", type=parse_date, help="the listing day (YYYY-MM-DD)")
    imp.add_argument("--topic", action="append", default=[], metavar="SLUG",
                     help="add this topic to every imported paper (repeatable)")
    imp.add_argument("--dry-run", action="store_true",
                     help="report what would change; write nothing")
    imp.add_argument("--include-replacements", action="store_true",
                     help="arXiv RSS: also import 'replace' and 'replace-cross' announcements")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")

    update = command("update", "import the recent days of site.yaml's daily sources and "
                     "record them in content/state/")
    update.add_argument("--content", type=Path, default=Path("content"))
    update.add_argument("--now", metavar="TIME", help=NOW_HELP)

    mark = command("mark-mailed", "record a day as mailed without sending it")
    mark.add_argument("day", type=parse_date, metavar="YYYY-MM-DD")
    mark.add_argument("--saved-search", metavar="SLUG",
                      help="that saved search's digest instead of the full one")
    mark.add_argument("--content", type=Path, default=Path("content"))
    mark.add_argument("--now", metavar="TIME", help=NOW_HELP)

    email = command("email", "turn the digest feed into a daily email and send it")
    email.add_argument("--feed", required=True, metavar="PATH_OR_URL",
                       help="the site's digest.xml, as a file or an http(s) URL")
    which = email.add_mutually_exclusive_group()
    which.add_argument("--date", type=parse_date, help="the day to send (YYYY-MM-DD)")
    which.add_argument("--latest", action="store_true", help="send the newest day (the default)")
    which.add_argument("--pending", action="store_true",
                       help="send every closed day of content/state/ not mailed yet, once, "
                            "and record it there (needs --smtp)")
    email.add_argument("--now", metavar="TIME", help=NOW_HELP)
    email.add_argument("--skip-missing", action="store_true",
                       help="exit 0 without sending when the day has no digest item")
    email.add_argument("--saved-search", metavar="SLUG",
                       help="only the day's papers matching this saved search of site.yaml")
    email.add_argument("--content", type=Path, default=Path("content"),
                       help="content folder, for site.yaml's email settings and saved searches")
    email.add_argument("--templates", type=Path, default=None, help=TEMPLATES_HELP)
    dest = email.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", type=Path, metavar="FILE.eml", help="write the message to a file")
    dest.add_argument("--smtp", metavar="HOST:PORT", help="send through this SMTP server")
    email.add_argument("--from", dest="sender", metavar="ADDR", help="sender address (with --smtp)")
    email.add_argument("--to", action="append", default=[], metavar="ADDR",
                       help="recipient (repeatable)")
    email.add_argument("--to-file", type=Path, metavar="FILE", help="recipients, one per line")
    email.add_argument("--starttls", action="store_true",
                       help="upgrade the SMTP connection with STARTTLS")
    email.add_argument("--ssl", action="store_true", help="connect to the SMTP server over TLS")
    return parser


def run_build(args: argparse.Namespace) -> int:
    from site_builder.build import BuildOptions, build

    build(BuildOptions(args.content, args.templates, args.out, args.base_url, args.jobs,
                       args.clean, args.quiet, args.strict))
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from site_builder.build import check

    site = check(args.content, args.templates, args.strict)
    print(f"{args.content}: {len(site.papers):,} papers on {len(site.days):,} days, "
          f"{len(site.topics):,} topics: no problems found.")
    return EXIT_OK


def run_init(args: argparse.Namespace) -> int:
    from site_builder.newsite import create_site, next_steps

    create_site(args.folder)
    print(next_steps(args.folder))
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    from site_builder.importers import ImportOptions, import_sources

    summary = import_sources(args.sources, ImportOptions(
        content_dir=args.content, format=args.format, date=args.date, topics=tuple(args.topic),
        dry_run=args.dry_run, include_replacements=args.include_replacements,
    ))
    print(summary.to_json() if args.json else summary.report())
    return EXIT_OK


# commands that are a function of another module, loaded only when that command runs
ELSEWHERE = {"serve": ("site_builder.server", "serve"),
             "email": ("site_builder.email", "send_digest_command"),
             "update": ("site_builder.daily", "run_update"),
             "mark-mailed": ("site_builder.daily", "run_mark_mailed")}


def run_elsewhere(args: argparse.Namespace) -> int:
    module, name = ELSEWHERE[args.command]
    return getattr(importlib.import_module(module), name)(args)


COMMANDS = {"build": run_build, "check": run_check, "init": run_init, "import": run_import,
            **dict.fromkeys(ELSEWHERE, run_elsewhere)}


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("SITE_BUILDER_DEBUG"))
    try:
        return COMMANDS[args.command](args)
    except ContentError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_CONTENT
    except OSError as exc:  # the machine, not the code: a full disk, a read-only folder
        if debug:
            traceback.print_exc()
        print(ContentError([environment_problem(exc)]).report(), file=sys.stderr)
        return EXIT_CONTENT
    except KeyboardInterrupt:
        print("interrupted; the output folder is left complete (never half-written).",
              file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: short message, trace with --debug
        if debug:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "(run again with --debug for the full trace, and please report it)",
                  file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
