"""Check that every internal link (``href``, ``src``, ``srcset``, ``poster``, form ``action``)
of a built site resolves to a file, folder or #anchor, as a browser resolves it for a site
served under the base URL's path. External links are not fetched."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from site_builder import urls
from site_builder.errors import ContentError, Problem

LINK_ATTRIBUTES = frozenset({"href", "src", "srcset", "poster", "action"})
SKIPPED_RELS = frozenset({"preconnect", "dns-prefetch"})

COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
RAW_TEXT_RE = re.compile(r"(<(script|style)\b[^>]*>).*?(</\2\s*>)", re.S | re.I)
TAG_RE = re.compile(r"<([a-zA-Z][^\s/>]*)([^>]*)>")
ATTR_RE = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


@dataclass(frozen=True, order=True)
class BrokenLink:
    """One link of one page that does not lead anywhere in the built site."""

    page: str  # the HTML file, relative to the output folder
    link: str  # the link as written in the page
    reason: str

    def __str__(self) -> str:
        return f"{self.page}: broken link '{self.link}' ({self.reason})"


@dataclass
class ParsedPage:
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def parse_html(text: str) -> ParsedPage:
    """The links and element ids of a page (script and style bodies are not markup)."""
    text = COMMENT_RE.sub("", text)
    text = RAW_TEXT_RE.sub(r"\1\3", text)
    parsed = ParsedPage()
    for match in TAG_RE.finditer(text):
        tag = match.group(1).lower()
        attrs = {}
        for attr in ATTR_RE.finditer(match.group(2)):
            value = next((v for v in attr.group(2, 3, 4) if v is not None), "")
            attrs.setdefault(attr.group(1).lower(), html.unescape(value))
        if "id" in attrs:
            parsed.ids.add(attrs["id"])
        if tag == "a" and "name" in attrs:
            parsed.ids.add(attrs["name"])
        if tag == "link" and SKIPPED_RELS & set(attrs.get("rel", "").lower().split()):
            continue
        for name in LINK_ATTRIBUTES & attrs.keys():
            if name == "action" and tag != "form":
                continue
            if name == "srcset":
                parsed.links.extend(part.split()[0] for part in attrs[name].split(",")
                                    if part.strip())
            else:
                parsed.links.append(attrs[name].strip())
    return parsed


def page_url(file_path: str) -> str:
    """The site path a file is served at: ``a/b/index.html`` is the folder ``a/b/``."""
    if file_path == "index.html" or file_path.endswith("/index.html"):
        return file_path.removesuffix("index.html")
    return file_path


def site_files(site_dir: Path) -> set[str]:
    """Every file's path in the site, as os.walk sees them (a link to a folder is no file)."""
    return {path.relative_to(site_dir).as_posix() for path in site_dir.rglob("*")
            if not path.is_dir()}


class LinkChecker:
    """Resolves links of pages of one built site against its files."""

    def __init__(self, site_dir: Path, base_url: str):
        self.site_dir = site_dir
        self.base = urlsplit(base_url)
        self.base_path = self.base.path if self.base.path.endswith("/") else self.base.path + "/"
        self.files = site_files(site_dir)
        self.ids: dict[str, set[str]] = {}

    def parse(self, file_path: str) -> ParsedPage:
        parsed = parse_html((self.site_dir / file_path).read_text("utf-8", errors="replace"))
        self.ids[file_path] = parsed.ids
        return parsed

    def ids_of(self, file_path: str) -> set[str]:
        return self.ids[file_path] if file_path in self.ids else self.parse(file_path).ids

    def check_page(self, file_path: str) -> list[BrokenLink]:
        links = dict.fromkeys(self.parse(file_path).links)  # each distinct link once per page
        reasons = ((link, self.problem_with(file_path, link)) for link in links)
        return [BrokenLink(file_path, link, reason) for link, reason in reasons if reason]

    def problem_with(self, file_path: str, link: str) -> str | None:
        """Why a link of a page does not resolve, or None when it does (or is external)."""
        if not link:
            return None
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:
            if parts.scheme not in ("", "http", "https") or parts.netloc != self.base.netloc:
                return None  # another site, mailto:, data: ...
            if not (parts.path + "/").startswith(self.base_path):
                return None  # the same host outside this site (e.g. another project site)
        elif not parts.path.startswith("/") and file_path == urls.NOT_FOUND and parts.path:
            return "the 404 page is served at any depth: use a root-relative link"
        here = self.base_path + page_url(file_path)
        path = urlsplit(urljoin(here, link)).path
        if not path.startswith(self.base_path):
            return f"outside the site's base path {self.base_path}"
        target = unquote(path[len(self.base_path):])
        if target == "" or target.endswith("/"):
            target += "index.html"
        if target not in self.files:
            if target + "/index.html" in self.files:
                target += "/index.html"  # a folder without its slash: servers redirect
            else:
                return f"no file {target} in the site"
        fragment = unquote(parts.fragment)
        if fragment and fragment != "top" and target.endswith(".html"):
            if fragment not in self.ids_of(target):
                return f"no element with id '{fragment}' in {target}"
        return None


def check_links(site_dir: Path, base_url: str) -> list[BrokenLink]:
    """Every broken internal link of every HTML page of a built site, sorted by page."""
    checker = LinkChecker(site_dir, base_url)
    broken: list[BrokenLink] = []
    for file_path in sorted(checker.files):
        if file_path.endswith(".html") and not file_path.startswith(urls.PAGEFIND):
            broken.extend(checker.check_page(file_path))
    return sorted(broken)


def require_links(site_dir: Path, base_url: str, out_dir: Path) -> None:
    """Raise ContentError listing every broken internal link (``build --strict``), naming each
    page by its place in the output folder."""
    broken = check_links(site_dir, base_url)
    if broken:
        raise ContentError([Problem(f"{out_dir.as_posix().rstrip('/')}/{item.page}", 0,
                                    f"broken link '{item.link}': {item.reason}")
                            for item in broken])
