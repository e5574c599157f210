"""Discovery on a built site: trending, withdrawn papers, GitHub stars, organisations,
saved searches (pages and feeds) and related papers on paper pages."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest
import yaml

from site_builder.build import BuildOptions, build, load_site
from site_builder.errors import ContentError
from site_builder.model import Site

from .htmlcheck import broken_links, page_site_path, resolve_link, scan_html

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "site_builder" / "theme"
BASE = "https://example.org/digest/"

SITE_YAML = {
    "title": "Test Digest",
    "base_url": BASE,
    "page_size": 30,
    "home_top_size": 10,
    "topic_feed_size": 30,
    "saved_searches": [
        {"slug": "diffusion", "title": "Diffusion", "any": ["diffusion model", "Score Matching"]},
        {"slug": "acme-popular", "title": "Popular from Acme", "organizations": ["ACME"],
         "min_upvotes": 20},
        {"slug": "vision", "title": "Vision", "topics": ["vision"]},
        {"slug": "vision-or-theory-by-globex", "title": "Globex vision or theory",
         "topics": ["vision", "theory"], "organizations": ["Globex Corp"]},
        {"slug": "popular", "title": "Popular", "min_upvotes": 50},
    ],
}
TOPICS = {
    "vision": {"title": "Vision", "keywords": ["image", "vision transformer"]},
    "theory": {"title": "Theory", "keywords": ["generalization bound"]},
}
# listing days: three in week 13 (March), then seven more (the "last 7 listing days")
DAYS = [dt.date(2026, 3, 25), dt.date(2026, 3, 26), dt.date(2026, 3, 27),
        dt.date(2026, 3, 30), dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2026, 4, 2),
        dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 4, 7)]
ACME = {"name": "acme", "fullname": "Acme Research"}
GLOBEX = {"name": "globex", "fullname": "Globex Corp"}


@dataclass
class Spec:
    """One paper of the synthetic content."""

    id: str
    day: dt.date
    title: str
    upvotes: int
    abstract: str = "A paper."
    organization: dict | str | None = None
    topics: list[str] = field(default_factory=list)
    withdrawn: dt.date | None = None
    code: str = ""
    github_stars: int | None = None


PAPERS = [
    Spec("2603.00001", DAYS[0], "An old giant of score matching", 500, organization=ACME,
         abstract="Denoising score matching at scale."),
    Spec("2603.00002", DAYS[0], "Old and quiet", 1, topics=["theory"]),
    Spec("2603.00003", DAYS[1], "Image tokens for everyone", 40, organization=GLOBEX,
         abstract="We tokenise every image."),
    Spec("2603.00004", DAYS[2], "A generalization bound for transformers", 12,
         organization=GLOBEX),
    Spec("2603.00005", DAYS[3], "Latent diffusion model for audio", 30, organization=ACME,
         abstract="A latent diffusion model.", code="https://github.com/acme/audio",
         github_stars=1234),
    Spec("2603.00006", DAYS[3], "Diffusion models are everywhere", 29,
         abstract="Plural forms are other words."),
    Spec("2603.00007", DAYS[4], "Retracted miracle", 999, organization=ACME,
         withdrawn=dt.date(2026, 4, 5), abstract="A diffusion model that was wrong."),
    Spec("2603.00008", DAYS[4], "Alpha tie", 25, organization=ACME),
    Spec("2603.00009", DAYS[4], "Beta tie", 25),
    Spec("2604.00001", DAYS[5], "Vision transformer tricks", 60, topics=["vision"],
         organization={"name": "paris-saclay", "fullname": "Université Paris-Saclay"}),
    Spec("2604.00002", DAYS[6], "Small upvotes", 2, organization=ACME),
    Spec("2604.00003", DAYS[7], "Score Matching, revisited", 21, organization=ACME,
         abstract="We revisit score-matching."),
    Spec("2604.00004", DAYS[8], "Reading images with language", 75, organization=GLOBEX,
         code="https://github.com/globex/read"),
    Spec("2604.00005", DAYS[9], "Newest and modest", 5),
    Spec("2604.00006", DAYS[9], "Newest and loved", 80, topics=["theory"], organization=GLOBEX),
]


def write_content(root: Path, papers: list[Spec] = PAPERS, site_yaml: dict | None = None) -> Path:
    """A content folder in the documented format (site.yaml, topics/, days/)."""
    root.mkdir(parents=True)
    (root / "site.yaml").write_text(yaml.safe_dump(site_yaml or SITE_YAML, sort_keys=False))
    (root / "topics").mkdir()
    for slug, topic in TOPICS.items():
        front = yaml.safe_dump(topic, sort_keys=False)
        (root / "topics" / f"{slug}.md").write_text(f"---\n{front}---\n\nAbout {slug}.\n")
    for spec in papers:
        meta = {"title": spec.title, "upvotes": spec.upvotes, "authors": ["Ada Lovelace"]}
        for key in ("organization", "withdrawn", "code", "github_stars"):
            if getattr(spec, key):
                meta[key] = getattr(spec, key)
        if spec.topics:
            meta["topics"] = spec.topics
        folder = root / "days" / spec.day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        (folder / f"{spec.id}.md").write_text(f"---\n{front}---\n\n{spec.abstract}\n", "utf-8")
    return root


def build_site_into(content: Path, out: Path) -> Path:
    build(BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=out, quiet=True,
                       jobs=1))
    return out


@pytest.fixture(scope="module")
def content(tmp_path_factory) -> Path:
    return write_content(tmp_path_factory.mktemp("discovery") / "content")


@pytest.fixture(scope="module")
def out(content: Path) -> Path:
    return build_site_into(content, content.parent / "output")


@pytest.fixture(scope="module")
def site(content: Path) -> Site:
    return load_site(content)[2]


def html(out: Path, site_path: str) -> str:
    return (out / site_path / "index.html").read_text("utf-8")


def card_ids(page: str) -> list[str]:
    """Paper ids of the cards of a page, in order."""
    return re.findall(r'<article class="card[^"]*" id="paper-([^"]+)"', page)


def section(page: str, heading_id: str) -> str:
    """The HTML of the <section> (or <aside>) whose heading has this id."""
    start = page.index(f'id="{heading_id}"')
    start = max(page.rfind("<section", 0, start), page.rfind("<aside", 0, start))
    end = page.index("</section>", start)
    return page[start:end]


def linked_papers(fragment: str) -> list[str]:
    return re.findall(r'href="(?:\.\./)*papers/([^"/]+)/"', fragment)


def by_upvotes(specs: list[Spec]) -> list[str]:
    return [s.id for s in sorted(specs, key=lambda s: (-s.upvotes, s.title.casefold(), s.id))]


# --- trending --------------------------------------------------------------------------------


def expected_trending(days: int) -> list[str]:
    """Papers of the N calendar days up to the latest day: upvotes, stars, code, title."""
    since = DAYS[-1] - dt.timedelta(days=days - 1)
    recent = [s for s in PAPERS if s.day >= since and not s.withdrawn]
    return [s.id for s in sorted(recent, key=lambda s: (
        -s.upvotes, -(s.github_stars or 0), not s.code, s.title.casefold(), s.id))]


def test_trending_is_the_past_calendar_days_by_upvotes_without_withdrawn(site):
    assert [p.id for p in site.trending(7)] == expected_trending(7)
    assert [p.id for p in site.trending(30)] == expected_trending(30)
    # 7 days up to Tue 7 Apr reach back to Wed 1 Apr, not to March
    assert {s.day for s in PAPERS if s.id in expected_trending(7)} <= set(DAYS[-5:])
    assert "2603.00005" not in expected_trending(7)
    assert expected_trending(7)[:2] == ["2604.00006", "2604.00004"]
    assert "2603.00001" in expected_trending(30)


def test_home_shows_the_top_of_the_past_seven_days(out):
    top = section(html(out, ""), "top-week-title")
    assert linked_papers(top) == expected_trending(7)[:10]
    assert "2603.00007" not in linked_papers(top)


def test_trending_page_lists_two_windows_that_never_repeat_a_paper(out):
    page = html(out, "trending")
    week = card_ids(section(page, "t-7"))
    assert week == expected_trending(7)[:10]
    earlier = [p for p in expected_trending(30) if p not in week][:10]
    assert card_ids(section(page, "t-30")) == earlier
    assert card_ids(section(page, "t-30"))[0] == "2603.00001"
    assert not set(week) & set(earlier)
    assert "paper-2603.00007" not in page
    assert "listing days" not in page
    assert '<ol class="cards ranked">' in section(page, "t-7")  # numbered 1, 2, ... by CSS


def test_week_and_month_pages_rank_by_upvotes(out):
    week = [s for s in PAPERS if dt.date(2026, 3, 30) <= s.day <= dt.date(2026, 4, 5)]
    assert card_ids(html(out, "week/2026-W14")) == by_upvotes(week)
    april = [s for s in PAPERS if s.day.month == 4]
    assert card_ids(section(html(out, "month/2026-04"), "top-title")) == by_upvotes(april)
    march = [s for s in PAPERS if s.day.month == 3]
    assert card_ids(section(html(out, "month/2026-03"), "top-title")) == by_upvotes(march)


def test_days_list_papers_by_upvotes_then_title(out):
    day = [s for s in PAPERS if s.day == DAYS[4]]
    assert card_ids(html(out, "date/2026-03-31")) == by_upvotes(day)


# --- withdrawn papers and GitHub stars -------------------------------------------------------


def cards_of(page: str, paper_id: str) -> list[str]:
    pattern = rf'<article class="card[^"]*" id="paper-{re.escape(paper_id)}"[^>]*>.*?</article>'
    return re.findall(pattern, page, re.S)


def test_withdrawn_paper_is_marked_on_every_card_and_its_page(out):
    seen = []
    for file in out.rglob("*.html"):
        for card in cards_of(file.read_text("utf-8"), "2603.00007"):
            seen.append(page_site_path(out, file))
            assert 'class="card is-withdrawn"' in card
            assert '<span class="badge withdrawn">Withdrawn</span>' in card
    assert {"date/2026-03-31/", "week/2026-W14/", "month/2026-03/", "orgs/acme/",
            "feeds/diffusion/"} <= set(seen)
    page = html(out, "papers/2603.00007")
    assert "Withdrawn on" in page and 'class="paper is-withdrawn"' in page


def test_withdrawn_paper_is_marked_in_related_lists(out):
    marked = 0
    for file in (out / "papers").rglob("index.html"):
        page = file.read_text("utf-8")
        if 'id="related-title"' not in page:
            continue
        for item in re.findall(r"<li[^>]*>.*?</li>", section(page, "related-title"), re.S):
            if "papers/2603.00007/" in item:
                assert 'class="is-withdrawn"' in item and "badge withdrawn" in item
                marked += 1
    assert marked >= 1


def test_cards_show_github_stars_when_known(out):
    (card,) = cards_of(html(out, "date/2026-03-30"), "2603.00005")
    assert re.search(r'<a class="code" href="https://github.com/acme/audio"[^>]*>Code '
                     r'<span class="stars">★ 1,234</span></a>', card)
    (card,) = cards_of(html(out, "date/2026-04-06"), "2604.00004")
    assert "https://github.com/globex/read" in card and "stars" not in card
    assert "GitHub stars</dt><dd>1,234</dd>" in html(out, "papers/2603.00005")


# --- organisations ---------------------------------------------------------------------------


def org_expected() -> dict[str, list[Spec]]:
    groups: dict[str, list[Spec]] = {}
    for spec in PAPERS:
        if spec.organization:
            name = spec.organization if isinstance(spec.organization, str) else \
                spec.organization["name"]
            groups.setdefault(name, []).append(spec)
    return groups


def newest_first(specs: list[Spec]) -> list[str]:
    return [s.id for s in sorted(specs, key=lambda s: (-s.day.toordinal(), -s.upvotes,
                                                        s.title.casefold(), s.id))]


def org_label(spec: Spec) -> str:
    org = spec.organization
    return org if isinstance(org, str) else (org["fullname"] or org["name"])


def test_orgs_index_lists_every_organisation_with_its_count(out):
    page = html(out, "orgs")
    counts: dict[str, int] = {}
    for spec in PAPERS:
        if spec.organization:
            counts[org_label(spec)] = counts.get(org_label(spec), 0) + 1
    assert counts == {"Acme Research": 6, "Globex Corp": 4, "Université Paris-Saclay": 1}
    found = re.findall(r'<h2><a href="([^"]+)">([^<]+)</a></h2><p class="muted">(\d+) papers?</p>',
                       page)
    assert {label: int(n) for _, label, n in found} == counts
    for href, label, _ in found:
        target, _ = resolve_link(out, "/digest/", "orgs/", href)
        assert target.is_file(), href
        assert f"<h1>{label}</h1>" in target.read_text("utf-8")


@pytest.mark.parametrize("name", ["acme", "globex"])
def test_org_page_lists_its_papers_newest_first(out, name):
    page = html(out, f"orgs/{name}")
    assert card_ids(page) == newest_first(org_expected()[name])
    assert f"{len(org_expected()[name])} papers, newest first" in page


def test_paper_cards_and_pages_link_to_their_organisation(out):
    for page_path, paper_id in (("date/2026-04-07", "2604.00006"), ("orgs/acme", "2603.00005"),
                                ("trending", "2604.00004")):
        page = html(out, page_path)
        (card,) = cards_of(page, paper_id)[:1]
        (href,) = re.findall(r'<span class="org"><a href="([^"]+)">', card)
        target, _ = resolve_link(out, "/digest/", page_path + "/", href)
        assert target.is_file() and paper_id in card_ids(target.read_text("utf-8"))
    paper = html(out, "papers/2603.00003")
    assert re.search(r'<dt>Organisation</dt><dd><a href="../../orgs/globex/">Globex Corp</a>',
                     paper)


def test_no_broken_internal_links(out):
    assert broken_links(out, "/digest/") == []


def test_organisation_names_that_are_not_url_safe_get_working_pages(tmp_path):
    papers = [Spec("u1", DAYS[0], "Plain name", 3, organization="Université Paris-Saclay")]
    out = build_site_into(write_content(tmp_path / "content", papers), tmp_path / "out")
    page = html(out, "papers/u1")
    (href,) = re.findall(r'<dt>Organisation</dt><dd><a href="([^"]+)">Université Paris-Saclay',
                         page)
    target, _ = resolve_link(out, "/digest/", "papers/u1/", href)
    assert target.is_file() and card_ids(target.read_text("utf-8")) == ["u1"]
    assert broken_links(out, "/digest/") == []


def test_organisation_spellings_differing_in_case_never_collide(tmp_path):
    papers = [Spec("a1", DAYS[0], "First", 3, organization={"name": "Initech"}),
              Spec("a2", DAYS[1], "Second", 4, organization={"name": "initech",
                                                              "fullname": "Initech Labs"})]
    content = write_content(tmp_path / "content", papers)
    try:
        out = build_site_into(content, tmp_path / "out")
    except ContentError as error:  # refused, naming the file and both spellings
        assert "a2.md" in str(error) and "'initech'" in str(error) and "'Initech'" in str(error)
        assert not (tmp_path / "out").exists()
        return
    folders = [p.name for p in (out / "orgs").iterdir() if p.is_dir()]
    assert len(folders) == 1
    assert card_ids(html(out, f"orgs/{folders[0]}")) == ["a2", "a1"]


# --- saved searches --------------------------------------------------------------------------


def matches(slug: str) -> list[str]:
    """The expected members of each saved search of SITE_YAML, written out by hand."""
    expected = {
        # whole words, case-insensitive: "Diffusion models" is not "diffusion model";
        # "score-matching" is the words "score matching", so it matches
        "diffusion": ["2603.00001", "2603.00005", "2603.00007", "2604.00003"],
        "acme-popular": ["2603.00001", "2603.00005", "2603.00007", "2603.00008",
                         "2604.00003"],
        # keywords are whole words too: "images" is not "image"
        "vision": ["2603.00003", "2604.00001"],
        "vision-or-theory-by-globex": ["2603.00003", "2603.00004", "2604.00006"],
        "popular": ["2603.00001", "2603.00007", "2604.00001", "2604.00004", "2604.00006"],
    }[slug]
    return newest_first([s for s in PAPERS if s.id in expected])


SLUGS = [search["slug"] for search in SITE_YAML["saved_searches"]]


@pytest.mark.parametrize("slug", SLUGS)
def test_saved_search_model_selects_exactly_the_matching_papers(site, slug):
    (listing,) = [s for s in site.saved_searches if s.search.slug == slug]
    assert [p.id for p in listing.papers] == matches(slug)


@pytest.mark.parametrize("slug", SLUGS)
def test_saved_search_page_lists_exactly_the_matching_papers(out, slug):
    page = html(out, f"feeds/{slug}")
    assert card_ids(page) == matches(slug)
    count = len(matches(slug))
    assert f"{count} matching paper{'s' if count != 1 else ''}, newest first" in page
    alternates = {resolve_link(out, "/digest/", f"feeds/{slug}/", attrs["href"])[0]
                  for tag, attrs in scan_html(page).tags
                  if tag == "link" and attrs.get("rel") == "alternate"}
    assert {out / "feeds" / slug / "feed.xml", out / "feeds" / slug / "atom.xml"} <= alternates


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("name", ["feed.xml", "atom.xml"])
def test_saved_search_feeds_carry_exactly_the_matching_papers(out, slug, name):
    path = out / "feeds" / slug / name
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    links = [entry.link for entry in parsed.entries]
    assert links == [f"{BASE}papers/{pid}/" for pid in matches(slug)]


def test_saved_searches_are_in_the_opml(out):
    path = out / "feeds.opml"
    opml = path.read_text("utf-8")
    for slug in SLUGS:
        assert f"{BASE}feeds/{slug}/feed.xml" in opml


def test_unknown_topic_in_a_saved_search_fails_naming_the_key(tmp_path):
    settings = {**SITE_YAML, "saved_searches": [
        {"slug": "typo", "title": "Typo", "topics": ["visoin"]}]}
    content = write_content(tmp_path / "content", PAPERS[:2], settings)
    with pytest.raises(ContentError) as error:
        load_site(content)
    message = str(error.value)
    assert "site.yaml" in message and "saved_searches[0].topics" in message
    assert "visoin" in message


# --- related papers on the embedded content --------------------------------------------------


@pytest.fixture(scope="module")
def embedded_out(tmp_path_factory) -> Path:
    content = tmp_path_factory.mktemp("embedded") / "content"
    shutil.copytree(REPO / "content", content)
    return build_site_into(content, content.parent / "output")


def test_paper_pages_show_five_related_papers_with_shared_terms(embedded_out):
    noisy = "early-learning-regularization-prevents-memorization-of-noisy-labels"
    page = html(embedded_out, f"papers/{noisy}")
    related = section(page, "related-title")
    items = re.findall(r"<li[^>]*>.*?</li>", related, re.S)
    assert len(items) == 5
    for item in items:
        (href,) = re.findall(r'href="([^"]+)"', item)
        target, _ = resolve_link(embedded_out, "/", f"papers/{noisy}/", href)
        assert target.is_file()
        assert "both about " in item
    assert "noisy labels" in related
    assert not re.search(r"score|similarity|0\.\d{3}", re.sub(r"<[^>]+>", "", related))


def test_related_lists_are_identical_between_two_builds(embedded_out, tmp_path):
    again = build_site_into(REPO / "content", tmp_path / "again")
    for file in sorted((embedded_out / "papers").rglob("index.html"))[:80]:
        first = section(file.read_text("utf-8"), "related-title")
        second_file = again / file.relative_to(embedded_out)
        assert section(second_file.read_text("utf-8"), "related-title") == first


def related_sections(out: Path) -> dict[str, str]:
    return {file.parent.name: section(file.read_text("utf-8"), "related-title")
            for file in sorted((out / "papers").rglob("index.html"))}


def test_a_rebuild_with_a_new_day_has_the_related_papers_of_a_clean_build(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    out = build_site_into(content, tmp_path / "out")
    day = content / "days" / "2026-07-01"
    day.mkdir()
    (day / "noisy-label-cleaning-at-scale.md").write_text(
        "---\ntitle: Noisy label cleaning at scale\nupvotes: 3\n---\n\n"
        "We clean noisy labels with early learning and a small trusted set.\n", "utf-8")
    build_site_into(content, out)  # incremental
    clean = tmp_path / "clean"
    build(BuildOptions(content_dir=content, templates_dir=TEMPLATES, out_dir=clean,
                       quiet=True, jobs=1, clean=True))
    assert related_sections(out) == related_sections(clean)
    assert "noisy-label-cleaning-at-scale" in "".join(related_sections(clean).values())
