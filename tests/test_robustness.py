"""Bad input never breaks the site: every kind of bad content gives ``path:line: message`` lines,
then a count, exit 1, no traceback, and the previous output left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from site_builder.cli import main
from tests.conftest import TEMPLATES
from tests.trees import write_files

GOOD_PAPER = "---\ntitle: A good paper\ntopics: [ml]\nupvotes: 3\n---\nIts abstract.\n"
PROBLEM_LINE = re.compile(r"^\S.*?: .+$")
COUNT_LINE = re.compile(r"^(\d+) problems? found\.$")


def make_content(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A small valid content folder, plus (or overridden by) the given files."""
    write_files(root, {
        "site.yaml": "title: Robust digest\nbase_url: https://example.org/digest/\n",
        "topics/ml.md": "---\ntitle: Machine learning\nkeywords: [neural network]\n---\nAll ML.\n",
        "days/2026-04-21/good.md": GOOD_PAPER,
        "days/2026-04-21/index.md": "A quiet day.\n",
    })
    write_files(root, files or {})
    return root


def tree_digest(folder: Path) -> str:
    """One hash over every path, file, symlink and folder under a folder (missing: '')."""
    if not folder.exists():
        return ""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_dir():
            digest.update(f"D {rel}\n".encode())
        else:
            digest.update(f"F {rel} ".encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def build_args(content: Path, out: Path) -> list[str]:
    return ["build", "--content", str(content), "--templates", str(TEMPLATES), "--out", str(out),
            "--quiet"]


def check_args(content: Path) -> list[str]:
    return ["check", "--content", str(content), "--templates", str(TEMPLATES)]


def problem_lines(stderr: str) -> list[str]:
    """The problem lines of a report, after checking its shape: problems, then their count."""
    lines = stderr.strip().splitlines()
    assert lines, "no message at all"
    assert "Traceback" not in stderr
    match = COUNT_LINE.match(lines[-1])
    assert match, f"last line is not a count: {lines[-1]!r}"
    problems = lines[:-1]
    assert int(match.group(1)) == len(problems), stderr
    for line in problems:
        assert PROBLEM_LINE.match(line), f"not 'path: message' or 'path:line: message': {line!r}"
    return problems


@pytest.fixture(scope="module")
def previous_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Yesterday's site: a good build that every failing build must leave untouched."""
    root = tmp_path_factory.mktemp("previous")
    content = make_content(root / "content")
    out = root / "output"
    assert main(build_args(content, out)) == 0
    return out


@pytest.fixture
def site(tmp_path: Path, previous_output: Path) -> tuple[Path, Path]:
    """A valid content folder and a copy of the previous output, in a private folder."""
    out = tmp_path / "output"
    shutil.copytree(previous_output, out, symlinks=True)
    return make_content(tmp_path / "content"), out


DAY = "days/2026-04-21"
# (id, files to add, file the message must name, line or None, text the message must contain)
BAD_CONTENT = [
    ("invalid-yaml", {f"{DAY}/bad.md": "---\ntitle: [unclosed\nupvotes: 3\n---\n"},
     f"{DAY}/bad.md", 3, "invalid YAML"),
    ("colon-in-title", {f"{DAY}/bad.md": "---\ntitle: Attention: all you need\n---\n"},
     f"{DAY}/bad.md", 2, "in quotes"),
    ("tab-indent", {f"{DAY}/bad.md": "---\ntitle: A\n\tupvotes: 3\n---\n"},
     f"{DAY}/bad.md", 3, "spaces, not tabs"),
    ("wrong-type", {f"{DAY}/bad.md": "---\ntitle: A\nupvotes: many\n---\n"},
     f"{DAY}/bad.md", 3, "'upvotes' must be a whole number"),
    ("list-not-text", {f"{DAY}/bad.md": "---\ntitle: A\ncomment:\n  - a\n---\n"},
     f"{DAY}/bad.md", 3, "'comment' must be text"),
    ("bool-authors", {f"{DAY}/bad.md": "---\ntitle: A\nauthors: [yes, no]\n---\n"},
     f"{DAY}/bad.md", 3, "'authors' must be a list of texts"),
    ("binary-value", {f"{DAY}/bad.md": "---\ntitle: !!binary aGVsbG8=\n---\n"},
     f"{DAY}/bad.md", 2, "'title' must be text"),
    ("impossible-date", {f"{DAY}/bad.md": "---\ntitle: A\npublished: 2026-02-31\n---\n"},
     f"{DAY}/bad.md", 3, "'2026-02-31' is not a real date"),
    ("bad-date-text", {f"{DAY}/bad.md": "---\ntitle: A\nwithdrawn: soon\n---\n"},
     f"{DAY}/bad.md", 3, "'withdrawn' must be a date"),
    ("impossible-day-folder", {"days/2026-13-45/a.md": GOOD_PAPER.replace("good", "a")},
     "days/2026-13-45", None, "not a real date"),
    ("day-folder-not-a-date", {"days/latest/a.md": GOOD_PAPER}, "days/latest", None,
     "YYYY-MM-DD"),
    ("missing-title", {f"{DAY}/bad.md": "---\nupvotes: 3\n---\nAn abstract.\n"},
     f"{DAY}/bad.md", 1, "missing required field 'title'"),
    ("empty-title", {f"{DAY}/bad.md": "---\ntitle: '  '\n---\n"},
     f"{DAY}/bad.md", 2, "'title' must not be empty"),
    ("duplicate-id", {"days/2026-04-22/good.md": GOOD_PAPER},
     "days/2026-04-22/good.md", 1, "two papers with the id 'good'"),
    ("duplicate-id-case", {"days/2026-04-22/GOOD.md": GOOD_PAPER},
     "days/2026-04-22/GOOD.md", 1, "differ only in case"),
    ("id-not-file-name", {f"{DAY}/bad.md": "---\nid: other\ntitle: A\n---\n"},
     f"{DAY}/bad.md", 2, "does not match the file name"),
    ("unknown-topic", {f"{DAY}/bad.md": "---\ntitle: A\ntopics: [ml, nope]\n---\n"},
     f"{DAY}/bad.md", 3, "unknown topic 'nope'"),
    ("unknown-field", {f"{DAY}/bad.md": "---\ntitle: A\nupvote: 3\n---\n"},
     f"{DAY}/bad.md", 3, "did you mean 'upvotes'"),
    ("file-outside-layout", {"notes.txt": "hello\n"}, "notes.txt", None,
     "not part of the content layout"),
    ("non-markdown-in-day", {f"{DAY}/paper.txt": "hello\n"}, f"{DAY}/paper.txt", None,
     "not part of the content layout"),
    ("non-utf8", {f"{DAY}/bad.md": "---\ntitle: café\n---\n".encode("latin-1")},
     f"{DAY}/bad.md", 2, "not valid UTF-8"),
    ("nul-bytes", {f"{DAY}/bad.md": b"---\ntitle: A\n---\nab\x00cd\n"},
     f"{DAY}/bad.md", 4, "NUL bytes"),
    ("control-character", {f"{DAY}/bad.md": "---\ntitle: A\n---\nA bell \x07 here.\n"},
     f"{DAY}/bad.md", 4, "control character U+0007"),
    ("escaped-control-character", {f"{DAY}/bad.md": '---\ntitle: "A \\a bell"\n---\n'},
     f"{DAY}/bad.md", 2, "control character U+0007"),
    ("empty-file", {f"{DAY}/bad.md": ""}, f"{DAY}/bad.md", 1, "file is empty"),
    ("no-front-matter", {f"{DAY}/bad.md": "Just an abstract.\n"}, f"{DAY}/bad.md", 1,
     "missing front matter"),
    ("unclosed-front-matter", {f"{DAY}/bad.md": "---\ntitle: A\nAn abstract.\n"},
     f"{DAY}/bad.md", 1, "not closed"),
    ("huge-file", {f"{DAY}/bad.md": "---\ntitle: A\n---\n" + "x" * 2_100_000},
     f"{DAY}/bad.md", None, "too large"),
    ("python-tag", {f"{DAY}/bad.md": "---\ntitle: !!python/object/apply:os.system "
                    "['touch {sentinel}']\n---\n"},
     f"{DAY}/bad.md", 2, "!!python/object/apply:os.system is not allowed"),
    ("python-name-tag", {f"{DAY}/bad.md": "---\ntitle: A\ncomment: !!python/name:os.system\n"
                         "---\n"},
     f"{DAY}/bad.md", 3, "is not allowed"),
    ("duplicate-key", {f"{DAY}/bad.md": "---\ntitle: A\nupvotes: 1\ntitle: B\n---\n"},
     f"{DAY}/bad.md", 4, "'title' is given twice (first on line 2)"),
    ("alias-bomb", {f"{DAY}/bad.md": "---\ntitle: A\nx: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
                    + "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}' if i > 1 else '*a'] * 9)}]\n"
                              for i in range(1, 9)) + "---\n"},
     f"{DAY}/bad.md", 4, "anchors and aliases"),  # line 4: the first alias
    ("deep-nesting", {f"{DAY}/bad.md": "---\ntitle: A\nx: " + "[" * 30_000 + "\n---\n"},
     # PyYAML 6.0.4 stops this itself, in its own words: any wording that says so will do
     f"{DAY}/bad.md", 3, re.compile(r"nest|deep|depth", re.I)),
    ("bad-link", {f"{DAY}/bad.md": "---\ntitle: A\ncode: JaVaScRiPt:alert(1)\n---\n"},
     f"{DAY}/bad.md", 3, "'code' must be an http:// or https:// URL"),
    ("data-link", {f"{DAY}/bad.md": "---\ntitle: A\npdf: data:text/html,<script>x</script>\n---\n"},
     f"{DAY}/bad.md", 3, "'pdf' must be an http:// or https:// URL"),
    ("unusable-id", {f"{DAY}/a b.md": GOOD_PAPER}, f"{DAY}/a b.md", 1, "not a usable paper id"),
    ("reserved-id", {f"{DAY}/con.md": GOOD_PAPER}, f"{DAY}/con.md", 1, "not a usable paper id"),
    ("dotted-id", {f"{DAY}/a..b.md": GOOD_PAPER}, f"{DAY}/a..b.md", 1, "not a usable paper id"),
    ("org-reserved-name", {f"{DAY}/bad.md": "---\ntitle: A\norganization: {name: Aux}\n---\n"},
     f"{DAY}/bad.md", 3, "a name some systems reserve"),
    ("topic-without-title", {"topics/empty.md": "---\nkeywords: [x]\n---\n"},
     "topics/empty.md", 1, "a topic needs a 'title'"),
    ("topic-bad-slug", {"topics/Big_Topic.md": "---\ntitle: T\n---\n"},
     "topics/Big_Topic.md", None, "must be a slug"),
    ("topic-reserved-slug", {"topics/aux.md": "---\ntitle: T\n---\n"},
     "topics/aux.md", None, "reserved name"),
    ("note-bad-yaml", {f"{DAY}/index.md": "---\ntitle: [x\n---\nNote.\n"},
     f"{DAY}/index.md", 3, "invalid YAML"),
    ("config-unknown-key", {"site.yaml": "title: X\ntitel: Y\n"}, "site.yaml", 2,
     "unknown setting 'titel' (did you mean 'title'?)"),
    ("config-wrong-type", {"site.yaml": "title: X\npage_size: many\n"}, "site.yaml", 2,
     "'page_size' must be a whole number"),
    ("config-bad-base-url", {"site.yaml": "base_url: ftp://example.org/\n"}, "site.yaml", 1,
     "'base_url' must be an absolute http(s) URL"),
    ("config-base-url-quotes", {"site.yaml": "base_url: 'https://x.org/\"><script>'\n"},
     "site.yaml", 1, "without spaces or quotes"),
    ("config-bad-yaml", {"site.yaml": "title: [x\n"}, "site.yaml", 2, "invalid YAML"),
    ("config-not-mapping", {"site.yaml": "- a\n- b\n"}, "site.yaml", 1, "must be a mapping"),
    ("config-bad-timezone", {"site.yaml": "timezone: Mars/Olympus\n"}, "site.yaml", 1,
     "unknown timezone"),
    ("config-subscribe-javascript", {"site.yaml": "subscribe_form_url: javascript:alert(1)\n"},
     "site.yaml", 1, "'subscribe_form_url' must be an absolute"),
    ("config-language-injection", {"site.yaml": "language: 'en\" onload=\"x'\n"}, "site.yaml", 1,
     "'language' must be a language tag"),
    ("config-saved-search-reserved", {"site.yaml": "saved_searches:\n  - slug: con\n"
                                      "    title: C\n    any: [x]\n"},
     "site.yaml", 1, "reserved name"),
    ("config-saved-search-unknown-topic", {"site.yaml": "saved_searches:\n  - slug: s\n"
                                           "    title: S\n    topics: [ml, mll]\n"},
     "site.yaml", 1, "saved_searches[0].topics: unknown topic 'mll'"),
    ("config-cname-url", {"site.yaml": "cname: https://papers.example.org/\n"}, "site.yaml", 1,
     "'cname' must be a domain name"),
]


