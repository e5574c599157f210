"""Incremental builds equal clean builds, byte for byte, whatever changed in between."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks.corpus import generate, write_jsonl, write_topics
from site_builder import build as build_module
from site_builder import feeds as feeds_module
from site_builder import fingerprint
from site_builder import writer as writer_module
from site_builder.build import BuildOptions, build
from site_builder.cache import spare_folder, store_file
from site_builder.fingerprint import builder_key
from site_builder.importers import ImportOptions, import_sources
from site_builder.paths import site_path
from site_builder.render import CardRenderer
from tests.conftest import CONTENT, TEMPLATES
from tests.trees import tree_differences


@pytest.fixture(autouse=True)
def no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search is indexed by Pagefind, outside these builds' byte-for-byte comparisons."""
    monkeypatch.setenv("SITE_BUILDER_PAGEFIND", "off")


def build_twice(content: Path, templates: Path, work: Path, jobs: int = 1):
    """Incremental build into work/output, clean build into work/clean; return both reports."""
    incremental = build(BuildOptions(content, templates, work / "output", quiet=True, jobs=jobs))
    clean = build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True,
                               jobs=jobs))
    return incremental, clean


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path, Path]:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    build(BuildOptions(content, templates, tmp_path / "output", quiet=True))
    return content, templates, tmp_path


def new_paper(content: Path, day: str, paper_id: str, title: str, topics: str = "[]") -> None:
    folder = content / "days" / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{paper_id}.md").write_text(
        f"---\ntitle: {title}\nupvotes: 7\ntopics: {topics}\n---\n\n"
        "We study noisy labels with a new regularizer and $O(n)$ memory.\n", "utf-8")


def edit_adding_a_day(content: Path, templates: Path) -> None:
    new_paper(content, "2026-07-01", "brand-new-paper", "A Brand New Paper on Noisy Labels")
    new_paper(content, "2026-07-01", "second-new-paper", "Second New Paper")


def edit_a_paper(content: Path, templates: Path) -> None:
    path = content / "days" / "2026-04-21" / "data-filtering-networks.md"
    text = path.read_text("utf-8").replace("upvotes: 1", "upvotes: 99")
    path.write_text(text.replace("Large training sets", "Very large training sets"), "utf-8")


def delete_a_paper(content: Path, templates: Path) -> None:
    (content / "days" / "2026-04-21" / "data-filtering-networks.md").unlink()


def rename_a_topic(content: Path, templates: Path) -> None:
    topic = content / "topics" / "noisy-labels.md"
    topic.write_text(topic.read_text("utf-8").replace("title: Noisy labels",
                                                      "title: Learning with noisy labels"))
    topic.rename(content / "topics" / "label-noise.md")


def edit_a_template(content: Path, templates: Path) -> None:
    paper = templates / "paper.html"
    paper.write_text(paper.read_text("utf-8").replace("<h2 id=\"abstract-title\">Abstract</h2>",
                                                      "<h2 id=\"abstract-title\">Summary</h2>"))


def edit_the_card_template(content: Path, templates: Path) -> None:
    cards = templates / "_paper.html"
    cards.write_text(cards.read_text("utf-8").replace('<span class="listed">Listed ',
                                                      '<span class="listed">Listed on '))


def change_site_yaml(content: Path, templates: Path) -> None:
    config = content / "site.yaml"
    config.write_text(config.read_text("utf-8").replace("title: Daily Papers",
                                                        "title: Morning Papers"), "utf-8")


def add_an_editors_note(content: Path, templates: Path) -> None:
    (content / "days" / "2026-06-26" / "index.md").write_text("A **great** day.\n", "utf-8")


EDITS = [edit_adding_a_day, edit_a_paper, delete_a_paper, rename_a_topic, edit_a_template,
         edit_the_card_template, change_site_yaml, add_an_editors_note]


@pytest.mark.parametrize("edit", EDITS, ids=[e.__name__ for e in EDITS])
def test_incremental_build_equals_clean_build(edit, site) -> None:
    content, templates, work = site
    edit(content, templates)
    incremental, _clean = build_twice(content, templates, work)
    assert tree_differences(work / "output", work / "clean") == []
    if edit is not change_site_yaml:  # a new site title is on every page
        assert incremental.written < incremental.files  # unchanged files are not rewritten


def test_a_new_day_renders_only_the_pages_it_touches(site) -> None:
    content, templates, work = site
    edit_adding_a_day(content, templates)
    report = build(BuildOptions(content, templates, work / "output", quiet=True))
    assert 0 < report.rendered < report.pages / 2
    assert (work / "output" / "date" / "2026-07-01" / "index.html").is_file()


