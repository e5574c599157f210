"""The email as mail clients show it (issue 14, items 2, 5, 6 and 10): under Gmail's clip on a
200-paper day with the footer kept, one-click unsubscribe, no made-up upvotes, complete
--out files, wrapped text and kept paragraphs."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from site_builder.cli import main
from tests.test_feeds import TEMPLATES, build_into, write_content

GMAIL_CLIP = 102 * 1000  # Gmail hides the rest of an HTML part over about 102 KB
ABSTRACT = ("We study $\\nabla_x \\log p_t(x)$ for diffusion models and x < y && y > z. "
            * 14).strip()


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["email", *argv])
    return code, capsys.readouterr().err


def read_eml(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def html_part_bytes(message: EmailMessage) -> int:
    return len(message.get_body(("html",)).as_bytes(policy=policy.SMTP))


@pytest.fixture(scope="module")
def big_day(tmp_path_factory) -> tuple[Path, Path]:
    """A 200-paper day with long abstracts, ten authors and every link."""
    root = tmp_path_factory.mktemp("big-day")
    content = write_content(root / "content")
    settings = content / "site.yaml"
    settings.write_text(settings.read_text("utf-8").replace(
        "mailto:unsubscribe@example.org", "https://example.org/unsubscribe?u=1"), "utf-8")
    day = content / "days" / "2026-04-22"
    day.mkdir()
    authors = ", ".join(f"Author Number{i} Surname" for i in range(10))
    for n in range(200):
        (day / f"big-{n:03d}.md").write_text(
            f"---\ntitle: Paper number {n} on scaling diffusion transformers for everything\n"
            f"upvotes: {300 - n}\nauthors: [{authors}]\norganization: {{name: acme}}\n"
            f"pdf: https://arxiv.org/pdf/2604.{n:05d}\ncode: https://github.com/acme/p{n}\n"
            f"arxiv: https://arxiv.org/abs/2604.{n:05d}\n---\n{ABSTRACT}\n\nSecond part.\n",
            "utf-8")
    out = build_into(content, root / "out")
    return content, out / "digest.xml"


def make_eml(capsys, site, tmp_path, *extra: str) -> EmailMessage:
    content, digest = site
    out = tmp_path / "day.eml"
    code, err = run(capsys, "--feed", str(digest), "--content", str(content), "--templates",
                    str(TEMPLATES), "--out", str(out), *extra)
    assert code == 0, err
    return read_eml(out)


def test_a_200_paper_day_stays_under_gmails_clip_with_its_footer(big_day, tmp_path, capsys):
    message = make_eml(capsys, big_day, tmp_path, "--date", "2026-04-22")
    size = html_part_bytes(message)
    assert size < GMAIL_CLIP, size
    body = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    tail = body[-3000:]  # the footer is the last thing in the HTML part
    assert "Sent by the test suite." in tail and "https://example.org/unsubscribe?u=1" in tail
    assert "Sent by the test suite." in text[-400:]
    # the top papers are in full, every other one at least as a title line or counted
    assert "Paper number 0 on scaling" in body and "We study $\\nabla_x" in body
    shown = sum(f"Paper number {n} on scaling" in body for n in range(200))
    assert shown >= 150, shown
    if shown < 200:
        assert f"And {200 - shown} more papers" in body
    assert "x &lt; y &amp;&amp; y &gt; z" in body


def test_an_https_unsubscribe_is_one_click(big_day, tmp_path, capsys):
    message = make_eml(capsys, big_day, tmp_path)
    assert message["List-Unsubscribe"] == "<https://example.org/unsubscribe?u=1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("small-day")
    content = write_content(root / "content")
    (content / "days" / "2026-04-21" / "unknown.md").write_text(
        "---\ntitle: Votes Unknown Here\nauthors: [Una Known]\n---\nFirst paragraph.\n\n"
        "Second paragraph.\n", "utf-8")
    out = build_into(content, root / "out")
    return content, out / "digest.xml"


def test_mailto_unsubscribe_is_not_one_click(small, tmp_path, capsys):
    message = make_eml(capsys, small, tmp_path)
    assert message["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert message["List-Unsubscribe-Post"] is None


def test_unknown_upvotes_are_left_out_of_both_parts(small, tmp_path, capsys):
    message = make_eml(capsys, small, tmp_path, "--date", "2026-04-21")
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    block = text[text.index("Votes Unknown Here"):].split("\n\n\n")[0]
    assert "▲" not in block.split("http")[0] and "Una Known" in block
    card = body[body.index("Votes Unknown Here"):body.index("Read more", body.index(
        "Votes Unknown Here"))]
    assert "▲" not in card and "Una Known" in card
    assert "▲ 41" in text  # known counts stay


def test_abstract_paragraphs_are_kept(small, tmp_path, capsys):
    message = make_eml(capsys, small, tmp_path, "--date", "2026-04-21")
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    assert "First paragraph.\n\n   Second paragraph." in text.replace("\r\n", "\n")
    assert body.count("First paragraph.</p>") == 1 and "Second paragraph.</p>" in body


def test_text_lines_are_wrapped_at_78_characters(big_day, tmp_path, capsys):
    text = make_eml(capsys, big_day, tmp_path).get_body(("plain",)).get_content()
    long = [line for line in text.splitlines() if len(line) > 78]
    assert all(len(line.split()) <= 2 and "://" in line for line in long), long[:3]


def test_a_configured_footer_replaces_the_built_in_line(small, tmp_path, capsys):
    message = make_eml(capsys, small, tmp_path)
    for part in (message.get_body(("plain",)), message.get_body(("html",))):
        content = part.get_content()
        assert "Sent by the test suite." in content
        assert "You get this email because" not in content


def test_an_out_file_has_from_and_to(small, tmp_path, capsys):
    message = make_eml(capsys, small, tmp_path)
    assert message["From"] == "Papers Bot <digest@example.org>"
    assert message["To"] == "undisclosed-recipients:;"
    message = make_eml(capsys, small, tmp_path, "--from", "me@example.net", "--to",
                       "you@example.net")
    assert message["From"] == "Papers Bot <me@example.net>"
    assert message["To"] == "you@example.net"


def test_a_bad_from_is_an_input_error_like_a_bad_to(small, tmp_path, capsys):
    content, digest = small
    for option in ("--from", "--to"):
        code, err = run(capsys, "--feed", str(digest), "--content", str(content),
                        "--out", str(tmp_path / "x.eml"), option, "not-an-address")
        assert code == 1 and f"{option}: " in err and "not-an-address" in err, err


def test_an_unsupported_url_scheme_is_named(small, tmp_path, capsys):
    code, err = run(capsys, "--feed", "htp://example/digest.xml", "--out",
                    str(tmp_path / "x.eml"))
    assert code == 1 and "'htp://' is not supported" in err and "not found" not in err
