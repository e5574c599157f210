"""Test helpers that read built HTML the way a client does: links, ids, tag balance."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# elements whose end tag HTML allows to be left out; we never leave them out, but MathML
# and plain HTML both use these names so they are checked like any other.
OPTIONAL_END: set[str] = set()


@dataclass
class PageScan:
    links: list[tuple[str, str]] = field(default_factory=list)  # (tag, url)
    ids: set[str] = field(default_factory=set)
    h1: int = 0
    errors: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)


class Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.scan.tags.append((tag, attributes))
        if tag == "h1":
            self.scan.h1 += 1
        if attributes.get("id"):
            self.scan.ids.add(attributes["id"])
        for name in ("href", "src"):
            if attributes.get(name) is not None:
                self.scan.links.append((tag, attributes[name]))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.scan.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        self.scan.text.append(data)


def scan_html(text: str) -> PageScan:
    scanner = Scanner()
    scanner.feed(text)
    scanner.close()
    if scanner.stack:
        scanner.scan.errors.append(f"unclosed elements: {scanner.stack}")
    return scanner.scan


def page_site_path(out: Path, file: Path) -> str:
    rel = file.relative_to(out).as_posix()
    return rel[: -len("index.html")] if rel.endswith("index.html") else rel


def resolve_link(out: Path, base_path: str, page_path: str, url: str) -> tuple[Path, str] | None:
    """The file and fragment an internal link points at, or None for external links."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("mailto:"):
        return None
    if parts.path.startswith("/"):
        if not parts.path.startswith(base_path):
            return (out / "__outside_base_path__" / parts.path.lstrip("/"), parts.fragment)
        target = parts.path[len(base_path):]
    elif parts.path == "":
        target = page_path
    else:
        directory = page_path if page_path.endswith("/") or page_path == "" else posixpath.dirname(
            page_path) + "/"
        target = posixpath.normpath(posixpath.join(directory or ".", parts.path))
        if parts.path.endswith("/") and not target.endswith("/"):
            target += "/"
        if target == "./" or target == ".":
            target = ""
    target = unquote(target)
    if target.startswith("../"):
        return (out / "__outside_site__" / target, parts.fragment)
    file = out / target
    if target == "" or target.endswith("/"):
        file = file / "index.html"
    return file, parts.fragment


def broken_links(out: Path, base_path: str = "/") -> list[str]:
    """Every internal href/src of every page that does not resolve to a file (and anchor)."""
    problems = []
    ids_cache: dict[Path, set[str]] = {}
    for file in sorted(out.rglob("*.html")):
        page_path = page_site_path(out, file)
        scan = scan_html(file.read_text("utf-8"))
        for _tag, url in scan.links:
            resolved = resolve_link(out, base_path, page_path, url)
            if resolved is None:
                continue
            target, fragment = resolved
            if not target.is_file():
                problems.append(f"{page_path or '/'}: {url} -> missing {target}")
                continue
            if fragment and target.suffix == ".html":
                if target not in ids_cache:
                    ids_cache[target] = scan_html(target.read_text("utf-8")).ids
                if fragment not in ids_cache[target]:
                    problems.append(f"{page_path or '/'}: {url} -> no id '{fragment}'")
    return problems
