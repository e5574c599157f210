"""Publishing: sitemap, robots, 404, .nojekyll, CNAME, SEO tags, JSON-LD, search, link check,
the Pages workflow and the development server."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from email.message import Message
from pathlib import Path

import pytest
import yaml

from site_builder import search
from site_builder.build import BuildOptions, build, check, load_site
from site_builder.errors import ContentError
from site_builder.linkcheck import check_links
from site_builder.pages import site_pages
from site_builder.publishing import cname_domain, page_lastmod, sitemap_files
from site_builder.server import RELOAD_PATH, DevServer
from tests.conftest import CONTENT, REPO, TEMPLATES, build_into

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "https://example.org/digest/"
KNOWN_PAPER = "papers/data-filtering-networks/"
HOSTILE = "</script><script>alert(1)</script> & <!-- \u2028 x"


def html_pages(out: Path) -> list[str]:
    """Site paths of every HTML page, as the sitemap names them."""
    pages = []
    for file in sorted(out.rglob("*.html")):
        rel = file.relative_to(out).as_posix()
        if rel.startswith("pagefind/") or rel == "404.html":
            continue
        pages.append(rel[: -len("index.html")] if rel.endswith("index.html") else rel)
    return pages


def sitemap_entries(out: Path) -> dict[str, str | None]:
    root = ET.parse(out / "sitemap.xml").getroot()
    assert root.tag == f"{SM}urlset"
    entries = {}
    for url in root.iter(f"{SM}url"):
        lastmod = url.find(f"{SM}lastmod")
        entries[url.find(f"{SM}loc").text] = lastmod.text if lastmod is not None else None
    return entries


def add_front_matter(path: Path, line: str) -> None:
    text = path.read_text("utf-8")
    assert text.startswith("---\n")
    path.write_text("---\n" + line + "\n" + text[4:], "utf-8")


def json_ld(page: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match, "the page has JSON-LD"
    return json.loads(match.group(1))


def meta(page: str, key: str) -> list[str]:
    """Values of <meta property|name=key content=...>, unescaped."""
    pattern = rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">'
    return [html.unescape(value) for value in re.findall(pattern, page)]


# sitemap, robots, .nojekyll, CNAME ------------------------------------------------------


def test_sitemap_lists_every_html_page_with_an_absolute_url(built_subpath: Path) -> None:
    entries = sitemap_entries(built_subpath)
    assert set(entries) == {BASE + path for path in html_pages(built_subpath)}
    assert BASE + "404.html" not in entries
    assert BASE in entries and BASE + "papers/data-filtering-networks/" in entries


def test_sitemap_lastmod_comes_from_the_content(built_subpath: Path) -> None:
    entries = sitemap_entries(built_subpath)
    assert entries[BASE + "date/2026-04-21/"] == "2026-04-21"
    assert entries[BASE + "papers/data-filtering-networks/"] == "2026-04-21"
    assert entries[BASE + "month/2026-03/"] == "2026-03-11"
    assert entries[BASE] == "2026-06-29"
    assert all(entries.values()), "every page has a lastmod"
    assert max(entries.values()) == "2026-06-29"  # never the build date


def test_an_unchanged_site_rebuilds_to_identical_publishing_files(
        built_subpath: Path, tmp_path: Path) -> None:
    again = build_into(CONTENT, tmp_path / "out", base_url=BASE)
    for name in ("sitemap.xml", "robots.txt", ".nojekyll"):
        assert (again / name).read_bytes() == (built_subpath / name).read_bytes(), name


def test_a_withdrawal_moves_lastmod(content_copy: Path, tmp_path: Path) -> None:
    add_front_matter(content_copy / "days/2026-04-21/data-filtering-networks.md",
                     "withdrawn: 2026-07-15")
    _config, _content, site = load_site(content_copy, BASE)
    pages = {page.path: page for page in site_pages(site)}
    assert page_lastmod(pages["papers/data-filtering-networks/"], site) == dt.date(2026, 7, 15)
    assert page_lastmod(pages["date/2026-04-21/"], site) == dt.date(2026, 7, 15)
    assert page_lastmod(pages["date/2026-03-11/"], site) == dt.date(2026, 3, 11)


def test_a_big_sitemap_becomes_an_index_of_parts() -> None:
    _config, _content, site = load_site(CONTENT, BASE)
    pages = site_pages(site)
    files = sitemap_files(site, pages, limit=100)
    assert files[0].path == "sitemap.xml"
    index = ET.fromstring(files[0].data)
    assert index.tag == f"{SM}sitemapindex"
    locs = [e.text for e in index.iter(f"{SM}loc")]
    assert locs == [BASE + f"sitemap-{n}.xml" for n in range(1, len(files))]
    urls = [e.text for f in files[1:] for e in ET.fromstring(f.data).iter(f"{SM}loc")]
    assert len(urls) == len(set(urls)) == len(pages) - 1  # all but the 404 page
    assert all(len(list(ET.fromstring(f.data).iter(f"{SM}url"))) <= 100 for f in files[1:])


def test_robots_points_at_the_sitemap(built_subpath: Path) -> None:
    robots = (built_subpath / "robots.txt").read_text("utf-8")
    assert "User-agent: *" in robots
    assert f"Sitemap: {BASE}sitemap.xml" in robots.splitlines()


def test_nojekyll_is_written_and_no_cname_by_default(built_subpath: Path) -> None:
    assert (built_subpath / ".nojekyll").is_file()
    assert not (built_subpath / "CNAME").exists()


def test_cname_is_written_when_site_yaml_sets_a_domain(content_copy: Path,
                                                        tmp_path: Path) -> None:
    with (content_copy / "site.yaml").open("a", encoding="utf-8") as f:
        f.write("\ncname: papers.example.org\n")
    out = build_into(content_copy, tmp_path / "out")
    assert (out / "CNAME").read_text("utf-8") == "papers.example.org\n"


@pytest.mark.parametrize("value, domain", [
    ("papers.example.org", "papers.example.org"),
    (" https://papers.example.org/digest/ ", "papers.example.org"),
    ("WWW.Example.ORG.", "www.example.org"),
])
def test_cname_domain(value: str, domain: str) -> None:
    assert cname_domain(value) == domain


# 404 ----------------------------------------------------------------------------------


def test_not_found_page_works_at_any_depth(built_subpath: Path) -> None:
    page = (built_subpath / "404.html").read_text("utf-8")
    refs = re.findall(r'(?:href|src|action)="([^"]+)"', page)
    internal = [r for r in refs if not r.startswith(("http://", "https://", "mailto:", "#"))]
    assert internal and all(r.startswith("/digest/") for r in internal), internal
    for ref in internal:  # each resolves to a file of the site, whatever the request depth
        target = ref[len("/digest/"):].split("?")[0]
        target = target + "index.html" if target == "" or target.endswith("/") else target
        assert (built_subpath / target).is_file(), ref
    assert '<meta name="robots" content="noindex">' in page
    assert not [b for b in check_links(built_subpath, BASE) if b.page == "404.html"]


# SEO: canonical, Open Graph, Twitter, description, JSON-LD -------------------------------


def test_every_page_has_canonical_open_graph_and_twitter_tags(built_subpath: Path) -> None:
    for path in html_pages(built_subpath):
        file = built_subpath / (path + "index.html" if path == "" or path.endswith("/")
                                else path)
        page = file.read_text("utf-8")
        canonical = re.findall(r'<link rel="canonical" href="([^"]+)">', page)
        assert canonical == [BASE + path], path
        assert meta(page, "og:url") == canonical, path
        assert len(meta(page, "og:title")) == 1 and meta(page, "og:title")[0], path
        assert meta(page, "og:site_name") == ["Daily Papers"], path
        description = meta(page, "og:description")
        assert len(description) == 1 and description[0].strip(), path
        assert meta(page, "twitter:card") in (["summary"], ["summary_large_image"]), path
        # Twitter reads og:title and og:description: its own would say them again
        assert not meta(page, "twitter:title") and not meta(page, "twitter:description"), path
        assert re.search(r"<title>[^<]+</title>", page), path
        assert meta(page, "description") and meta(page, "description")[0].strip(), path


def test_link_previews_use_the_page_description(built_subpath: Path) -> None:
    for path in ("date/2026-04-21/", "topics/regularization/", KNOWN_PAPER):
        page = (built_subpath / path / "index.html").read_text("utf-8")
        assert meta(page, "og:description") == meta(page, "description"), path


def test_paper_pages_have_scholarly_article_json_ld(built_subpath: Path) -> None:
    page = (built_subpath / "papers/data-filtering-networks/index.html").read_text("utf-8")
    data = json_ld(page)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "ScholarlyArticle"
    assert data["headline"] == "Data Filtering Networks"
    assert data["url"] == BASE + "papers/data-filtering-networks/"
    assert data["datePublished"] == "2023-09-29"
    assert "abstract" not in data  # said in the body, and in short by the meta description
    assert meta(page, "og:type") == ["article"]
    assert meta(page, "og:title") == ["Data Filtering Networks"]
    assert meta(page, "og:description")[0].startswith("Large training sets")
    assert "application/ld+json" not in (built_subpath / "index.html").read_text("utf-8")


def test_json_ld_names_authors_and_organisation(content_copy: Path, tmp_path: Path) -> None:
    paper = content_copy / "days/2026-04-21/data-filtering-networks.md"
    text = paper.read_text("utf-8").replace("author_count: 6\n", "")
    paper.write_text(text, "utf-8")
    add_front_matter(paper, "authors: [Ada Lovelace, Alan Turing]\n"
                     "organization: {name: apple, fullname: Apple}\n"
                     "arxiv: https://arxiv.org/abs/2309.17425")
    out = build_into(content_copy, tmp_path / "out", base_url=BASE)
    data = json_ld((out / "papers/data-filtering-networks/index.html").read_text("utf-8"))
    assert data["author"] == [{"@type": "Person", "name": "Ada Lovelace"},
                              {"@type": "Person", "name": "Alan Turing"}]
    assert data["sourceOrganization"] == {"@type": "Organization", "name": "Apple"}
    assert data["sameAs"] == ["https://arxiv.org/abs/2309.17425"]


def test_a_hostile_title_cannot_break_out_of_json_ld(content_copy: Path,
                                                     tmp_path: Path) -> None:
    paper = content_copy / "days/2026-04-21/hostile.md"
    paper.write_text("---\ntitle: " + json.dumps(HOSTILE) + "\nauthors: ['</script>x']\n---\n\n"
                     "An abstract that says </script><img src=x onerror=alert(2)>.\n", "utf-8")
    out = build_into(content_copy, tmp_path / "out", base_url=BASE)
    page = (out / "papers/hostile/index.html").read_text("utf-8")
    assert "<script>alert(1)" not in page
    assert "onerror" not in page.split("</head>")[0]
    scripts = [s for s in re.findall(r"<script\b[^>]*>", page) if " src=" not in s]
    assert scripts == ['<script type="application/ld+json">']  # cite.js is a file
    data = json_ld(page)  # the JSON ends at the one real </script>, and parses
    assert data["headline"] == HOSTILE
    assert data["author"] == [{"@type": "Person", "name": "</script>x"}]
    assert meta(page, "og:title") == [HOSTILE]


# search ---------------------------------------------------------------------------------


def test_search_index_covers_every_paper(built_subpath: Path) -> None:
    """pagefind[bin] is a dependency: its binary is always there, so search is always built."""
    bundle = built_subpath / "pagefind"
    for name in ("pagefind-ui.js", "pagefind-ui.css", "indexes.json"):
        assert (bundle / name).is_file(), name
    months = json.loads((bundle / "indexes.json").read_text("utf-8"))["months"]
    pages = 0
    for month in months:  # one index per listing month
        entry = json.loads((bundle / month / "pagefind-entry.json").read_text("utf-8"))
        pages += sum(language["page_count"] for language in entry["languages"].values())
        assert (bundle / month / "pagefind.js").is_file()
        assert list((bundle / month / "filter").iterdir()), "the topic filter is indexed"
    assert pages == len(list((built_subpath / "papers").iterdir())) == 227


def test_paper_pages_mark_what_search_indexes(built_subpath: Path) -> None:
    page = (built_subpath / "papers/data-filtering-networks/index.html").read_text("utf-8")
    assert page.count("data-pagefind-body") == 1
    topics = re.findall(r'<span data-pagefind-filter="topic">([^<]+)</span>', page)
    assert "Data selection and curation" in topics and len(topics) == len(set(topics))


def test_search_page_loads_pagefind_and_explains_itself_without_javascript(
        built_subpath: Path) -> None:
    page = (built_subpath / "search/index.html").read_text("utf-8")
    assert 'data-bundle="../pagefind/"' in page and 'data-base="../"' in page
    assert '<script src="../static/search.js" defer></script>' in page
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S).group(1)
    assert "needs JavaScript" in noscript and 'href="../archive/"' in noscript
    assert (built_subpath / "static/search.js").is_file()
    header = (built_subpath / "index.html").read_text("utf-8")
    assert re.search(r'<form class="search-box" role="search" action="search/" method="get">',
                     header)


def test_without_pagefind_the_build_warns_once_and_skips_search(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv(search.BINARY_ENV, str(tmp_path / "no-such-pagefind"))
    monkeypatch.setattr(search, "_warned", False)
    first = build_into(CONTENT, tmp_path / "one")
    build_into(CONTENT, tmp_path / "two")
    warnings = [line for line in capsys.readouterr().err.splitlines() if "Pagefind" in line]
    assert len(warnings) == 1 and "not available" in warnings[0]
    assert not (first / "pagefind").exists()
    assert (first / "search/index.html").is_file()


def test_a_failing_pagefind_stops_the_build(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv(search.BINARY_ENV, str(fake))
    out = tmp_path / "out"
    with pytest.raises(search.SearchIndexError, match="boom"):
        build_into(CONTENT, out)
    assert not out.exists()


# link check -------------------------------------------------------------------------------


def write_site(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


def test_link_check_resolves_like_a_browser(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "index.html": '<a href="a/">a</a><a href="a/#x">x</a><a href="a/#nope">n</a>'
                      '<a href="https://example.org/digest/a/">abs</a>'
                      '<a href="https://example.org/digest/gone/">abs gone</a>'
                      '<a href="https://example.org/other/">other site</a>'
                      '<a href="https://elsewhere.org/x">ext</a><a href="mailto:a@b.c">m</a>'
                      '<a href="/digest/a/?q=1">root</a><a href="/elsewhere/">outside</a>'
                      '<img src="static/i%20j.svg" srcset="static/i%20j.svg 1x, static/k.svg 2x">'
                      '<form action="search/"></form><a href="a">no slash</a>'
                      '<!-- <a href="commented/">c</a> -->'
                      '<script>var s = \'<a href="in-script/">\';</script>',
        "a/index.html": '<h2 id="x">x</h2><a href="../">up</a><a href="../../../x/">high</a>'
                        '<a href="#x">self</a><a href="#top">top</a><a href="#y">no y</a>',
        "static/i j.svg": "<svg/>",
        "404.html": '<a href="/digest/a/">ok</a><a href="a/">relative</a><a href="#x">frag</a>',
    })
    broken = {(b.page, b.link): b.reason for b in check_links(site, BASE)}
    assert set(broken) == {
        ("index.html", "a/#nope"),
        ("index.html", "https://example.org/digest/gone/"),
        ("index.html", "/elsewhere/"),
        ("index.html", "static/k.svg"),
        ("index.html", "search/"),
        ("a/index.html", "../../../x/"),
        ("a/index.html", "#y"),
        ("404.html", "a/"),
        ("404.html", "#x"),
    }
    assert "no element with id 'nope'" in broken[("index.html", "a/#nope")]
    assert "outside the site's base path /digest/" in broken[("index.html", "/elsewhere/")]
    assert "404 page" in broken[("404.html", "a/")]


def plant_broken_links(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    archive = templates / "archive.html"
    text = archive.read_text("utf-8")
    marker = "{% block main %}"
    assert marker in text
    archive.write_text(text.replace(marker, marker + '<a href="{{ links.to(\'no-such-page/\') }}">'
                                    'x</a><a href="#no-such-anchor">y</a>', 1), "utf-8")
    return templates


def test_strict_build_fails_on_a_planted_broken_link(tmp_path: Path) -> None:
    templates = plant_broken_links(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ContentError) as caught:
        build(BuildOptions(CONTENT, templates, out, base_url=BASE, quiet=True, strict=True))
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        f"{out.as_posix()}/archive/index.html: broken link '#no-such-anchor': "
        "no element with id 'no-such-anchor' in archive/index.html",
        f"{out.as_posix()}/archive/index.html: broken link '../no-such-page/': "
        "no file no-such-page/index.html in the site",
    ]
    assert not out.exists(), "a failed strict build writes nothing"
    build(BuildOptions(CONTENT, templates, out, base_url=BASE, quiet=True))  # not strict: ok
    assert (out / "archive/index.html").is_file()


def test_strict_build_of_the_embedded_content_is_clean(tmp_path: Path) -> None:
    build(BuildOptions(CONTENT, TEMPLATES, tmp_path / "out", base_url=BASE, quiet=True,
                       strict=True))


def test_check_strict_builds_aside_and_fails_on_a_broken_link(tmp_path: Path) -> None:
    templates = plant_broken_links(tmp_path)
    assert check(CONTENT, templates).papers  # content only: fine
    with pytest.raises(ContentError, match="no-such-page"):
        check(CONTENT, templates, strict=True)
    assert check(CONTENT, TEMPLATES, strict=True).papers


def test_cli_build_strict_exits_1_and_names_page_and_link(tmp_path: Path) -> None:
    templates = plant_broken_links(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "site_builder", "build", "--content", str(CONTENT),
         "--templates", str(templates), "--out", str(tmp_path / "out"), "--strict"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "archive/index.html: broken link '../no-such-page/'" in result.stderr
    assert "2 problems found." in result.stderr


# the GitHub Pages workflow ----------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text("utf-8"))


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]


def run_text(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


WORKFLOW = REPO / ".github/workflows/pages.yml"


def test_workflow_triggers(workflow: dict) -> None:
    triggers = workflow[True]  # YAML 1.1 reads the key 'on' as True
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers
    assert len(triggers["schedule"]) == 2  # morning (mails yesterday) and evening
    for schedule in triggers["schedule"]:
        minute, hour, *rest = schedule["cron"].split()
        assert rest == ["*", "*", "*"]
        assert minute.isdigit() and int(minute) not in (0, 30), "an off-hour minute"


def test_workflow_permissions_and_concurrency(workflow: dict) -> None:
    assert workflow["permissions"] == {"contents": "write", "pages": "write",
                                       "id-token": "write"}
    assert workflow["concurrency"]["group"] == "pages"
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_workflow_builds_with_the_pages_base_url_and_deploys(workflow: dict) -> None:
    jobs = workflow["jobs"]
    build_job, deploy = jobs["build"], jobs["deploy"]
    assert "pip install -r requirements.txt" in run_text(build_job)
    (configure,) = steps_using(build_job, "actions/configure-pages")
    assert configure["id"] == "pages"
    assert re.search(r"site-builder build --base-url \"\$\{\{ steps\.pages\.outputs\.base_url "
                     r"\}\}/\"", run_text(build_job))
    (upload,) = steps_using(build_job, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "output"
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert steps_using(deploy, "actions/deploy-pages")


def test_workflow_calls_the_daily_commands_and_hides_no_failure(workflow: dict) -> None:
    """The shape of the daily steps; tests/test_daily_replay.py runs them for many days."""
    build_job, deploy, email = (workflow["jobs"][n] for n in ("build", "deploy", "email"))
    (update,) = [s for s in build_job["steps"] if s.get("id") == "update"]
    assert "vars.IMPORT_HF_DAILY == 'true'" in update["if"]
    assert update["run"].split("#")[0].strip() == "site-builder update"
    text = WORKFLOW.read_text("utf-8")
    assert "continue-on-error" not in text and "|| true" not in text
    commit = next(s for s in build_job["steps"] if "git push" in s.get("run", ""))
    assert "git add content" in commit["run"] and "!cancelled()" in commit["if"]
    assert "!cancelled()" in deploy["if"] and "needs.build.outputs.built" in deploy["if"]
    assert email["needs"] == ["build", "deploy"]
    assert "needs.deploy.result == 'success'" in email["if"]
    assert re.search(r"site-builder email --pending --feed \S*digest\.xml", run_text(email))
    assert "--to-file" in run_text(email) and "--smtp" in run_text(email)
    record = next(s for s in email["steps"] if "git push" in s.get("run", ""))
    assert "git add content/state" in record["run"] and "!cancelled()" in record["if"]
    for job in (build_job, email):  # the branch as it is, with what earlier runs recorded
        (checkout,) = steps_using(job, "actions/checkout")
        assert checkout["with"]["ref"] == "${{ github.ref }}"


# the development server -------------------------------------------------------------------


def fetch(url: str) -> tuple[int, str, Message]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), error.headers


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def dev_server(content_copy: Path, tmp_path: Path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    options = BuildOptions(content_copy, templates, tmp_path / "out",
                           base_url="https://user.github.io/digest/", quiet=True)
    server = DevServer(options, "127.0.0.1", 0)
    assert server.rebuild()
    server.start()
    watcher = threading.Thread(target=server.watch, daemon=True)
    watcher.start()
    time.sleep(0.5)  # let the watcher start before tests change files
    yield server
    server.stop()
    watcher.join(timeout=10)


def wait_for_build(server: DevServer, number: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while server.build_number <= number and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.build_number > number, "the change was not rebuilt"


def test_serve_serves_the_site_under_the_base_path(dev_server: DevServer) -> None:
    assert dev_server.url == f"http://127.0.0.1:{dev_server.port}/digest/"
    status, page, _headers = fetch(dev_server.url)
    assert status == 200
    assert f'<link rel="canonical" href="{dev_server.url}">' in page
    assert RELOAD_PATH in page and page.rstrip().endswith("</html>")
    on_disk = (dev_server.options.out_dir / "index.html").read_text("utf-8")
    assert RELOAD_PATH not in on_disk, "the reload script is never written to the output"
    status, css, headers = fetch(dev_server.url + "static/style.css")
    assert status == 200 and "text/css" in headers["Content-Type"] and ":root" in css
    status, page, _ = fetch(dev_server.url + "no/such/page/")
    assert status == 404 and "Page not found" in page and RELOAD_PATH in page
    status, page, _ = fetch(f"http://127.0.0.1:{dev_server.port}/digest/../../etc/passwd")
    assert status == 404
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"http://127.0.0.1:{dev_server.port}/", timeout=10)
    assert redirect.value.code == 302 and redirect.value.headers["Location"] == "/digest/"
    with pytest.raises(urllib.error.HTTPError) as slash:
        opener.open(dev_server.url + "archive", timeout=10)
    assert slash.value.code == 301 and slash.value.headers["Location"] == "/digest/archive/"


def test_serve_rebuilds_on_change_and_shows_failures(dev_server: DevServer) -> None:
    number = dev_server.build_number
    assert fetch(f"http://127.0.0.1:{dev_server.port}{RELOAD_PATH}")[1] == str(number)
    paper = dev_server.options.content_dir / "days/2026-04-21/data-filtering-networks.md"
    paper.write_text(paper.read_text("utf-8").replace(
        "title: Data Filtering Networks", "title: Data Filtering Networks, Revised"), "utf-8")
    wait_for_build(dev_server, number)
    status, page, _ = fetch(dev_server.url + "papers/data-filtering-networks/")
    assert status == 200 and "Data Filtering Networks, Revised" in page
    assert fetch(f"http://127.0.0.1:{dev_server.port}{RELOAD_PATH}")[1] == str(number + 1)

    number = dev_server.build_number
    paper.write_text("---\ntitle: [unclosed\n---\n", "utf-8")
    wait_for_build(dev_server, number)
    status, page, _ = fetch(dev_server.url + "papers/data-filtering-networks/")
    assert status == 200 and "Data Filtering Networks, Revised" in page  # the previous build
    assert 'role="alert"' in page and "data-filtering-networks.md" in page
    body = page[page.index("<body"):]
    assert body.index('role="alert"') < body.index('class="site-header"'), "banner comes first"