def prepare(case_files: dict[str, str | bytes], content: Path, sentinel: Path) -> None:
    files = {name: data.replace("{sentinel}", str(sentinel)) if isinstance(data, str) else data
             for name, data in case_files.items()}
    write_files(content, files)


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize(("files", "where", "line", "text"),
                         [case[1:] for case in BAD_CONTENT], ids=[case[0] for case in BAD_CONTENT])
def test_bad_content_is_reported_and_the_output_is_untouched(
        site, capsys, command, files, where, line, text):
    content, out = site
    sentinel = content.parent / "EXECUTED"
    prepare(files, content, sentinel)
    before = tree_digest(out)
    args = build_args(content, out) if command == "build" else check_args(content)
    assert main(args) == 1
    captured = capsys.readouterr()
    problems = problem_lines(captured.err)
    expected = f"{where}:{line}: " if line else f"{where}:"
    matching = [p for p in problems if expected in p]
    assert matching, f"no problem names {expected!r}:\n{captured.err}"
    found = [p for p in matching if (text.search(p) if isinstance(text, re.Pattern) else text in p)]
    assert found, f"{text!r} not in:\n{captured.err}"
    assert tree_digest(out) == before
    assert leftovers(out) == []
    assert not sentinel.exists()


def test_every_problem_of_a_run_is_listed_then_counted(site, capsys):
    content, out = site
    write_files(content, {
        f"{DAY}/a.md": "---\ntitle: A\nupvotes: many\n---\n",
        f"{DAY}/b.md": "---\ntitle: [x\n---\n",
        f"{DAY}/c.md": "",
        "days/2026-13-45/d.md": GOOD_PAPER,
        "topics/t.md": "---\nkeywords: 3\n---\n",
        "stray.txt": "x",
    })
    before = tree_digest(out)
    assert main(build_args(content, out)) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert len(problems) >= 6
    for name in ("a.md:3:", "b.md:3:", "c.md:1:", "2026-13-45:", "topics/t.md", "stray.txt:"):
        assert any(name in p for p in problems), (name, problems)
    assert tree_digest(out) == before