def cards_made_by_next_build(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The ids of the papers whose cards the next build renders (filled in as it runs; the
    builds that use it render few pages, so in this process)."""
    made: set[str] = set()
    render_card = CardRenderer.render_card

    def spying(self: CardRenderer, paper, args, kwargs):
        made.add(paper.id)
        return render_card(self, paper, args, kwargs)

    monkeypatch.setattr(CardRenderer, "render_card", spying)
    return made


def test_a_new_day_renders_only_its_own_cards(site, monkeypatch) -> None:
    """Cards are kept between builds: the listings a new day touches reuse the others."""
    content, templates, work = site
    edit_adding_a_day(content, templates)
    made = cards_made_by_next_build(monkeypatch)
    report = build(BuildOptions(content, templates, work / "output", quiet=True))
    assert report.rendered > 20  # topic, organisation, week, month pages list old papers too
    assert made == {"brand-new-paper", "second-new-paper"}


def test_a_changed_paper_gets_a_new_card_everywhere(site, monkeypatch) -> None:
    content, templates, work = site
    edit_a_paper(content, templates)
    made = cards_made_by_next_build(monkeypatch)
    build(BuildOptions(content, templates, work / "output", quiet=True))
    assert made == {"data-filtering-networks"}
    listing = (work / "output" / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    assert "Very large training sets" in listing


def test_a_foreign_store_is_ignored_with_a_warning(site, capsys) -> None:
    content, templates, work = site
    store = store_file(work / "output")
    store.unlink()
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE memo (something TEXT)")
    edit_adding_a_day(content, templates)
    report = build(BuildOptions(content, templates, work / "output"))
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and str(store) in err
    assert report.rendered == report.pages
    build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True))
    assert tree_differences(work / "output", work / "clean") == []


def test_a_store_of_an_older_builder_is_ignored_with_a_warning(site, monkeypatch, capsys):
    content, templates, work = site
    monkeypatch.setattr(build_module, "builder_key", lambda: "an older site-builder")
    edit_a_paper(content, templates)
    build(BuildOptions(content, templates, work / "output", quiet=True))
    monkeypatch.undo()
    add_an_editors_note(content, templates)
    report = build(BuildOptions(content, templates, work / "output"))
    err = capsys.readouterr().err
    assert "another version" in err and str(store_file(work / "output")) in err
    assert report.rendered == report.pages  # nothing of the older store was used
    assert build(BuildOptions(content, templates, work / "output", quiet=True)).unchanged
    build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True))
    assert tree_differences(work / "output", work / "clean") == []


def test_the_store_holds_data_only(site) -> None:
    """A store restored from a CI cache can run no code: it is SQLite holding JSON text."""
    _content, _templates, work = site
    with sqlite3.connect(store_file(work / "output")) as db:
        rows = db.execute("SELECT namespace, value FROM memo").fetchall()
    assert {"paper", "markup", "topics", "card", "file", "build"} <= {ns for ns, _v in rows}
    for _namespace, value in rows:
        json.loads(value)
    assert not list(store_file(work / "output").parent.glob("*.pickle"))


def test_a_cache_restored_elsewhere_is_used(site, tmp_path_factory) -> None:
    """Content, output and cache copied to another absolute path (a CI cache restored on
    another machine): the build there keeps what did not change, and equals a clean one."""
    content, templates, work = site
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "checkout"
    shutil.copytree(work, elsewhere, symlinks=True)
    edit_a_paper(elsewhere / "content", elsewhere / "templates")
    incremental, clean = build_twice(elsewhere / "content", elsewhere / "templates", elsewhere)
    assert tree_differences(elsewhere / "output", elsewhere / "clean") == []
    assert 0 < incremental.rendered < incremental.pages / 4
    assert incremental.written < incremental.files / 4


def test_a_template_edit_renders_only_the_pages_using_it(site) -> None:
    content, templates, work = site
    edit_a_template(content, templates)
    report = build(BuildOptions(content, templates, work / "output", quiet=True))
    assert report.rendered == 227  # the paper pages, nothing else


def include_extra(templates: Path, include: str) -> None:
    """A template ``_extra.html`` that paper.html includes after its abstract heading."""
    (templates / "_extra.html").write_text("<p class=\"extra\">first</p>\n", "utf-8")
    paper = templates / "paper.html"
    heading = "<h2 id=\"abstract-title\">Abstract</h2>"
    paper.write_text(paper.read_text("utf-8").replace(heading, heading + include), "utf-8")


def test_a_newly_included_template_is_followed_in_later_builds(site) -> None:
    """What a template includes is remembered between builds, and forgotten when it changes."""
    content, templates, work = site
    include_extra(templates, "{% include \"_extra.html\" %}")
    build(BuildOptions(content, templates, work / "output", quiet=True))
    (templates / "_extra.html").write_text("<p class=\"extra\">second</p>\n", "utf-8")
    report = build(BuildOptions(content, templates, work / "output", quiet=True))
    assert report.rendered == 227  # the paper pages, which now include it
    page = next((work / "output" / "papers").glob("*/index.html")).read_text("utf-8")
    assert '<p class="extra">second</p>' in page


def test_a_dynamic_include_is_followed(site) -> None:
    """A template included by a name held in a variable is known from the rendering."""
    content, templates, work = site
    include_extra(templates, "{% set extra = \"_ex\" ~ \"tra.html\" %}{% include extra %}")
    build(BuildOptions(content, templates, work / "output", quiet=True))
    (templates / "_extra.html").write_text("<p class=\"extra\">second</p>\n", "utf-8")
    incremental, _clean = build_twice(content, templates, work)
    assert incremental.rendered == 227  # the paper pages, which include it
    assert tree_differences(work / "output", work / "clean") == []
    page = next((work / "output" / "papers").glob("*/index.html")).read_text("utf-8")
    assert '<p class="extra">second</p>' in page


def test_a_new_template_global_reaches_every_page(site, monkeypatch) -> None:
    content, templates, work = site
    base = templates / "base.html"
    base.write_text(base.read_text("utf-8").replace(
        "</body>", "{{ motto|default('') }}</body>"), "utf-8")
    build(BuildOptions(content, templates, work / "output", quiet=True))
    make_environment = build_module.make_environment

    def with_motto(folder):
        env = make_environment(folder)
        env.globals["motto"] = "<p>Read one paper a day</p>"
        return env

    monkeypatch.setattr(build_module, "make_environment", with_motto)
    add_an_editors_note(content, templates)  # something to build (code changes empty the store)
    incremental, _clean = build_twice(content, templates, work)
    assert incremental.rendered == incremental.pages
    assert tree_differences(work / "output", work / "clean") == []
    assert "Read one paper a day" in (work / "output" / "index.html").read_text("utf-8")


def test_a_template_added_to_the_site_folder_replaces_the_theme_one(tmp_path) -> None:
    content, templates = tmp_path / "content", tmp_path / "templates"
    shutil.copytree(CONTENT, content)
    templates.mkdir()  # the site's own folder, empty: every template is the theme's
    build(BuildOptions(content, templates, tmp_path / "output", quiet=True))
    card = (TEMPLATES / "_paper.html").read_text("utf-8")
    (templates / "_paper.html").write_text(card.replace('<span class="listed">Listed ',
                                                        '<span class="listed">On '), "utf-8")
    incremental, _clean = build_twice(content, templates, tmp_path)
    assert 0 < incremental.rendered < incremental.pages
    assert tree_differences(tmp_path / "output", tmp_path / "clean") == []
    pages = (tmp_path / "output" / "topics").glob("*/index.html")
    assert any('<span class="listed">On ' in page.read_text("utf-8") for page in pages)


@pytest.mark.slow
def test_a_chain_of_builds_starts_from_the_spare_and_equals_clean_builds(site, monkeypatch):
    """Each build starts from the output before the last one (the spare) plus the last
    build's changes; whatever happened in between, it still equals a clean build."""
    content, templates, work = site
    out = work / "output"
    whole_site_linked = []
    link_tree = writer_module.link_tree

    def spying(source: Path, target: Path) -> bool:
        if source == out.resolve():
            whole_site_linked.append(target)
        return link_tree(source, target)

    monkeypatch.setattr(writer_module, "link_tree", spying)

    def edit_output_in_place(content: Path, templates: Path) -> None:
        with (out / "archive" / "index.html").open("a") as page:  # the spare shares its inode
            page.write("<!-- edited by hand -->")

    def replace_an_output_file(content: Path, templates: Path) -> None:
        home = out / "index.html"
        home.unlink()
        home.write_text("a new file where the home page was", "utf-8")

    def delete_the_spare(content: Path, templates: Path) -> None:
        shutil.rmtree(spare_folder(out))
        add_an_editors_note(content, templates)

    steps = [edit_adding_a_day, edit_a_paper, edit_output_in_place, replace_an_output_file,
             delete_a_paper, edit_the_card_template, delete_the_spare, rename_a_topic,
             change_site_yaml]
    for number, step in enumerate(steps):
        step(content, templates)
        build_twice(content, templates, work)
        assert tree_differences(out, work / "clean") == [], step.__name__
        assert spare_folder(out).is_dir()
        again = build(BuildOptions(content, templates, out, quiet=True))
        assert again.unchanged, step.__name__  # the build's record of its output is exact
        if number == 0 or step is delete_the_spare:  # no spare yet, or none left
            assert whole_site_linked == [writer_module.staging_folder(out.resolve())]
            whole_site_linked.clear()
        else:
            assert whole_site_linked == [], step.__name__


@pytest.mark.slow
def test_starting_from_the_spare_renders_what_linking_the_output_renders(tmp_path):
    """The spare plus the last build's changes is exactly the last output: the next build
    trusts as many files as when it links the whole output."""
    def third_build(root: Path, keep_spare: bool):
        shutil.copytree(CONTENT, root / "content")
        options = BuildOptions(root / "content", TEMPLATES, root / "output", quiet=True)
        build(options)
        new_paper(root / "content", "2026-07-01", "first-new-paper", "First New Paper")
        build(options)  # keeps the first output as the spare
        new_paper(root / "content", "2026-07-02", "second-new-paper", "Second New Paper")
        if not keep_spare:
            shutil.rmtree(spare_folder(root / "output"))
        return build(options)

    from_spare = third_build(tmp_path / "spare", keep_spare=True)
    linked = third_build(tmp_path / "linked", keep_spare=False)
    assert (from_spare.rendered, from_spare.written) == (linked.rendered, linked.written)
    assert from_spare.rendered < from_spare.pages / 2
    assert tree_differences(tmp_path / "spare" / "output", tmp_path / "linked" / "output") == []


def test_only_the_feeds_whose_items_changed_are_made_again(site, monkeypatch) -> None:
    content, templates, work = site
    made: list[str] = []
    for kind, writer in list(feeds_module.WRITERS.items()):
        monkeypatch.setitem(feeds_module.WRITERS, kind, lambda spec, site, path, writer=writer:
                            made.append(path) or writer(spec, site, path))
    new_paper(content, "2026-07-01", "a-new-paper", "A New Paper")
    build(BuildOptions(content, templates, work / "output", quiet=True))
    topics = sorted((work / "output" / "topics").glob("*/index.html"))
    listing = {page.parent.name for page in topics if "a-new-paper" in page.read_text("utf-8")}
    assert 0 < len(listing) < len(topics)
    assert set(made) == {"feed.xml", "atom.xml", "feed.json", "digest.xml", "digest.json",
                         *(f"topics/{slug}/{name}" for slug in listing
                           for name in ("feed.xml", "atom.xml"))}
    build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True))
    assert tree_differences(work / "output", work / "clean") == []


