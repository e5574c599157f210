"""The content loader: typed records from content/, every problem as file:line, safe paths,
Unicode kept as written; plus the writer's path guards and deterministic ASCII slugs."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder import urls
from site_builder.build import BuildOptions, build
from site_builder.content import load_content
from site_builder.errors import ContentError, display_path
from site_builder.fields import is_safe_id
from site_builder.frontmatter import InputError, read_front_matter
from site_builder.paths import DuplicateOutputError, UnsafePathError, check_relative_path
from site_builder.slugs import slugify
from site_builder.writer import SiteWriter
from tests.conftest import TEMPLATES
from tests.test_security import PAYLOADS, plain_text, scan_html
from tests.trees import write_files as write

DAY = "days/2026-04-21"


def problems_of(content: Path) -> list[str]:
    with pytest.raises(ContentError) as info:
        load_content(content)
    return [str(p) for p in info.value.problems]


def test_a_full_paper_is_read_with_every_field(tmp_path):
    content = write(tmp_path, {
        "topics/ml.md": "---\ntitle: ML\nkeywords: [deep learning]\n---\nAbout *ML*.\n",
        f"{DAY}/2404.01230.md": (
            '---\nid: "2404.01230"\ntitle: "A: paper"\nauthors: [Ada, Alan]\n'
            "organization: {name: acme, fullname: Acme Labs}\npublished: 2024-04-01\n"
            "upvotes: 12\ntopics: [ml]\narxiv: https://arxiv.org/abs/2404.01230\n"
            "github_stars: 3\nai_keywords: [a, b]\nwithdrawn: '2024-05-01'\n---\n"
            "The abstract.\n"),
        f"{DAY}/index.md": "---\ntitle: Note\n---\nA *note*.\n",
    })
    loaded = load_content(content)
    (paper,) = loaded.papers
    assert paper.id == "2404.01230" and paper.title == "A: paper"
    assert paper.authors == ("Ada", "Alan") and paper.author_count == 2
    assert paper.organization.label == "Acme Labs"
    assert paper.published == dt.date(2024, 4, 1) and paper.withdrawn == dt.date(2024, 5, 1)
    assert paper.day == dt.date(2026, 4, 21) and paper.upvotes == 12
    assert paper.abstract == "The abstract."
    assert loaded.topics["ml"].keywords == ("deep learning",)
    assert loaded.notes[dt.date(2026, 4, 21)].title == "Note"


def test_all_problems_are_collected_sorted_with_lines(tmp_path):
    content = write(tmp_path, {
        f"{DAY}/b.md": "---\ntitle: B\nupvotes: -3\npublished: yesterday\n---\n",
        f"{DAY}/a.md": "---\ntitle: A\ntopics: [nope]\n---\n",
    })
    problems = problems_of(content)
    assert [re.search(r"[ab]\.md:\d+:", p).group(0) for p in problems] == [
        "a.md:3:", "b.md:3:", "b.md:4:"]


@pytest.mark.parametrize("text, line, message", [
    ("---\ntitle: A\nid: 2404.1\n---\n", 3, 'write it in quotes: id: "p"'),
    ("---\ntitle: A\norganization: {name: a, url: x}\n---\n", 3,
     "unknown field 'organization.url'"),
    ("---\ntitle: A\norganization: [a]\n---\n", 3, "must have a 'name'"),
    ("---\ntitle: A\nauthors: {a: 1}\n---\n", 3, "'authors' must be a list of texts"),
    ("---\ntitle: A\ntopics: [Not A Slug]\n---\n", 3, "is not a slug"),
    ("---\ntitle: A\nupvotes: 1.5\n---\n", 3, "'upvotes' must be a whole number"),
    ("---\ntitle: A\nupvotes: true\n---\n", 3, "'upvotes' must be a whole number"),
    ("---\ntitle: A\npublished: !!set {a, b}\n---\n", 3, "'published' must be a date"),
    ("---\n- a\n- b\n---\n", 2, "must be a mapping"),
    ("---\ntitle: A\n? [a, b]\n: c\n---\n", 3, "invalid YAML"),
    ("---\ntitle: A\nx: *undefined\n---\n", 3, "invalid YAML"),
    ("---\ntitle: 'A\n---\n", 3, "invalid YAML"),
    ("---\ntitle: A\ncomment: \"bad \\q escape\"\n---\n", 3, "escape"),
    ("---\ntitle: @home\n---\n", 2, "in quotes"),
])
def test_field_and_yaml_problems_name_the_line(tmp_path, text, line, message):
    content = write(tmp_path, {f"{DAY}/p.md": text})
    problems = problems_of(content)
    assert any(f"p.md:{line}: " in p and message in p for p in problems), problems


def test_page_breaks_from_pdf_copy_paste_are_newlines(tmp_path):
    content = write(tmp_path, {f"{DAY}/p.md": "---\ntitle: A\n---\nOne.\fTwo.\vThree.\r\nFour.\r"})
    assert load_content(content).papers[0].abstract == "One.\nTwo.\nThree.\nFour."


def test_a_byte_order_mark_is_ignored(tmp_path):
    content = write(tmp_path, {f"{DAY}/p.md": "\ufeff---\ntitle: A\n---\nx\n"})
    assert load_content(content).papers[0].title == "A"


def test_an_editors_note_may_be_plain_markdown(tmp_path):
    content = write(tmp_path, {f"{DAY}/p.md": "---\ntitle: A\n---\n",
                               f"{DAY}/index.md": "Just *text*,\n\n---\n\nwith a rule.\n"})
    note = load_content(content).notes[dt.date(2026, 4, 21)]
    assert note.title == "" and "with a rule." in note.body


def test_python_tags_are_never_executed(tmp_path):
    sentinel = tmp_path / "PWNED"
    tags = ("!!python/object/apply:os.system", "!!python/object/new:os.system",
            "!!python/name:os.system", "!!python/module:os")
    for number, tag in enumerate(tags):
        write(tmp_path, {f"{DAY}/p{number}.md":
                         f"---\ntitle: {tag} ['touch {sentinel}']\n---\n"})
    problems = problems_of(tmp_path)
    assert len(problems) == 4 and all("is not allowed" in p for p in problems)
    assert not sentinel.exists()


# -- paths --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "..", "../x", "a/b", "/etc", "a\\b", "a\x00b", ".hidden", "con", "NUL", "aux.txt", "com1",
    "lpt9.md", "index", "feed", "", "a..b", "trailing.", "space here", "-leading", "x" * 129,
    "é", "a:b",
])
def test_unsafe_ids_are_refused(value):
    assert not is_safe_id(value)


@pytest.mark.parametrize("value", ["2404.01230", "a-b_c.d", "A1", "hep-th_9901001", "x" * 128])
def test_safe_ids_are_accepted(value):
    assert is_safe_id(value)


@pytest.mark.parametrize("name", ["con.md", "-dash.md", "a..b.md", "trailing..md", "é.md",
                                  "x y.md", "index.MD"])
def test_unusable_file_names_are_reported_with_file_and_line(tmp_path, name):
    content = write(tmp_path, {f"{DAY}/{name}": "---\ntitle: A\n---\n"})
    problems = problems_of(content)
    assert any(name in p for p in problems), problems


def test_a_nul_byte_in_a_file_name_cannot_happen_but_a_newline_is_printed_escaped(tmp_path):
    path = tmp_path / DAY / "bad\nname.md"
    write(tmp_path, {f"{DAY}/bad\nname.md": "---\ntitle: A\n---\n"})
    assert "\n" not in display_path(path)
    problems = problems_of(tmp_path)
    assert all("\n" not in p for p in problems)


@pytest.mark.parametrize("site_path", [
    "../x", "a/../../x", "/etc/passwd", "a\\..\\b", "a\x00b", "", ".", "a//b", "./a", ".git/x",
    "con/index.html", "papers/nul.txt/index.html", "a:b", "a\nb",
])
def test_the_writer_refuses_unsafe_paths(site_path):
    with pytest.raises(UnsafePathError):
        check_relative_path(site_path)


@pytest.mark.parametrize("site_path", [".nojekyll", "papers/2404.01230/index.html",
                                       "orgs/%3Cb%3E/index.html", "static/style.css"])
def test_the_writer_accepts_plain_paths(site_path):
    check_relative_path(site_path)


def test_the_writer_refuses_unsafe_paths_in_write(tmp_path):
    writer = SiteWriter(tmp_path / "output")
    try:
        for bad in ("../escape.html", "/abs.html", "a/../../b.html"):
            with pytest.raises(UnsafePathError):
                writer.write(bad, "x")
        assert not (tmp_path / "escape.html").exists()
    finally:
        writer.abort()


def test_two_outputs_claiming_one_path_name_both_sources(tmp_path):
    writer = SiteWriter(tmp_path / "output")
    try:
        writer.write("papers/a/index.html", "one", "days/2026-04-21/a.md")
        with pytest.raises(DuplicateOutputError) as info:
            writer.write("papers/a/index.html", "two", "days/2026-04-22/a.md")
        assert "days/2026-04-21/a.md" in str(info.value)
        assert "days/2026-04-22/a.md" in str(info.value)
        with pytest.raises(DuplicateOutputError) as info:  # one file on a case-folding disk
            writer.write("papers/A/index.html", "three", "days/2026-04-23/A.md")
        assert "days/2026-04-21/a.md" in str(info.value) and "A.md" in str(info.value)
        writer.write("feed", "a file", "feeds")
        with pytest.raises(DuplicateOutputError):  # a file where a folder is needed
            writer.write("feed/index.html", "x", "pages")
        with pytest.raises(DuplicateOutputError):  # a folder where a file is
            writer.write("papers/a", "x", "other")
    finally:
        writer.abort()


def test_a_page_renamed_in_case_only_is_not_removed_as_stale(tmp_path):
    """On a case-folding disk (macOS) the old and the new spelling are one file: it is the
    new page, not a stale one. A folder link stands in for such a disk here."""
    writer = SiteWriter(tmp_path / "output")
    try:
        staging = writer.staging
        old = staging / "papers" / "GPT4o" / "index.html"
        old.parent.mkdir(parents=True)
        old.write_text("the page")
        (staging / "papers" / "gpt4o").symlink_to("GPT4o")  # both spellings, one folder
        new = staging / "papers" / "gpt4o" / "index.html"
        writer.claim("papers/gpt4o/index.html", "the renamed paper")
        writer.remove_stale({"papers/GPT4o/index.html"})
        assert new.read_text() == "the page"
        (staging / "papers" / "Other").mkdir()
        (staging / "papers" / "Other" / "index.html").write_text("stale")
        writer.claim("papers/other/index.html", "another paper")
        writer.remove_stale({"papers/Other/index.html"})  # another file on this disk: removed
        assert not (staging / "papers" / "Other").exists()
    finally:
        writer.abort()


def test_a_static_symlink_out_of_the_templates_is_refused(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (static / "leak.txt").symlink_to(tmp_path / "secret.txt")
    writer = SiteWriter(tmp_path / "output")
    try:
        with pytest.raises(UnsafePathError):
            writer.copy_tree([static], "static/")
    finally:
        writer.abort()


# -- slugs --------------------------------------------------------------------------------

@pytest.mark.parametrize("title, slug", [
    ("Attention Is All You Need", "attention-is-all-you-need"),
    ("Глубокое обучение", "glubokoe-obuchenie"),
    ("深度学习的理论", "shendu-xuexi-de-lilun"),
    ("Ελληνικά μοντέλα", "ellinika-montela"),
    ("نماذج اللغة", "nmdhj-llg"),
    ("Café Déjà Vu", "cafe-deja-vu"),
    ("🚀 Rocket LLM 🚀", "rocket-rocket-llm-rocket"),
    ("../../etc/passwd", "etc-passwd"),
    ("", "paper"),
    ("!!!", "paper"),
])
def test_slugs_are_deterministic_ascii(title, slug):
    got = slugify(title)
    if title in ("نماذج اللغة", "深度学习的理论"):  # transliteration tables may differ slightly
        assert got and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", got)
    else:
        assert got == slug
    assert slugify(title) == got


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=200))
def test_every_slug_is_a_safe_ascii_id(title):
    slug = slugify(title)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
    assert len(slug) <= 80
    assert slugify(title) == slug


# -- Unicode ------------------------------------------------------------------------------

UNICODE_TITLES = [
    "Transformers für Übersetzung — eine Studie",
    "نماذج اللغة الكبيرة والتعلم العميق",  # Arabic, right to left
    "מודלי שפה גדולים",  # Hebrew
    "大规模语言模型的推理能力",
    "日本語の自己教師あり学習",
    "한국어 언어 모델",
    "Σύγκλιση της μάθησης",
    "Нейронные сети и 🚀 ракеты 🧠",
    "Combining: e\u0301 n\u0303 a\u030a and Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356",
    "Family 👩\u200d👩\u200d👧\u200d👦 and flags 🇫🇷🇯🇵 and skin 👍🏽",
    "Odd\u00a0spaces\u2003and\u2009thin\u202fones",
    "हिन्दी भाषा मॉडल",
    "ภาษาไทย",
    "Math 𝔽𝕠𝕟𝕥𝕤 and ∀x∈ℝ: x² ≥ 0",
]


@pytest.fixture(scope="module")
def unicode_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("unicode")
    content = root / "content"
    files = {"topics/world.md": f"---\ntitle: {json.dumps(UNICODE_TITLES[1])}\n---\n"
                                f"{UNICODE_TITLES[2]}\n"}
    for number, title in enumerate(UNICODE_TITLES):
        authors = [UNICODE_TITLES[(number + 1) % len(UNICODE_TITLES)][:20], "Zoë Ægir-Øst"]
        files[f"{DAY}/u{number}.md"] = (
            f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
            f"authors: {json.dumps(authors, ensure_ascii=False)}\n"
            f"organization: {{name: org{number}, "
            f"fullname: {json.dumps(title[:12], ensure_ascii=False)}}}\n"
            f"topics: [world]\n---\n{title}\n\n{title[::-1]}\n")
    write(content, files)
    out = root / "output"
    build(BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=out, quiet=True,
                       jobs=1))
    return content, out


def test_unicode_survives_loading_unchanged(unicode_site):
    content, _out = unicode_site
    loaded = {p.id: p for p in load_content(content).papers}
    for number, title in enumerate(UNICODE_TITLES):
        assert loaded[f"u{number}"].title == title
        assert loaded[f"u{number}"].abstract.startswith(title)


def test_unicode_survives_into_pages(unicode_site):
    _content, out = unicode_site
    for number, title in enumerate(UNICODE_TITLES):
        page = (out / "papers" / f"u{number}" / "index.html").read_text("utf-8")
        heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
        assert plain_text(heading) == " ".join(title.split())
        assert title in plain_text(page).replace("  ", " ") or " ".join(title.split()) in \
            plain_text(page)
        assert "Zoë Ægir-Øst" in page
        ld = [body for attrs, body in scan_html(page).scripts
              if attrs.get("type") == "application/ld+json"]
        if ld:
            assert json.loads(ld[0])["headline"] == title


def test_unicode_survives_into_feeds(unicode_site):
    _content, out = unicode_site
    import xml.etree.ElementTree as ET

    titles = {item.findtext("title") for item in ET.parse(out / "feed.xml").iter("item")}
    assert set(UNICODE_TITLES) <= titles


# -- the front-matter loader under fire ---------------------------------------------------

yaml_bits = st.sampled_from([
    "title: ", "upvotes: ", "authors:", "\n- ", "\n", ": ", "- ", "[", "]", "{", "}", "'", '"',
    "&a ", "*a", "!!python/object:os.system", "!!binary ", "!!set ", "!!timestamp ", "?", "|",
    ">", "#", "---", "...", "%YAML 1.1", "\t", "  ", "2026-02-31", "2026-04-21", "1e999",
    "0x1F", ".inf", "~", "null", "yes", "<<: ", "\\u0000", "\\x07", "\u2028", "\u0085", "é",
])
front_matter_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(yaml_bits, st.text(string.printable, max_size=6)), max_size=40)
    .map(lambda parts: "---\n" + "".join(parts) + "\n---\nbody\n"),
    st.binary(max_size=200).map(lambda data: b"---\ntitle: " + data + b"\n---\n"),
)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=front_matter_text)
def test_front_matter_loader_succeeds_or_fails_cleanly(tmp_path, text):
    path = tmp_path / "p.md"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        doc = read_front_matter(path)
    except InputError as exc:
        assert exc.problem.path.endswith("p.md")
        assert "\n" not in str(exc.problem)
        return
    assert isinstance(doc.meta, dict)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=front_matter_text)
def test_content_loader_succeeds_or_raises_content_error(tmp_path_factory, text):
    content = tmp_path_factory.mktemp("fuzz")
    path = content / DAY / "p.md"
    path.parent.mkdir(parents=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8", errors="surrogatepass")
    try:
        loaded = load_content(content)
    except ContentError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.path.endswith("p.md") and "\n" not in str(problem)
        return
    for paper in loaded.papers:
        assert paper.title.strip()
        for value in (paper.title, paper.abstract, *paper.authors):
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value)


# -- importers write what the loader reads ----------------------------------------------

def import_and_load(tmp_path: Path, title: str, abstract: str, author: str, org: str):
    """Import one paper with ``site-builder import`` (a JSON Lines source), then load it."""
    from site_builder.importers import import_sources
    from site_builder.importers.record import ImportOptions

    record = {"title": title, "abstract": abstract, "listed": "2026-04-21"}
    if author.strip():
        record["authors"] = [author]
    if org.strip():
        record["organization"] = {"name": org, "fullname": org}
    source = tmp_path / "source.jsonl"
    source.write_text(json.dumps(record) + "\n", "utf-8")
    import_sources([str(source)], ImportOptions(content_dir=tmp_path / "content",
                                                format="jsonl"))
    return load_content(tmp_path / "content")


def path_clean(name: str) -> str:
    return name.replace("/", "").replace("\\", "").replace(":", "").lstrip(".")


def not_reserved(org: str) -> bool:
    """Not a name some systems reserve (``LPT0``): those are refused, as test_hostile_imports
    checks, so nothing is written to load back."""
    try:
        check_relative_path(urls.output_file(urls.org(org.strip())))
    except UnsafePathError:
        return False
    return True


any_text = st.one_of(st.text(max_size=60), st.sampled_from(PAYLOADS))
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(title=any_text.filter(lambda t: CONTROLS.sub("", t).strip()), abstract=any_text,
       author=any_text, org=any_text.map(path_clean).filter(not_reserved))
def test_imported_papers_load_back_unchanged(tmp_path_factory, title, abstract, author, org):
    """Whatever a source holds, what the importer writes loads (control characters dropped)."""
    loaded = import_and_load(tmp_path_factory.mktemp("import"), title, abstract, author, org)
    (paper,) = loaded.papers
    assert paper.title == " ".join(CONTROLS.sub("", title).split())


def test_imported_control_characters_do_not_break_the_build(tmp_path):
    loaded = import_and_load(tmp_path, "Title with an escape \x1b[31m and a bell \x07",
                             "An abstract\x0c with a page break.", "Ada\x00", "acme\x1f")
    (paper,) = loaded.papers
    assert paper.title == "Title with an escape [31m and a bell"
    assert paper.authors == ("Ada",) and paper.organization.name == "acme"


@pytest.mark.parametrize("org", ["Meta AI", "Meta AI/FAIR", ".."])
def test_any_organisation_name_gets_a_working_page(tmp_path, org):
    loaded = import_and_load(tmp_path, "A paper", "x", "", org)
    out = tmp_path / "output"
    build(BuildOptions(content_dir=tmp_path / "content", templates_dir=TEMPLATES, out_dir=out,
                       quiet=True, jobs=1))
    assert loaded.papers[0].organization.name == org
    page = out / "papers" / loaded.papers[0].id / "index.html"
    links = [href for _tag, href in _links(page.read_text("utf-8")) if "orgs/" in href]
    assert links
    for href in links:  # a web server decodes the path before it looks for the file
        target = (page.parent / unquote(href)).resolve() / "index.html"
        assert target.is_file() and out.resolve() in target.parents, href


def _links(html: str) -> list[tuple[str, str]]:
    found = []
    for match in re.finditer(r'<(a)\s[^>]*href="([^"]*)"', html):
        found.append((match.group(1), match.group(2)))
    return found