def test_problems_are_listed_in_a_stable_order(site, capsys):
    content, out = site
    write_files(content, {f"{DAY}/{name}.md": "" for name in ("zeta", "alpha", "mu")})
    main(check_args(content))
    first = capsys.readouterr().err
    main(check_args(content))
    assert capsys.readouterr().err == first
    names = [line.split("/")[-1].split(":")[0] for line in first.splitlines()[:-1]]
    assert names == sorted(names)


def test_symlink_out_of_the_content_folder_is_refused(site, tmp_path, capsys):
    content, out = site
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: Secret\n---\nThe password is hunter2.\n")
    (content / DAY / "leak.md").symlink_to(secret)
    (content / DAY / "index.md").unlink()
    (content / DAY / "index.md").symlink_to(secret)
    before = tree_digest(out)
    assert main(build_args(content, out)) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert sum("outside the content folder" in p for p in problems) == 2
    assert tree_digest(out) == before


def test_a_days_folder_linked_from_elsewhere_is_refused(site, tmp_path, capsys):
    """Every paper is checked when the folders above it lead out of the content folder."""
    content, out = site
    elsewhere = tmp_path / "elsewhere"
    (content / "days").rename(elsewhere)
    (content / "days").symlink_to(elsewhere)
    papers = len(list(elsewhere.glob("*/*.md")))
    before = tree_digest(out)
    assert main(build_args(content, out)) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert sum("outside the content folder" in p for p in problems) == papers > 0
    assert tree_digest(out) == before


