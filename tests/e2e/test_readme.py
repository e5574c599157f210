"""End to end: run the README's build command as a user would, serve it, crawl it over HTTP."""

from __future__ import annotations

import functools
import http.server
import re
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import CONTENT, REPO
from tests.htmlcheck import scan_html


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text("utf-8")
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert block, "the README opens with a code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_one_line_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    install_and_build, install_and_test = commands
    assert install_and_build.startswith("pip install . &&")
    assert "site_builder build" in install_and_build or "site-builder build" in install_and_build
    assert '".[test]"' in install_and_test and "pytest" in install_and_test


@pytest.fixture(scope="module")
def readme_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder with the repository's content (and no templates: the built-in theme), built
    by the README."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(CONTENT, work / "content")
    build_step = readme_commands()[0].split("&&")[-1].strip()
    argv = shlex.split(build_step)
    if argv[0] == "python":
        argv[0] = sys.executable
    result = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return work / "output"


@pytest.fixture(scope="module")
def served(readme_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(readme_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""


def test_readme_build_produces_the_site(readme_site: Path) -> None:
    assert (readme_site / "index.html").is_file()
    assert len(list((readme_site / "papers").iterdir())) == 227


def test_served_site_has_no_broken_internal_links(served: str) -> None:
    """Crawl every page reachable from the home page over HTTP, like a visitor would."""
    seen: set[str] = set()
    queue = [served]
    broken: list[str] = []
    pages = 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, kind, body = fetch(url)
        if status != 200:
            broken.append(f"{url}: HTTP {status}")
            continue
        if kind != "text/html":
            continue
        pages += 1
        for _tag, link in scan_html(body.decode("utf-8")).links:
            absolute = urljoin(url, link).split("#")[0]
            if absolute.startswith(served) and absolute not in seen:
                queue.append(absolute)
    assert broken == []
    assert pages > 227 + 16  # every paper and topic page was reached by following links


def test_home_page_shows_the_latest_day(served: str) -> None:
    status, kind, body = fetch(served)
    assert status == 200 and kind == "text/html"
    html = body.decode("utf-8")
    assert "Monday 29 June 2026" in html
    assert urlsplit(served).netloc  # served from 127.0.0.1


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_the_test_command_installs_pinned_versions_of_everything_declared() -> None:
    """Every runtime dependency and test tool is pinned, so no release changes a fresh run."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0] for requirement in declared}
    pinned = {}
    for line in (REPO / "constraints.txt").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _sep, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pinned[re.sub(r"[-_.]+", "-", name).lower()] = version
    missing = {name for name in names if re.sub(r"[-_.]+", "-", name).lower() not in pinned}
    assert not missing, f"constraints.txt pins no version of {sorted(missing)}"
    assert "-c constraints.txt" in readme_commands()[1]
