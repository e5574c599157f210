"""digest.json (issue 14, item 11): the digest as data, and the email built from it."""

from __future__ import annotations

import email
import json
import shutil
from email import policy

import pytest

from site_builder.cli import main
from tests.conftest import build_into as build_with
from tests.test_feeds import BASE, TEMPLATES, build_into, write_content


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("digest-json")
    content = write_content(root / "content")
    (content / "days" / "2026-04-21" / "unknown.md").write_text(
        "---\ntitle: Votes Unknown\nauthors: [Una Known]\n---\nOne.\n\nTwo.\n", "utf-8")
    return content, build_into(content, root / "out")


def test_digest_json_is_a_json_feed_with_each_day_as_data(site):
    _content, out = site
    feed = json.loads((out / "digest.json").read_text("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE + "digest.json"
    assert feed["_digest"] == {"version": 1, "site_title": "Test Papers", "site_url": BASE}
    assert [item["id"] for item in feed["items"]] == [BASE + "date/2026-04-21/",
                                                     BASE + "date/2026-04-20/"]
    day = feed["items"][0]["_digest"]
    assert day["date"] == "2026-04-21" and day["note_title"] == "Editor's pick"
    assert day["note_text"].startswith("Read Scaling first.")
    papers = {paper["id"]: paper for paper in day["papers"]}
    assert [p["id"] for p in day["papers"]][0] == "scaling-laws"  # top first
    top = papers["scaling-laws"]
    assert top["upvotes"] == 41 and len(top["authors"]) == 7
    assert top["organization"] == {"name": "acme", "label": "Acme Research",
                                   "url": BASE + "orgs/acme/"}
    assert top["abstract"] == "Loss falls as $x^2$ grows.\n\nA second paragraph with a link."
    assert {link["kind"] for link in top["links"]} == {"paper", "pdf", "code", "arxiv",
                                                       "project"}
    assert top["topics"] == [{"slug": "theory", "title": "Theory",
                              "url": BASE + "topics/theory/"}]
    assert papers["unknown"]["upvotes"] is None
    assert papers["quiet-paper"]["author_count"] == 14 and papers["quiet-paper"]["authors"] == []


def eml_text(capsys, feed, content, tmp_path, *extra) -> tuple[str, str]:
    out = tmp_path / "x.eml"
    code = main(["email", "--feed", str(feed), "--content", str(content), "--templates",
                 str(TEMPLATES), "--out", str(out), "--date", "2026-04-21", *extra])
    assert code == 0, capsys.readouterr().err
    message = email.message_from_bytes(out.read_bytes(), policy=policy.default)
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_the_email_does_not_depend_on_the_digest_html(site, tmp_path, capsys):
    content, out = site
    # a theme whose digest item HTML has none of the class names DigestParser reads
    theme = tmp_path / "theme"
    shutil.copytree(TEMPLATES, theme)
    (theme / "feeds" / "digest.html").write_text("<p>{{ day.papers|length }} papers</p>\n")
    other = build_with(content, tmp_path / "other", base_url=BASE, templates=theme)
    assert "paper-title" not in (other / "digest.xml").read_text("utf-8")
    text, body = eml_text(capsys, other / "digest.xml", content, tmp_path)
    for needle in ("Scaling $x^2$ Laws", "▲ 41", "Acme Research", "14 authors", "Una Known",
                   "Editor's pick", "Read Scaling first."):
        assert needle in text, needle
    assert "Code (★ 1,234): https://github.com/acme/scaling" in text


def test_json_and_xml_give_the_same_email(site, tmp_path, capsys):
    content, out = site
    from_json = eml_text(capsys, out / "digest.json", content, tmp_path)
    assert eml_text(capsys, out / "digest.xml", content, tmp_path) == from_json
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    shutil.copy(out / "digest.xml", legacy / "digest.xml")  # no digest.json beside it
    text, _body = eml_text(capsys, legacy / "digest.xml", content, tmp_path)
    assert "Scaling $x^2$ Laws" in text and "▲ 41" in text


@pytest.mark.parametrize("data, message", [
    (b"{", "not a digest JSON feed"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "no '_digest' extension"),
    (b'{"_digest": {}, "items": [{"_digest": {"date": "2026-04-21", "papers": [1]}}]}',
     "lists no papers"),
])
def test_a_wrong_digest_json_is_a_clear_error(tmp_path, capsys, data, message):
    path = tmp_path / "digest.json"
    path.write_bytes(data)
    code = main(["email", "--feed", str(path), "--out", str(tmp_path / "x.eml")])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err, err
