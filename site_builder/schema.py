"""A paper's fields, in one table, and the import formats, in one list.

The content reader (``content.py``), the importers' record (``importers/record.py``), the order
of keys in a written paper file (``importers/store.py``), the keys of a JSON Lines paper
(``importers/jsonl.py``) and what the email reads back from the digest (``email/``) all come
from ``FIELDS``. This module imports nothing of the package, so the CLI can read
``IMPORT_FORMATS`` without loading the importers.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a field is read, checked and normalised (each reader has one function per kind).
ID = "id"  # text that names the file (and must equal its name)
TEXT = "text"  # one line of text, trimmed; no control characters
TEXTS = "texts"  # a list of texts (one text is read as a list of one); empty items dropped
SLUGS = "slugs"  # texts that are each a slug: lowercase letters, digits and '-'
COUNT = "count"  # a whole number of 0 or more; missing means "the source does not say"
DATE = "date"  # a day, written YYYY-MM-DD
LINK = "link"  # an http:// or https:// URL
ORGANIZATION = "organization"  # a name, or a mapping of name and optional fullname

# How an import merges a field into a paper the content folder already has.
FILL = "fill"  # kept when the file has it, filled in when it does not
REFRESH = "refresh"  # popularity: the newer source wins
UNITE = "unite"  # the union, in first-seen order


@dataclass(frozen=True)
class Field:
    """One front matter key of a paper file."""

    name: str
    kind: str
    required: bool = False
    merge: str = FILL
    digest_class: str = ""  # the class that marks it in the digest's HTML (read by the email)


# In the order a paper file's keys are written (SPEC's order); a JSON Lines paper has the same
# keys plus BODY_KEY and DAY_KEY.
FIELDS = (
    Field("id", ID),
    Field("title", TEXT, required=True, digest_class="paper-title"),
    Field("authors", TEXTS, digest_class="author"),
    Field("author_count", COUNT, digest_class="author-count"),
    Field("organization", ORGANIZATION, digest_class="org"),
    Field("published", DATE),
    Field("upvotes", COUNT, merge=REFRESH, digest_class="upvotes"),
    Field("topics", SLUGS, merge=UNITE, digest_class="topic"),
    Field("arxiv", LINK),
    Field("pdf", LINK),
    Field("code", LINK),
    Field("project_page", LINK),
    Field("github_stars", COUNT, merge=REFRESH),
    Field("thumbnail", LINK),
    Field("ai_summary", TEXT),
    Field("ai_keywords", TEXTS),
    Field("withdrawn", DATE, digest_class="paper-withdrawn"),
    Field("doi", TEXT),
    Field("journal_ref", TEXT),
    Field("comment", TEXT),
    Field("categories", TEXTS),
)
NAMES = tuple(f.name for f in FIELDS)
BY_NAME = {f.name: f for f in FIELDS}
# Every field but the id and the title, which each reader checks in its own words.
TYPED = tuple(f for f in FIELDS if f.kind != ID and not f.required)
BODY_KEY, DAY_KEY = "abstract", "listed"  # the body and the day folder, in JSON Lines


@dataclass(frozen=True)
class ShownLink:
    """A link of a paper as a feed item, the digest and the email show it."""

    field: str
    kind: str  # its name in the digest (``link-pdf`` in the HTML, ``kind`` in digest.json)
    label: str


SHOWN_LINKS = (ShownLink("pdf", "pdf", "PDF"), ShownLink("code", "code", "Code"),
               ShownLink("arxiv", "arxiv", "arXiv"),
               ShownLink("project_page", "project", "Project page"))


@dataclass(frozen=True)
class ImportFormat:
    name: str
    description: str


# Detection tries them in this order: the structured formats first (each recognises its own
# opening: '[{' or '{' with the API's keys, an Atom <feed> or an RSS <rss> from arXiv, a '{'
# line), then the copied page (its chrome).
IMPORT_FORMATS = (
    ImportFormat("hf-api", "the Hugging Face daily papers API (JSON)"),
    ImportFormat("arxiv", "an arXiv API answer (Atom)"),
    ImportFormat("arxiv-rss", "an arXiv announcement feed (RSS)"),
    ImportFormat("jsonl", "JSON Lines, one paper a line"),
    ImportFormat("hf-page", "a Hugging Face papers page, selected and copied as text"),
)
FORMAT_NAMES = tuple(f.name for f in IMPORT_FORMATS)
