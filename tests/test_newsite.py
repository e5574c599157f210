"""``site-builder init``: a new site that builds, mails and publishes as it is."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from site_builder.cli import main
from site_builder.newsite import SCAFFOLD_DIR
from site_builder.render import THEME_DIR
from tests.conftest import REPO

NO_SEARCH = {"SITE_BUILDER_PAGEFIND": "off"}


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "site_builder", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **NO_SEARCH})


def test_init_makes_a_site_that_builds_and_mails(tmp_path):
    result = run("init", "mysite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "mysite"
    for name in ("content/site.yaml", ".gitignore", ".github/workflows/pages.yml",
                 "requirements.txt"):
        assert (site / name).is_file(), name
    assert len(list((site / "content" / "topics").glob("*.md"))) == 2
    steps = [line for line in result.stdout.splitlines() if line.lstrip()[:2] in ("1.", "2.",
                                                                                  "3.")]
    assert len(steps) == 3 and "cd mysite" in steps[0]

    built = run("build", cwd=site)
    assert built.returncode == 0, built.stderr
    assert (site / "output" / "index.html").is_file()
    assert (site / "output" / "topics").is_dir()
    mailed = run("email", "--feed", "output/digest.xml", "--latest", "--out", "day.eml", cwd=site)
    assert mailed.returncode == 0, mailed.stderr
    message = email.message_from_bytes((site / "day.eml").read_bytes(),
                                       policy=email.policy.default)
    assert "My Daily Papers" in message["Subject"]


def test_the_new_sites_gitignore_keeps_build_output_out_of_git(tmp_path):
    assert main(["init", str(tmp_path / "s")]) == 0
    site = tmp_path / "s"
    subprocess.run(["git", "init", "-q"], cwd=site, check=True)
    (site / "output").mkdir()
    (site / "output" / "index.html").write_text("x")
    (site / ".site-builder-cache").mkdir()
    (site / ".site-builder-cache" / "state").write_text("x")
    ignored = subprocess.run(["git", "check-ignore", "output/index.html",
                              ".site-builder-cache/state", "content/site.yaml"],
                             cwd=site, capture_output=True, text=True)
    assert ignored.stdout.split() == ["output/index.html", ".site-builder-cache/state"]


def test_init_never_overwrites_and_writes_nothing_when_it_refuses(tmp_path, capsys):
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "content" / "site.yaml").write_text("title: Mine\n")
    assert main(["init", str(site)]) == 1
    err = capsys.readouterr().err
    assert "site.yaml" in err and "already exists" in err
    assert (site / "content" / "site.yaml").read_text() == "title: Mine\n"
    assert sorted(p.name for p in site.rglob("*")) == ["content", "site.yaml"]


def test_init_in_the_current_folder(tmp_path):
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "content" / "site.yaml").is_file()
    assert "cd " not in result.stdout.splitlines()[1]


def test_the_new_sites_workflow_is_this_repositorys_workflow():
    """One workflow: a fork of this repository and an `init` site publish the same way."""
    ours = (REPO / ".github" / "workflows" / "pages.yml").read_text("utf-8")
    assert (SCAFFOLD_DIR / "github" / "workflows" / "pages.yml").read_text("utf-8") == ours
    assert "pip install -r requirements.txt" in ours


def test_the_new_site_pins_the_installed_version(tmp_path):
    from site_builder import __version__

    assert main(["init", str(tmp_path / "s")]) == 0
    lines = [line for line in (tmp_path / "s" / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == [f"site-builder=={__version__}"] or lines[0].startswith("site-builder @ git+")


def test_the_package_ships_every_theme_and_scaffold_file():
    """A plain `pip install` (not editable) carries only what package-data names."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["site_builder"]
    package = REPO / "site_builder"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}  # as setuptools
    for folder in (THEME_DIR, SCAFFOLD_DIR):
        files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files
        for path in files:
            rel = path.relative_to(package).as_posix()
            assert not path.name.startswith("."), f"{rel}: setuptools drops dot files"
            assert path in shipped, rel