def test_bad_base_url_option_is_a_clean_error(site, capsys):
    content, out = site
    before = tree_digest(out)
    assert main([*build_args(content, out), "--base-url", "javascript:alert(1)//"]) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert problems[0].startswith("--base-url: ")
    assert tree_digest(out) == before


def test_missing_content_folder(tmp_path, capsys):
    assert main(check_args(tmp_path / "nowhere")) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert "content folder not found" in problems[0]


@pytest.mark.parametrize("name", [".git", "site.yaml", "days", "base.html"])
def test_an_output_folder_that_is_not_a_site_is_never_replaced(site, capsys, name):
    content, out = site
    precious = out.parent / "precious"
    precious.mkdir()
    (precious / name).mkdir() if "." not in name else (precious / name).write_text("x")
    (precious / "notes.txt").write_text("keep me")
    before = tree_digest(precious)
    assert main(build_args(content, precious)) == 1
    problems = problem_lines(capsys.readouterr().err)
    assert "refusing to replace" in problems[0]
    assert tree_digest(precious) == before


def test_the_current_folder_is_never_the_output(site, monkeypatch, capsys):
    content, out = site
    monkeypatch.chdir(out)
    before = tree_digest(out)
    assert main(build_args(content, Path("."))) == 1
    assert "contains the current folder" in capsys.readouterr().err
    assert tree_digest(out) == before


def test_internal_error_is_short_and_debug_shows_the_trace(site, monkeypatch, capsys):
    content, out = site
    before = tree_digest(out)

    def broken(*_args, **_kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr("site_builder.build.site_pages", broken)
    code = main(build_args(content, out))
    err = capsys.readouterr().err
    assert code not in (0, 1)
    assert "Traceback" not in err
    assert "internal error: RuntimeError: something inside broke" in err
    assert "--debug" in err
    assert len(err.strip().splitlines()) <= 3
    assert tree_digest(out) == before
    assert leftovers(out) == []

    code = main(["--debug", *build_args(content, out)])
    err = capsys.readouterr().err
    assert code not in (0, 1)
    assert "Traceback (most recent call last)" in err
    assert "something inside broke" in err
    assert tree_digest(out) == before


def test_fixing_the_content_builds_again(site, capsys):
    content, out = site
    bad = content / DAY / "bad.md"
    bad.write_text("---\ntitle: [x\n---\n")
    assert main(build_args(content, out)) == 1
    bad.write_text("---\ntitle: Now fixed\n---\nFine.\n")
    assert main(build_args(content, out)) == 0
    assert (out / "papers" / "bad" / "index.html").is_file()
    assert leftovers(out) == []
