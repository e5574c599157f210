"""The built-in theme, and a site's own templates/ overriding it file by file."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from pathlib import Path

from site_builder.cli import main
from tests.conftest import CONTENT, TEMPLATES

NO_SEARCH = {"SITE_BUILDER_PAGEFIND": "off"}


def small_site(folder: Path) -> Path:
    """A site folder with one day of the embedded content and no templates of its own."""
    content = folder / "content"
    shutil.copytree(CONTENT / "topics", content / "topics")
    shutil.copy(CONTENT / "site.yaml", content / "site.yaml")
    shutil.copytree(CONTENT / "days" / "2026-04-21", content / "days" / "2026-04-21")
    return content


def build(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command, run from ``cwd`` as a user would."""
    return subprocess.run([sys.executable, "-m", "site_builder", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **NO_SEARCH})


def test_without_templates_the_built_in_theme_is_used_from_any_folder(tmp_path):
    content = small_site(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = build("build", "--content", str(content), "--out", str(tmp_path / "out"),
                   cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert (out / "static" / "style.css").read_bytes() == \
        (TEMPLATES / "static" / "style.css").read_bytes()
    assert "<!doctype html>" in (out / "index.html").read_text("utf-8").lower()
    assert not (elsewhere / "output").exists()


def test_a_templates_folder_beside_the_content_overrides_file_by_file(tmp_path):
    site = tmp_path / "site"
    content = small_site(site)
    own = site / "templates"
    (own / "static").mkdir(parents=True)
    paper = (TEMPLATES / "paper.html").read_text("utf-8")
    (own / "paper.html").write_text(paper.replace("{% block main %}",
                                                  "{% block main %}<p>MY OWN PAPER PAGE</p>", 1))
    (own / "static" / "style.css").write_text("body { color: rebeccapurple; }\n")
    result = build("build", "--content", str(content), "--out", str(tmp_path / "out"), cwd=site)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    papers = sorted((out / "papers").glob("*/index.html"))
    assert papers and all("MY OWN PAPER PAGE" in p.read_text("utf-8") for p in papers)
    assert "MY OWN PAPER PAGE" not in (out / "index.html").read_text("utf-8")  # theme's home
    assert (out / "static" / "style.css").read_text() == "body { color: rebeccapurple; }\n"
    assert (out / "static" / "search.js").read_bytes() == \
        (TEMPLATES / "static" / "search.js").read_bytes()  # not overridden: the theme's


def test_editing_an_override_rebuilds_the_pages_that_use_it(tmp_path):
    site = tmp_path / "site"
    content = small_site(site)
    (site / "templates").mkdir()
    out = tmp_path / "out"
    assert build("build", "--content", str(content), "--out", str(out), cwd=site).returncode == 0
    base = (TEMPLATES / "base.html").read_text("utf-8")
    (site / "templates" / "base.html").write_text(base.replace("<body", "<body data-mine", 1))
    result = build("build", "--content", str(content), "--out", str(out), cwd=site)
    assert result.returncode == 0, result.stderr
    assert "data-mine" in (out / "index.html").read_text("utf-8")


def test_a_missing_templates_folder_is_named(tmp_path, capsys):
    content = small_site(tmp_path / "site")
    missing = tmp_path / "no-such-templates"
    code = main(["build", "--content", str(content), "--templates", str(missing),
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err
    assert not (tmp_path / "out").exists()


def test_the_email_uses_the_theme_or_the_sites_own_email_template(tmp_path):
    site = tmp_path / "site"
    content = small_site(site)
    out = tmp_path / "out"
    assert build("build", "--content", str(content), "--out", str(out), cwd=site).returncode == 0
    eml = tmp_path / "day.eml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = build("email", "--feed", str(out / "digest.xml"), "--latest", "--content",
                   str(content), "--out", str(eml), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "2026" in message["Subject"]
    (site / "templates" / "email").mkdir(parents=True)
    text = (TEMPLATES / "email" / "digest.txt").read_text("utf-8")
    (site / "templates" / "email" / "digest.txt").write_text("MY OWN TEXT PART\n" + text)
    result = build("email", "--feed", str(out / "digest.xml"), "--latest", "--content",
                   str(content), "--out", str(eml), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message.get_body(("plain",)).get_content().startswith("MY OWN TEXT PART")
    assert "MY OWN TEXT PART" not in message.get_body(("html",)).get_content()
