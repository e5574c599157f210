"""The bad-content corpus: every kind of broken or hostile content an attacker (or a careless
copy-paste) can put in a pull request, each of which must end in ``path:line: message`` lines,
a count, exit 1, and the previous output left exactly as it was. Every row of the README's
Troubleshooting tables for content is one of the kinds here (checked below)."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from site_builder.cli import main
from tests.test_robustness import (  # noqa: F401 - fixtures
    BAD_CONTENT,
    build_args,
    check_args,
    leftovers,
    make_content,
    previous_output,
    problem_lines,
    site,
    tree_digest,
)
from tests.trees import write_files

README = Path(__file__).resolve().parent.parent / "README.md"
DAY = "days/2026-04-21"
BAD = f"{DAY}/bad.md"
Setup = dict[str, str | bytes] | Callable[[Path], None]


def paper(key: str, value: str) -> dict[str, str]:
    """A paper whose ``key`` (line 3, or line 2 for the title) has a raw YAML ``value``."""
    if key == "title":
        return {BAD: f"---\ntitle: {value}\n---\nAn abstract.\n"}
    return {BAD: f"---\ntitle: A\n{key}: {value}\n---\nAn abstract.\n"}


def field_line(key: str) -> int:
    return 2 if key == "title" else 3


TEXT_FIELDS = ("title", "comment", "doi", "journal_ref", "ai_summary")
LIST_FIELDS = ("authors", "topics", "ai_keywords", "categories")
INT_FIELDS = ("upvotes", "github_stars", "author_count")
DATE_FIELDS = ("published", "withdrawn")
LINK_FIELDS = ("arxiv", "pdf", "code", "project_page", "thumbnail")
CONTROLS = {"bell": r'"a \a b"', "escape": r'"a \e b"', "soh": r'"a \x01 b"',
            "delete": r'"a \x7f b"'}
BAD_LINKS = {"javascript": "javascript:alert(1)", "data": "'data:text/html,<b>x</b>'",
             "vbscript": "vbscript:msgbox(1)", "ftp": "ftp://example.org/x",
             "protocol-relative": "//evil.example/x", "spaces": "'https://exa mple.org/'",
             "one-slash": "http:/example.org"}

# (id, setup, file the message names, line or None, text the message holds)
CORPUS: list[tuple[str, Setup, str, int | None, str]] = []


def add(case_id: str, setup: Setup, where: str, line: int | None, text: str) -> None:
    CORPUS.append((case_id, setup, where, line, text))


for key in TEXT_FIELDS:
    for name, value in CONTROLS.items():
        add(f"{key}-control-{name}", paper(key, value), BAD, field_line(key),
            f"'{key}' contains the control character")
    add(f"{key}-list", paper(key, "[a, b]"), BAD, field_line(key), f"'{key}' must be text")
    add(f"{key}-mapping", paper(key, "{a: b}"), BAD, field_line(key), f"'{key}' must be text")
    add(f"{key}-bool", paper(key, "yes"), BAD, field_line(key), f"'{key}' must be text")
for key in LIST_FIELDS:
    add(f"{key}-mapping", paper(key, "{a: b}"), BAD, 3, f"'{key}' must be a list of texts")
    add(f"{key}-nested", paper(key, "[[a]]"), BAD, 3, f"'{key}' must be a list of texts")
    add(f"{key}-bool-item", paper(key, "[yes]"), BAD, 3, f"'{key}' must be a list of texts")
    add(f"{key}-control", paper(key, r'["a \a b"]'), BAD, 3,
        f"'{key}' contains the control character")
for key in INT_FIELDS:
    for name, value in {"word": "many", "negative": "-1", "fraction": "1.5", "bool": "true",
                        "quoted": "'3'", "list": "[3]"}.items():
        add(f"{key}-{name}", paper(key, value), BAD, 3, f"'{key}' must be a whole number")
for key in DATE_FIELDS:
    add(f"{key}-word", paper(key, "soon"), BAD, 3, f"'{key}' must be a date")
    add(f"{key}-impossible", paper(key, "2026-02-31"), BAD, 3, "is not a real date")
    add(f"{key}-list", paper(key, "[2026-01-01]"), BAD, 3, f"'{key}' must be a date")
    add(f"{key}-number", paper(key, "5"), BAD, 3, f"'{key}' must be a date")
for key in LINK_FIELDS:
    for name, value in BAD_LINKS.items():
        add(f"{key}-{name}", paper(key, value), BAD, 3,
            f"'{key}' must be an http:// or https:// URL")
for name in ("aux", "con", "nul", "prn", "com1", "lpt9", "Aux", "CON"):
    add(f"org-device-{name}", paper("organization", f"{{name: {name}}}"), BAD, 3,
        "a name some systems reserve")
add("org-list", paper("organization", "[a]"), BAD, 3, "'organization' must have a 'name'")
add("org-no-name", paper("organization", "{fullname: A}"), BAD, 3,
    "'organization' must have a 'name'")
add("org-unknown-key", paper("organization", "{name: acme, url: x}"), BAD, 3,
    "unknown field 'organization.url'")
add("org-fullname-list", paper("organization", "{name: acme, fullname: [a]}"), BAD, 3,
    "'organization.fullname' must be text")
add("org-control", paper("organization", r'{name: "ac\ame"}'), BAD, 3,
    "'organization.name' contains the control character")
add("org-case-collision", {f"{DAY}/a1.md": "---\ntitle: A\norganization: Acme\n---\n",
                           f"{DAY}/a2.md": "---\ntitle: B\norganization: acme\n---\n"},
    f"{DAY}/a2.md", 3, "would share one page")
add("org-slug-collision", {f"{DAY}/a1.md": "---\ntitle: A\norganization: Meta AI\n---\n",
                           f"{DAY}/a2.md": "---\ntitle: B\norganization: meta-ai\n---\n"},
    f"{DAY}/a2.md", 3, "would share one page")

# YAML that attacks the parser, or that the README says is refused
add("yaml-alias-scalar", {BAD: "---\ntitle: &t x\ncomment: *t\n---\n"}, BAD, 3,
    "anchors and aliases")
add("yaml-alias-list", {BAD: "---\ntitle: A\ntopics: &t [ml]\ncategories: *t\n---\n"}, BAD, 4,
    "anchors and aliases")
add("yaml-merge-key", {BAD: "---\ntitle: A\n<<: {upvotes: 3}\n---\n"}, BAD, 3, "merge keys")
add("yaml-merge-alias", {BAD: "---\ntitle: A\nx: &d {upvotes: 3}\ny:\n  <<: *d\n---\n"}, BAD,
    5, "merge keys")
add("yaml-string-bomb", {BAD: "---\ntitle: A\ns: &s " + "x" * 1000 + "\nauthors: ["
                         + ", ".join(["*s"] * 800) + "]\n---\n"}, BAD, 4, "anchors and aliases")
add("yaml-undefined-alias", {BAD: "---\ntitle: *nothing\n---\n"}, BAD, 2,
    "put a value that starts with * in quotes")
add("yaml-python-object", {BAD: "---\ntitle: !!python/object:os.system x\n---\n"}, BAD, 2,
    "is not allowed")
add("yaml-python-module", {BAD: "---\ntitle: A\nx: !!python/module:os\n---\n"}, BAD, 3,
    "is not allowed")
add("yaml-local-tag", {BAD: "---\ntitle: !evil x\n---\n"}, BAD, 2, "is not allowed")
add("yaml-int-tag", {BAD: "---\ntitle: A\nupvotes: !!int many\n---\n"}, BAD, 3,
    "is not a valid !!int value")
add("yaml-set", {BAD: "---\ntitle: A\nauthors: !!set {a, b}\n---\n"}, BAD, 3,
    "'authors' must be a list of texts")
add("yaml-binary-authors", {BAD: "---\ntitle: A\nauthors: [!!binary aGk=]\n---\n"}, BAD, 3,
    "'authors' must be a list of texts")
add("yaml-unclosed-quote", {BAD: "---\ntitle: \"A\n---\n"}, BAD, None, "invalid YAML")
add("yaml-unclosed-bracket", {BAD: "---\ntitle: A\ntopics: [ml\n---\n"}, BAD, None,
    "invalid YAML")
add("yaml-backtick", {BAD: "---\ntitle: `x`\n---\n"}, BAD, 2,
    "put a value that starts with @, ` or % in quotes")
add("yaml-at-sign", {BAD: "---\ntitle: @home\n---\n"}, BAD, 2, "in quotes")
add("yaml-bad-escape", {BAD: '---\ntitle: "a \\q b"\n---\n'}, BAD, 2, "use single quotes")
add("yaml-second-document", {BAD: "---\ntitle: A\n--- b\n---\n"}, BAD, None, "invalid YAML")
add("yaml-not-a-mapping", {BAD: "---\n- a\n- b\n---\n"}, BAD, 2, "must be a mapping")
add("yaml-scalar-document", {BAD: "---\njust text\n---\n"}, BAD, 2, "must be a mapping")
add("yaml-null-key", {BAD: "---\ntitle: A\n~: x\n---\n"}, BAD, None, "unknown field")
add("yaml-many-values", {BAD: "---\ntitle: A\nauthors: [" + ", ".join(["a"] * 100_001)
                         + "]\n---\n"}, BAD, None, "more than 100,000 values")
add("yaml-duplicate-nested", {BAD: "---\ntitle: A\norganization: {name: a, name: b}\n---\n"},
    BAD, 3, "'name' is given twice")

# whole files: encodings, sizes, bytes
add("latin-1", {BAD: "---\ntitle: Café\n---\n".encode("latin-1")}, BAD, 2, "not valid UTF-8")
add("windows-1252-quotes", {BAD: b"---\ntitle: \x93A\x94\n---\n"}, BAD, 2, "not valid UTF-8")
add("utf-16", {BAD: "---\ntitle: A\n---\n".encode("utf-16")}, BAD, 1, "not valid UTF-8")
add("overlong-utf8", {BAD: b"---\ntitle: \xc0\xaf\n---\n"}, BAD, 2, "not valid UTF-8")
add("surrogate-utf8", {BAD: b"---\ntitle: \xed\xa0\x80\n---\n"}, BAD, 2, "not valid UTF-8")
add("truncated-utf8", {BAD: b"---\ntitle: \xe2\x82\n---\n"}, BAD, 2, "not valid UTF-8")
add("nul-in-front-matter", {BAD: b"---\ntitle: A\x00\n---\n"}, BAD, 2, "NUL bytes")
add("control-in-body", {BAD: "---\ntitle: A\n---\nA \x1b[31m red\n"}, BAD, 4,
    "control character U+001B")
add("noncharacter", {BAD: "---\ntitle: A\n---\nA \ufffe b\n"}, BAD, 4,
    "control character U+FFFE")
add("only-dashes", {BAD: "---\n"}, BAD, 1, "not closed")
add("blank-first-line", {BAD: "\n---\ntitle: A\n---\n"}, BAD, 1, "missing front matter")
add("whitespace-only", {BAD: "   \n\n"}, BAD, 1, "file is empty")
add("huge-body", {BAD: "---\ntitle: A\n---\n" + "word " * 500_000}, BAD, None, "too large")
add("long-abstract", {BAD: "---\ntitle: A\n---\n" + "word " * 5_000}, BAD, 4,
    "the limit is 20,000")
add("many-authors", paper("authors", "[" + ", ".join(f"a{i}" for i in range(5_001)) + "]"),
    BAD, 3, "more than 5,000 authors")
add("huge-title", paper("title", "x" * 2_000_001), BAD, None, "too large")

# ids and file names
for name in ("con", "nul", "aux", "prn", "com1", "lpt1", "CON", "aux.x", "feed", "page",
             "atom"):
    add(f"id-reserved-{name}", {f"{DAY}/{name}.md": "---\ntitle: A\n---\n"},
        f"{DAY}/{name}.md", 1, "not a usable paper id")
for label, name in (("space", "a b"), ("double-dot", "a..b"), ("trailing-dot", "a."),
                    ("unicode", "caf\u00e9"), ("decomposed", "cafe\u0301"), ("plus", "a+b"),
                    ("too-long", "a" * 129), ("leading-dash", "-a")):
    add(f"id-{label}", {f"{DAY}/{name}.md": "---\ntitle: A\n---\n"}, f"{DAY}/{name}.md", 1,
        "not a usable paper id")
add("id-case-twin", {f"{DAY}/Good.md": "---\ntitle: B\n---\n"}, f"{DAY}/good.md", 1,
    "differ only in case")
add("id-numeric", {f"{DAY}/2404.01230.md": "---\nid: 2404.01230\ntitle: A\n---\n"},
    f"{DAY}/2404.01230.md", 2, "write it in quotes")
add("id-on-two-days", {"days/2026-04-20/good.md": "---\ntitle: A\n---\n"},
    f"{DAY}/good.md", 1, "two papers with the id 'good'")

# topics and notes
add("topic-unknown-field", {"topics/t.md": "---\ntitle: T\ncolour: red\n---\n"},
    "topics/t.md", 3, "unknown field 'colour'")
add("topic-control-title", {"topics/t.md": '---\ntitle: "T\\a"\n---\n'}, "topics/t.md", 2,
    "control character")
add("topic-keywords-mapping", {"topics/t.md": "---\ntitle: T\nkeywords: {a: b}\n---\n"},
    "topics/t.md", 3, "'keywords' must be a list of texts")
add("topic-not-markdown", {"topics/t.txt": "x"}, "topics/t.txt", None,
    "not part of the content layout")
add("topic-folder", {"topics/sub/t.md": "---\ntitle: T\n---\n"}, "topics/sub", None,
    "not part of the content layout")
add("topic-uppercase", {"topics/ML.md": "---\ntitle: T\n---\n"}, "topics/ML.md", None,
    "must be a slug")
add("topic-device-con", {"topics/con.md": "---\ntitle: T\n---\n"}, "topics/con.md", None,
    "reserved name")
add("topic-not-a-slug", paper("topics", "[Big Data]"), BAD, 3, "is not a slug")
add("note-unknown-field", {f"{DAY}/index.md": "---\ntitle: N\nauthor: x\n---\nA note.\n"},
    f"{DAY}/index.md", 3, "unknown field 'author'")
add("note-title-list", {f"{DAY}/index.md": "---\ntitle: [a]\n---\nA note.\n"},
    f"{DAY}/index.md", 2, "'title' must be text")
add("note-control", {f"{DAY}/index.md": "A note \x07.\n"}, f"{DAY}/index.md", 1,
    "control character U+0007")

# the layout
add("file-in-days", {"days/notes.md": "x"}, "days/notes.md", None, "YYYY-MM-DD")
add("folder-in-day", {f"{DAY}/sub/a.md": "---\ntitle: A\n---\n"}, f"{DAY}/sub", None,
    "not part of the content layout")
add("day-2026-02-30", {"days/2026-02-30/a.md": "---\ntitle: A\n---\n"}, "days/2026-02-30",
    None, "not a real date")
add("day-short-form", {"days/2026-4-21/a.md": "---\ntitle: A\n---\n"}, "days/2026-4-21", None,
    "not a real date")
add("day-year-0", {"days/0000-01-01/a.md": "---\ntitle: A\n---\n"}, "days/0000-01-01", None,
    "not a real date")
add("site-yaml-folder", lambda c: ((c / "site.yaml").unlink(), (c / "site.yaml").mkdir()),
    "site.yaml", None, "cannot read file")
add("stray-folder", {"static/x.css": "x"}, "static", None, "not part of the content layout")
add("markdown-at-root", {"README.md": "x"}, "README.md", None, "not part of the content layout")


def symlink(name: str, target: str) -> Callable[[Path], None]:
    def setup(content: Path) -> None:
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return setup


def fifo(name: str) -> Callable[[Path], None]:
    def setup(content: Path) -> None:
        path = content / name
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return setup


def raw_name(folder: str, name: bytes) -> Callable[[Path], None]:
    def setup(content: Path) -> None:
        path = os.path.join(os.fsencode(content / folder), name)
        with open(path, "wb") as handle:
            handle.write(b"---\ntitle: A\n---\n")
    return setup


def unix_socket(name: str) -> Callable[[Path], None]:
    def setup(content: Path) -> None:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(content / name))
        sock.close()
    return setup


add("symlink-loop-paper", symlink(f"{DAY}/loop.md", "loop.md"), f"{DAY}/loop.md", None,
    "leads to no file")
add("symlink-broken-paper", symlink(f"{DAY}/gone.md", "nowhere.md"), f"{DAY}/gone.md", None,
    "leads to no file")
add("symlink-loop-day", symlink("days/2026-04-22", "2026-04-22"), "days/2026-04-22", None,
    "not a symbolic link")
add("symlink-loop-topic", symlink("topics/loop.md", "loop.md"), "topics/loop.md", None,
    "not part of the content layout")
add("symlink-loop-site-yaml", lambda c: ((c / "site.yaml").unlink(),
                                         symlink("site.yaml", "site.yaml")(c)),
    "site.yaml", None, "")
add("symlink-to-etc", symlink(f"{DAY}/passwd.md", "/etc/passwd"), f"{DAY}/passwd.md", None,
    "outside the content folder")
add("symlink-days-to-root", symlink("days/2026-04-23", "/"), "days/2026-04-23", None,
    "not a symbolic link")
add("fifo-paper", fifo(f"{DAY}/pipe.md"), f"{DAY}/pipe.md", None,
    "not part of the content layout")
add("fifo-site-yaml", fifo("site.yaml"), "site.yaml", None, "is not a regular file")
add("fifo-note", fifo(f"{DAY}/index.md"), f"{DAY}/index.md", None, "")
add("socket-paper", unix_socket(f"{DAY}/s.md"), f"{DAY}/s.md", None,
    "not part of the content layout")
add("name-not-utf8", raw_name(DAY, b"caf\xe9.md"), f"{DAY}/caf", None, "not valid UTF-8")
add("name-not-utf8-topic", raw_name("topics", b"\xff.md"), "topics/", None, "not valid UTF-8")
add("name-with-newline", {f"{DAY}/a\nb.md": "---\ntitle: A\n---\n"}, f"{DAY}/a\\nb.md", 1,
    "not a usable paper id")

# site.yaml: every setting, wrong in every way that matters
CONFIG = "site.yaml"
for key in ("page_size", "feed_size", "topic_feed_size", "digest_size", "home_top_size"):
    for name, value in {"zero": "0", "word": "many", "negative": "-3", "bool": "true"}.items():
        add(f"config-{key}-{name}", {CONFIG: f"{key}: {value}\n"}, CONFIG, 1,
            f"'{key}' must be a whole number of at least 1")
for key in ("title", "description", "base_url", "language", "timezone", "subscribe_form_url",
            "cname", "author"):
    add(f"config-{key}-control", {CONFIG: f'{key}: "a\\ab"\n'}, CONFIG, 1,
        f"'{key}' contains a control character")
    add(f"config-{key}-list", {CONFIG: f"{key}: [a]\n"}, CONFIG, 1, f"'{key}' must be text")
for name, value in {"javascript": "javascript:alert(1)", "relative": "/digest/",
                    "query": "https://x.org/?a=1", "user": "https://u:p@x.org/",
                    "bad-port": "https://x.org:99999/", "space": "'https://x.org/a b'"}.items():
    add(f"config-base-url-{name}", {CONFIG: f"base_url: {value}\n"}, CONFIG, 1, "'base_url'")
for key, value, text in (
        ("email", "[a]", "'email' must be a mapping"),
        ("email", "{subjet: x}", "unknown setting 'email.subjet'"),
        ("email", "{subject: [a]}", "'email.subject' must be text"),
        ("email", '{from_name: "a\\nb"}', "'email.from_name' must be on one line"),
        ("email", '{from_name: "a\\rBcc: x@y.org"}', "'email.from_name' must be on one line"),
        ("email", '{subject: "{title}\\nBcc: x@y.org"}', "'email.subject' must be on one line"),
        ("email", '{subject: "{title.__class__.__mro__}"}', "unknown placeholder"),
        ("email", '{subject: "{title.nope}"}', "unknown placeholder"),
        ("email", '{subject: "{0}"}', "unknown placeholder"),
        ("email", '{subject: "{title!r}"}', "unknown placeholder"),
        ("email", '{subject: "{count:x>200000000}"}', "is not supported"),
        ("email", '{subject: "{count:{title}}"}', "is not supported"),
        ("email", '{subject: "a { b"}', "'email.subject'"),
        ("email", '{footer: "a\\ab"}', "'email.footer' contains a control character"),
        ("email", "{list_unsubscribe: 'javascript:alert(1)'}", "'email.list_unsubscribe'"),
        ("saved_searches", "{a: b}", "'saved_searches' must be a list"),
        ("saved_searches", "[x]", "saved_searches[0] must be a mapping"),
        ("saved_searches", "[{title: T, any: [x]}]", "saved_searches[0].slug: required"),
        ("saved_searches", "[{slug: Big, title: T, any: [x]}]", "saved_searches[0].slug"),
        ("saved_searches", "[{slug: nul, title: T, any: [x]}]", "reserved name"),
        ("saved_searches", "[{slug: s, any: [x]}]", "saved_searches[0].title: required"),
        ("saved_searches", '[{slug: s, title: "T\\a", any: [x]}]',
         "saved_searches[0].title: contains a control character"),
        ("saved_searches", '[{slug: s, title: "T\\u001b[2J", any: [x]}]',
         "saved_searches[0].title: contains a control character"),
        ("saved_searches", '[{slug: s, title: T, any: ["x\\a"]}]',
         "saved_searches[0].any: contains a control character"),
        ("saved_searches", "[{slug: s, title: T, colour: red, any: [x]}]", "unknown key"),
        ("saved_searches", "[{slug: s, title: T}]", "give at least one of"),
        ("saved_searches", "[{slug: s, title: T, min_upvotes: -1}]", "min_upvotes"),
        ("saved_searches", "[{slug: s, title: T, any: {a: b}}]", "must be a list of non-empty"),
        ("saved_searches", "[{slug: s, title: T, any: [x]}, {slug: s, title: U, any: [y]}]",
         "is used twice"),
        ("timezone", "Europe/Nowhere", "unknown timezone"),
        ("timezone", "../../etc/passwd", "unknown timezone"),
        ("language", "'en\" onload=\"x'", "'language' must be a language tag"),
        ("cname", "'evil.org\nother'", "'cname'"),
        ("subscribe_form_url", "'data:text/html,x'", "'subscribe_form_url'"),
        ("titel", "x", "did you mean 'title'"),
):
    add(f"config-{key}-{len(CORPUS)}", {CONFIG: f"{key}: {value}\n"}, CONFIG, 1, text)
add("config-alias", {CONFIG: "title: &t x\ndescription: *t\n"}, CONFIG, 2,
    "anchors and aliases")
add("config-merge-key", {CONFIG: "<<: {title: x}\n"}, CONFIG, 1, "merge keys")
add("config-latin-1", {CONFIG: "title: Caf\xe9\n".encode("latin-1")}, CONFIG, 1,
    "not valid UTF-8")
add("config-raw-control", {CONFIG: "title: a\x07b\n"}, CONFIG, 1, "control character U+0007")
add("config-huge", {CONFIG: "title: " + "x" * 2_000_001 + "\n"}, CONFIG, None, "too large")
add("config-python-tag", {CONFIG: "title: !!python/object/apply:os.system [id]\n"}, CONFIG, 1,
    "is not allowed")
add("config-deep", {CONFIG: "email: " + "[" * 5000 + "\n"}, CONFIG, 1, "invalid YAML")

# the README's examples, word for word
add("readme-int-tag", paper("upvotes", "!!int x"), BAD, 3, "'x' is not a valid !!int value")
add("readme-unknown-topic", paper("topics", "[gans]"), BAD, 3,
    "unknown topic 'gans': create topics/gans.md")
add("readme-unclosed-list", paper("topics", "[ml x: y"), BAD, None,
    "did not find expected ',' or ']'")
add("readme-unclosed-quote", paper("title", '"A'), BAD, None, "found unexpected end of stream")
add("readme-nested", paper("x", "[" * 40 + "]" * 40 + "\ncomment: " + "c" * 5000), BAD, 3,
    "nested more than 32 levels deep")
add("readme-placeholder", {CONFIG: "email:\n  subject: '{title.x}'\n"}, CONFIG, 1,
    "unknown placeholder '{title.x}'")

IDS = [case[0] for case in CORPUS]
assert len(IDS) == len(set(IDS)), "corpus ids must be unique"


def setup_case(setup: Setup, content: Path) -> None:
    if callable(setup):
        setup(content)
    else:
        write_files(content, setup)


BUILD_EVERY = 5  # every fifth kind (and every special file) is built over a previous output;
# the others are checked only (the same validation, without copying an output each time)


@pytest.mark.parametrize(("number", "setup", "where", "line", "text"),
                         [(n, *c[1:]) for n, c in enumerate(CORPUS)], ids=IDS)
def test_bad_content_corpus(request, tmp_path, capsys, number, setup, where, line, text):
    if number % BUILD_EVERY == 0 or callable(setup):
        content, out = request.getfixturevalue("site")
    else:
        content, out = make_content(tmp_path / "content"), tmp_path / "output"
    setup_case(setup, content)
    before = tree_digest(out)
    args = build_args(content, out) if out.exists() else check_args(content)
    assert main(args) == 1
    captured = capsys.readouterr()
    problems = problem_lines(captured.err)
    expected = f"{where}:{line}: " if line else f"{where}"
    matching = [p for p in problems if expected in p]
    assert matching, f"no problem names {expected!r}:\n{captured.err}"
    assert any(text in p for p in matching), f"{text!r} not in:\n{captured.err}"
    assert "internal error" not in captured.err
    assert tree_digest(out) == before
    assert leftovers(out) == []


def test_the_corpus_is_big_enough():
    assert len(CORPUS) + len(BAD_CONTENT) >= 150


# Variants that look odd but are fine: they must build, and read the same as the plain file.
ACCEPTED = {
    "bom": "\ufeff---\ntitle: A\n---\nAn abstract.\n",
    "crlf": "---\r\ntitle: A\r\n---\r\nAn abstract.\r\n",
    "cr-only": "---\rtitle: A\r---\rAn abstract.\r",
    "form-feed": "---\ntitle: A\n---\nAn\x0cabstract.\n",
    "no-final-newline": "---\ntitle: A\n---\nAn abstract.",
    "anchor-without-alias": "---\ntitle: &t A\n---\nAn abstract.\n",
    "quoted-merge-key-text": "---\ntitle: A\ncomment: '<<: x'\n---\nAn abstract.\n",
    "star-inside-text": "---\ntitle: A * B\ncomment: a *b\n---\nAn abstract.\n",
}


def test_odd_but_valid_files_build(site, capsys):  # noqa: F811
    content, out = site
    write_files(content, {f"{DAY}/odd-{name}.md": text for name, text in ACCEPTED.items()})
    assert main(build_args(content, out)) == 0, capsys.readouterr().err
    for name in ACCEPTED:
        page = (out / f"papers/odd-{name}/index.html").read_text("utf-8")
        assert re.search(r"<p>An\s+abstract\.?</p>", page), name


def test_an_unreadable_folder_is_named(site, capsys, monkeypatch):  # noqa: F811
    """(As root, permissions cannot be taken away, so the refusal is simulated.)"""
    content, out = site
    (content / "days/2026-04-23").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("2026-04-23"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    before = tree_digest(out)
    assert main(build_args(content, out)) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert any("days/2026-04-23: cannot read this folder: Permission denied" in p
               for p in problems), problems
    assert tree_digest(out) == before


@pytest.mark.parametrize(("errno_", "words"), [(28, "the disk is full"),
                                               (30, "the file system is read-only"),
                                               (13, "no permission")])
def test_a_failing_disk_is_a_message_naming_the_path(site, capsys, monkeypatch, errno_, words):  # noqa: F811
    content, out = site
    (content / "days/2026-04-21/good.md").write_text(
        "---\ntitle: A changed paper\n---\nNew.\n")
    before = tree_digest(out)

    def failing_write(self, data):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    code = main(build_args(content, out))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "internal error" not in err and "Traceback" not in err
    line = problem_lines(err)[0]
    assert re.search(r"\.html: cannot use this file or folder: ", line), line
    assert words in line
    assert tree_digest(out) == before
    assert leftovers(out) == []


def test_a_read_only_content_folder_stops_an_import_with_its_path(tmp_path, capsys,
                                                                  monkeypatch):
    content = make_content(tmp_path / "content")
    before = {p: p.read_bytes() for p in content.rglob("*") if p.is_file()}
    source = tmp_path / "api.json"
    source.write_text(json.dumps([{"paper": {"id": "2404.00001", "title": "T"},
                                   "publishedAt": "2026-04-21T08:00:00Z"}]))

    def read_only_open(self, *args, **kwargs):
        if args and "w" in args[0]:
            raise OSError(30, "Read-only file system", str(self))
        return real_open(self, *args, **kwargs)

    real_open = Path.open
    monkeypatch.setattr(Path, "open", read_only_open)
    code = main(["import", str(source), "--content", str(content)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "2404.00001.md.tmp-" in err and "the file system is read-only" in err
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in content.rglob("*") if p.is_file()} == before


# -- every content row of the README's Troubleshooting section is a kind of the corpus --------

TABLES = ("Reading a file", "YAML front matter", "Papers, topics and notes",
          "`site.yaml` and options")


def readme_messages() -> list[str]:
    """The message column of the Troubleshooting tables about content."""
    section = README.read_text("utf-8").split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    messages = []
    for table in TABLES:
        body = section.split(f"### {table}\n", 1)[1].split("\n### ", 1)[0]
        for row in re.findall(r"^\| (.+?) \| .*\|$", body, re.M):
            if row in ("Message", "---"):
                continue
            messages.extend(re.findall(r"``?(.+?)``?(?:,|$| \()", row) or [row])
    return messages


def fragments(message: str) -> list[str]:
    """The literal parts of a README message ('…' stands for what varies)."""
    return [part.strip(" .") for part in re.split(r"…|\(…\)", message)
            if len(part.strip(" .")) >= 6]


def corpus_messages(tmp_path: Path) -> str:
    """Every message the corpus (and test_robustness's list) makes, from `check`."""
    found = []
    cases = [(c[0], c[1]) for c in CORPUS] + [(c[0], c[1]) for c in BAD_CONTENT]
    single = [setup for _id, setup in cases if isinstance(setup, dict) and set(setup) == {BAD}
              and "{sentinel}" not in str(setup[BAD])]
    batch = make_content(tmp_path / "batch")  # one paper file per kind, one `check` for all
    write_files(batch, {f"{DAY}/bad-{n}.md": setup[BAD] for n, setup in enumerate(single)})
    found.append(check_messages(batch))
    cases = [(case_id, setup) for case_id, setup in cases if not any(setup is s for s in single)]
    for number, (_case_id, setup) in enumerate(cases):
        content = make_content(tmp_path / f"c{number}")
        if callable(setup):
            setup(content)
        else:
            write_files(content, {k: v.replace("{sentinel}", str(tmp_path / "x"))
                                  if isinstance(v, str) else v for k, v in setup.items()})
        found.append(check_messages(content))
    return "\n".join(found)


def check_messages(content: Path) -> str:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        main(check_args(content))
    return err.getvalue()


def test_every_readme_troubleshooting_row_is_in_the_corpus(tmp_path, monkeypatch):
    messages = readme_messages()
    assert len(messages) > 40
    produced = corpus_messages(tmp_path)
    unreadable = make_content(tmp_path / "unreadable")
    (unreadable / "days/2026-04-23").mkdir()
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")) if str(path).endswith("04-23")
        else real_scandir(path))
    produced += check_messages(unreadable)
    missing = [m for m in messages if fragments(m)
               and not all(part in produced for part in fragments(m))]
    assert missing == []