def test_after_a_new_search_index_nothing_changed_means_nothing_done(tmp_path, search_on):
    """Pagefind makes its folder afresh when a paper page changes; the build still knows
    every file of the output it made, so the next build has nothing to do."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    options = BuildOptions(content, TEMPLATES, tmp_path / "output", quiet=True)
    build(options)
    edit_adding_a_day(content, TEMPLATES)
    build(options)
    index = tmp_path / "output" / "pagefind"
    assert index.is_dir() and any(index.iterdir())
    assert build(options).unchanged


def test_a_search_index_switched_off_or_damaged_is_not_kept(tmp_path, monkeypatch, search_on):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    options = BuildOptions(content, TEMPLATES, tmp_path / "output", quiet=True)
    build(options)
    index = tmp_path / "output" / "pagefind"
    entry = index / "2026-04" / "pagefind-entry.json"
    entry.unlink()
    add_an_editors_note(content, TEMPLATES)  # something to build; no paper page changes
    build(options)
    assert entry.is_file()  # the damaged index was made again
    monkeypatch.setenv("SITE_BUILDER_PAGEFIND", "off")
    (content / "days" / "2026-06-26" / "index.md").write_text("Another note.\n", "utf-8")
    build(options)
    assert not index.exists()  # as a clean build without search
    build(BuildOptions(content, TEMPLATES, tmp_path / "clean", quiet=True, clean=True))
    assert tree_differences(tmp_path / "output", tmp_path / "clean") == []


def test_output_paths_use_slashes_whatever_the_system_separator() -> None:
    assert site_path("papers\\x\\index.html", "\\") == "papers/x/index.html"
    assert site_path("papers/x/index.html", "/") == "papers/x/index.html"


def test_another_version_of_an_output_library_empties_the_caches(monkeypatch) -> None:
    before = builder_key()
    version = fingerprint.metadata.version
    monkeypatch.setattr(fingerprint.metadata, "version", lambda name: "99.0" if name == "feedgen"
                        else version(name))
    assert builder_key() != before


@pytest.mark.parametrize("shown", ["{{ paper.abstract_html|striptags|truncate(40) }}",
                                   "{% if paper.abstract_html %}{{ paper.abstract_html|safe }}"
                                   "{% endif %}"])
def test_a_customised_card_abstract_is_shown_as_the_template_says(site, shown) -> None:
    """Cards are kept without their abstract only when the template prints it as it is."""
    content, templates, work = site
    cards = templates / "_paper.html"
    snippet = '{% if taste %}<p class="snippet">{{ taste }}</p>{% endif %}'  # the theme's card
    cards.write_text(cards.read_text("utf-8").replace(
        snippet, f'<div class="abstract clamp">{shown}</div>'))
    build(BuildOptions(content, templates, work / "output", quiet=True))
    build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True))
    assert tree_differences(work / "output", work / "clean") == []
    listing = (work / "output" / "date" / "2026-04-21" / "index.html").read_text("utf-8")
    abstracts = re.findall(r'<div class="abstract clamp">(.*?)</div>', listing, re.S)
    assert abstracts and "\ue002" not in listing
    if "truncate" in shown:
        assert all(len(text) <= 43 for text in abstracts)
    else:
        assert any(len(text) > 200 for text in abstracts)


def test_nothing_changed_means_nothing_written(site) -> None:
    content, templates, work = site
    before = {p: p.stat().st_mtime_ns for p in (work / "output").rglob("*") if p.is_file()}
    report = build(BuildOptions(content, templates, work / "output", quiet=True))
    assert report.unchanged
    after = {p: p.stat().st_mtime_ns for p in (work / "output").rglob("*") if p.is_file()}
    assert before == after


def test_a_corrupt_cache_is_discarded_with_a_warning(site, capsys) -> None:
    content, templates, work = site
    store_file(work / "output").write_bytes(b"\x80\x04 this is not a store" * 100)
    edit_adding_a_day(content, templates)
    report = build(BuildOptions(content, templates, work / "output"))
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and str(store_file(work / "output")) in err
    assert report.rendered == report.pages
    build(BuildOptions(content, templates, work / "clean", quiet=True, clean=True))
    assert tree_differences(work / "output", work / "clean") == []


def test_an_output_edited_by_hand_is_repaired(site) -> None:
    content, templates, work = site
    page = work / "output" / "archive" / "index.html"
    page.unlink()
    build(BuildOptions(content, templates, work / "output", quiet=True))
    assert page.is_file()


def test_rebuilding_never_writes_through_to_the_previous_output(site) -> None:
    """The staging folder shares files with the old output by hard links; a rebuild must
    replace files, never write into them, or the old output would change before the swap."""
    content, templates, work = site
    out = work / "output"
    snapshot = work / "snapshot"
    shutil.copy(out / "index.html", snapshot)
    linked = work / "linked-home.html"
    os.link(out / "index.html", linked)
    edit_adding_a_day(content, templates)
    build(BuildOptions(content, templates, out, quiet=True))
    assert linked.read_bytes() == snapshot.read_bytes()  # the old inode is untouched
    assert (out / "index.html").read_bytes() != snapshot.read_bytes()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated content folder big enough for parsing and rendering in workers."""
    root = tmp_path_factory.mktemp("synthetic")
    content = root / "content"
    write_topics(content)
    write_jsonl(generate(2_100), root / "corpus.jsonl")
    import_sources([str(root / "corpus.jsonl")],
                   ImportOptions(content_dir=content, format="jsonl"))
    return content


@pytest.mark.slow
def test_one_and_two_workers_build_identical_sites(synthetic: Path, tmp_path: Path) -> None:
    one = build(BuildOptions(synthetic, TEMPLATES, tmp_path / "one", quiet=True, jobs=1,
                             clean=True))
    two = build(BuildOptions(synthetic, TEMPLATES, tmp_path / "two", quiet=True, jobs=2,
                             clean=True))
    assert one.pages == two.pages > 2_100
    assert tree_differences(tmp_path / "one", tmp_path / "two") == []
