"""arXiv's query API (``export.arxiv.org/api/query``): an Atom 1.0 feed, one entry per paper
(the README's "arXiv search results" says what is kept). An entry looks like::

    <entry>
      <id>http://arxiv.org/abs/2511.07301v2</id>
      <published>2025-11-10T17:59:58Z</published>
      <title>A title that arXiv
        hard-wraps</title>
      <summary>  The abstract, also hard-wrapped.</summary>
      <author><name>Ada Lovelace</name></author>
      <link title="pdf" href="http://arxiv.org/pdf/2511.07301v2" rel="related"/>
      <arxiv:comment>12 pages; code at https://github.com/...</arxiv:comment>
      <arxiv:primary_category term="cs.CL"/><category term="cs.AI"/>
    </entry>

An API error comes back as an entry whose id is under ``arxiv.org/api/errors``.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from site_builder.importers.record import (
    ImportedPaper,
    ImportOptions,
    ParseResult,
    arxiv_id_from,
    arxiv_links,
    first_github_link,
    is_http_url,
    one_line,
    parse_iso_date,
    source_error,
    unwrap,
)
from site_builder.importers.xmlsafe import child_text, looks_like, parse_xml

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def looks_like_arxiv(text: str) -> bool:
    """An Atom feed from arXiv (its root is <feed> and it uses arXiv's namespace or URLs)."""
    return looks_like(text, "feed", "arxiv.org")


def parse_arxiv(text: str, name: str, options: ImportOptions) -> ParseResult:
    doc = parse_xml(text, name)
    if doc.root.tag != f"{ATOM}feed":
        raise source_error(name, f"not an Atom feed (the root element is <{doc.root.tag}>, "
                           "expected Atom's <feed>)", 1)
    return ParseResult(doc.read_each(doc.root.findall(f"{ATOM}entry"), name, "entry",
                                     paper_from_entry))


def paper_from_entry(entry: Element, origin: str) -> ImportedPaper:
    entry_id = child_text(entry, f"{ATOM}id").strip()
    if "/api/errors" in entry_id:
        message = unwrap(child_text(entry, f"{ATOM}summary")) or entry_id
        raise ValueError(f"the arXiv API answered with an error: {message}")
    title = unwrap(child_text(entry, f"{ATOM}title"))
    if not title:
        raise ValueError("paper without a title")
    arxiv = arxiv_id_from(entry_id)
    if not arxiv:
        raise ValueError(f"'{entry_id[:80]}' is not an arXiv id")
    paper = ImportedPaper(title=title, abstract=unwrap(child_text(entry, f"{ATOM}summary")),
                          id=arxiv, origin=origin)
    paper.arxiv, default_pdf = arxiv_links(arxiv)
    paper.pdf = https(pdf_link(entry)) or default_pdf
    paper.published = parse_iso_date(child_text(entry, f"{ATOM}published"))
    paper.listed = paper.published
    paper.authors = [name for author in entry.findall(f"{ATOM}author")
                     if (name := one_line(child_text(author, f"{ATOM}name")))]
    paper.comment = unwrap(child_text(entry, f"{ARXIV}comment"))
    paper.journal_ref = unwrap(child_text(entry, f"{ARXIV}journal_ref"))
    paper.doi = child_text(entry, f"{ARXIV}doi").strip()
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [category.get("term", "") for category in entry.findall(f"{ATOM}category")]
    paper.categories = list(dict.fromkeys(term.strip() for term in terms if term.strip()))
    paper.code = first_github_link(f"{paper.comment} {paper.abstract}")
    return paper


def pdf_link(entry: Element) -> str:
    return next((link.get("href", "").strip() for link in entry.findall(f"{ATOM}link")
                 if link.get("title") == "pdf" or link.get("type") == "application/pdf"), "")


def https(url: str) -> str:
    """arXiv still writes http:// links; its pages are served over https."""
    if not is_http_url(url):
        return ""
    if url.startswith(("http://arxiv.org/", "http://export.arxiv.org/")):
        return "https://arxiv.org/" + url.split("/", 3)[3]
    return url
