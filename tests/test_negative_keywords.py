"""Negative keywords of saved searches (issue 14, item 13): `none:` leaves a paper out."""

from __future__ import annotations

import email
import json
from email import policy

import feedparser

from site_builder.cli import main
from tests.test_feeds import BASE, TEMPLATES, build_into

SITE = """\
title: Test Papers
base_url: https://example.org/digest/
saved_searches:
  - slug: diffusion
    title: Diffusion, no surveys
    any: [diffusion]
    none: [survey, position paper]
"""
PAPERS = {
    "plain": ("Fast Diffusion Sampling", "We sample diffusion models fast."),
    "survey": ("Diffusion Models: A Survey", "We review diffusion."),
    "position": ("Rethinking Diffusion", "This position paper argues about diffusion."),
    "other": ("Graph Networks", "No match at all."),
}


def make_site(tmp_path):
    content = tmp_path / "content"
    day = content / "days" / "2026-04-21"
    day.mkdir(parents=True)
    (content / "site.yaml").write_text(SITE, "utf-8")
    for slug, (title, abstract) in PAPERS.items():
        (day / f"{slug}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\nupvotes: 1\n---\n{abstract}\n", "utf-8")
    return content, build_into(content, tmp_path / "out")


def test_a_paper_matching_a_none_keyword_is_left_out(tmp_path, capsys):
    content, out = make_site(tmp_path)
    ids = [e.id for e in feedparser.parse((out / "feeds/diffusion/feed.xml").read_bytes()).entries]
    assert ids == [BASE + "papers/plain/"]
    page = (out / "feeds/diffusion/index.html").read_text("utf-8")
    assert "Fast Diffusion Sampling" in page and "A Survey" not in page
    assert "Rethinking Diffusion" not in page
    eml = tmp_path / "x.eml"
    code = main(["email", "--feed", str(out / "digest.xml"), "--content", str(content),
                 "--templates", str(TEMPLATES), "--saved-search", "diffusion", "--out", str(eml)])
    assert code == 0, capsys.readouterr().err
    text = email.message_from_bytes(eml.read_bytes(), policy=policy.default) \
        .get_body(("plain",)).get_content()
    assert "Fast Diffusion Sampling" in text and "Survey" not in text
    assert "Rethinking" not in text


def test_none_must_be_a_list_of_texts(tmp_path, capsys):
    content = tmp_path / "content"
    content.mkdir()
    (content / "site.yaml").write_text(SITE.replace("[survey, position paper]", "[1, 2]"))
    code = main(["check", "--content", str(content)])
    err = capsys.readouterr().err
    assert code == 1 and "site.yaml:" in err and "none: must be a list of non-empty texts" in err
