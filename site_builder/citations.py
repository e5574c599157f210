"""Citations: a BibTeX entry per paper (shown on its page) and a ``.bib`` file per listing day
and per topic, for a one-step import into Zotero, JabRef or a LaTeX bibliography.

Entries are arXiv-style ``@misc`` (as arXiv's own "Export BibTeX citation"): ``eprint``,
``archivePrefix`` and ``primaryClass`` when the paper is on arXiv. Text is made safe for
BibTeX and LaTeX: the characters LaTeX treats specially are escaped outside ``$...$`` math,
and braces that do not balance (which would end a field early) are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from site_builder import urls
from site_builder.content import Paper
from site_builder.fingerprint import digest
from site_builder.markup import MATH_RE
from site_builder.model import Memo, Site, no_memo
from site_builder.outputs import Planned

ARXIV_ID_RE = re.compile(
    r"arxiv\.org/(?:abs|pdf)/((?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?)",
    re.IGNORECASE)
# a formula (kept as it is) or one of LaTeX's special characters not escaped yet
LATEX_SPECIAL_RE = re.compile(rf"(?P<math>{MATH_RE.pattern})|(?<!\\)[&%#_]")
KEY_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.:-]+")


def arxiv_id(paper: Paper) -> str:
    """The arXiv identifier from the paper's arXiv or PDF link, without a version."""
    for link in (paper.arxiv, paper.pdf):
        match = ARXIV_ID_RE.search(link or "")
        if match:
            return re.sub(r"v\d+$", "", match.group(1))
    return ""


def latex_text(text: str) -> str:
    """One line of text made safe inside a BibTeX field: control characters and line breaks
    gone, LaTeX's special characters escaped outside math, unbalanced braces dropped."""
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    text = " ".join(text.split())
    # a backslash that starts no command would escape the field's closing brace
    text = re.sub(r"\\(?![A-Za-z&%#_$])", r"\\textbackslash{}", text)
    text = LATEX_SPECIAL_RE.sub(lambda m: m.group("math") or "\\" + m.group(0), text)
    return text if braces_balance(text) else text.replace("{", "").replace("}", "")


def braces_balance(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


def author_field(names: tuple[str, ...]) -> str:
    """Names joined by " and "; a name holding the word "and" is braced, so it stays one."""
    safe = [latex_text(name) for name in names if name.strip()]
    return " and ".join(f"{{{n}}}" if re.search(r"\band\b", n, re.I) else n for n in safe)


def cite_key(paper: Paper) -> str:
    """Unique on the site and stable: the paper's id (its file name), made key-safe."""
    return KEY_UNSAFE_RE.sub("-", paper.id).strip("-") or "paper"


def bibtex(paper: Paper, base_url: str) -> str:
    """The paper's BibTeX entry."""
    eprint = arxiv_id(paper)
    year = (paper.published or paper.day).year
    fields = [("title", f"{{{latex_text(paper.title)}}}"),  # double braces keep its case
              ("author", author_field(paper.authors)),
              ("year", str(year))]
    if eprint:
        fields += [("eprint", eprint), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", latex_text(paper.categories[0])))
    if paper.doi:
        fields.append(("doi", latex_text(paper.doi)))
    url = f"https://arxiv.org/abs/{eprint}" if eprint else urls.absolute(
        base_url, urls.paper(paper.id))
    fields.append(("url", url.replace("{", "%7B").replace("}", "%7D")))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def remembered(memo: Memo) -> Callable[[Paper, str], str]:
    """``bibtex`` remembered by ``memo`` per paper file (its digest holds every field)."""
    def cite(paper: Paper, base_url: str) -> str:
        return memo("bibtex", (paper.digest, base_url), lambda: bibtex(paper, base_url))
    return cite


def bib_file(papers: list[Paper], base_url: str, about: str,
             cite: Callable[[Paper, str], str] = bibtex) -> bytes:
    """A .bib file: a comment line saying what it holds, then one entry per paper."""
    header = f"% {latex_text(about)}\n% {len(papers)} entries, made by site-builder\n\n"
    return (header + "\n".join(cite(p, base_url) for p in papers)).encode("utf-8")


def planned_bib_files(site: Site, memo: Memo = no_memo) -> list[Planned]:
    """papers.bib of every listing day and every topic, made from the papers' own digests
    (so an unchanged listing's file is kept without making its entries)."""
    base, cite = site.config.base_url, remembered(memo)
    files = [(urls.day_bib(day.date), day.papers, f"Papers listed on {day.date.isoformat()} "
              f"on {site.config.title}") for day in site.days]
    files += [(urls.topic_bib(listing.topic.slug), listing.papers,
               f"Papers of the topic {listing.topic.title} on {site.config.title}")
              for listing in site.topics]
    return [Planned(path, digest("bib", path, base, about, *(p.digest for p in papers)),
                    f"citations {path}",
                    lambda papers=papers, about=about: bib_file(papers, base, about, cite))
            for path, papers, about in files]
