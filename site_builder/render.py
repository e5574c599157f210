"""The Jinja2 environment, its filters, and rendering one page to HTML."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from site_builder import __version__, citations, urls
from site_builder.content import Paper
from site_builder.dates import count, long_date, month_name, plain_date, short_date
from site_builder.errors import ContentError, problem
from site_builder.fingerprint import TemplateKeys, paper_key
from site_builder.markup import linkify, plain_title, snippet
from site_builder.model import Site
from site_builder.pages import Page

CARD_TEMPLATE = "_paper.html"  # its ``card`` macro is every listing's paper card


THEME_DIR = Path(__file__).resolve().parent / "theme"  # the built-in templates and static/


def template_folders(templates_dir: Path | None) -> list[Path]:
    """Where templates are looked up, first match wins: a site's own folder, then the theme."""
    return [templates_dir, THEME_DIR] if templates_dir is not None else [THEME_DIR]


def site_templates(templates_dir: Path | None, content_dir: Path) -> Path | None:
    """The site's own templates folder, which overrides the built-in theme file by file:
    ``--templates`` when given, else ``templates/`` beside the content folder if there is one."""
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise ContentError([problem(templates_dir, "templates folder not found (leave out "
                                        "--templates to use the built-in theme)")])
        return templates_dir
    beside = content_dir.absolute().parent / "templates"
    return beside if beside.is_dir() else None


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """Templates from ``templates_dir`` where it has them, otherwise from the built-in theme."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in template_folders(templates_dir)]),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(short_date=short_date, long_date=long_date, plain_date=plain_date,
                       month_name=month_name, count=count, plain_title=plain_title,
                       linkify=lambda text: Markup(linkify(text)), hint_terms=hint_terms,
                       inert=inert, snippet=snippet)
    env.globals.update(urls=urls, version=__version__, bibtex=citations.bibtex)
    return env


VAGUE_WORDS = {"various", "performance", "results", "method", "methods", "propose",
               "proposed", "approach", "based", "using", "show", "new", "novel", "task",
               "tasks", "model", "models", "paper", "work", "also", "however"}


INERT = str.maketrans({"<": "\uff1c", ">": "\uff1e", "&": "\uff06", '"': "\uff02",
                       "'": "\uff07"})


def inert(text: str) -> str:
    """Text for Pagefind's filters and metadata, which its UI puts into pages as HTML: the
    characters that could start markup or an entity become their full-width look-alikes."""
    return str(text).translate(INERT)


def hint_terms(terms: tuple[str, ...]) -> list[str]:
    """A related paper's shared terms as shown: no vague words ("performance various") and no
    plural of a term already shown ("gradient, gradients")."""
    shown: list[str] = []
    stems: set[str] = set()
    for term in terms:
        words = term.split()
        if any(word in VAGUE_WORDS for word in words):
            continue
        stem = " ".join(word[:-1] if word.endswith("s") and len(word) > 3 else word
                        for word in words)
        if stem not in stems:
            stems.add(stem)
            shown.append(term)
    return shown


CardKey = tuple[str, int, bool]  # paper id, heading level, whether the listing day shows
Card = tuple[str, ...]  # a card's HTML in the parts that go around the paper's abstract
StoredCard = tuple[str, Card]  # the fingerprint it was made from, the card
ABSTRACT = f"\ue002abstract-{secrets.token_hex(8)}\ue003"  # where the abstract goes in a card


PLAIN_ABSTRACT_RE = re.compile(r"\{\{\s*paper\.abstract_html\s*\|\s*safe\s*\}\}")


def abstract_shown_as_is(templates: TemplateKeys) -> bool:
    """Whether the card templates only ever print ``{{ paper.abstract_html|safe }}`` (so a
    marker in its place is the same as the abstract); a customised card that tests, cuts or
    filters the abstract keeps whole cards instead."""
    sources = [templates.source(name) for name in templates.names(CARD_TEMPLATE)]
    return all(source.count("abstract_html") == len(PLAIN_ABSTRACT_RE.findall(source))
               for source in sources)


class CardPaper:
    """A paper as a card template sees it, with a marker instead of its abstract's HTML: the
    card is kept without the abstract (which the paper holds anyway), in half the memory."""

    __slots__ = ("_paper",)

    def __init__(self, paper: Paper):
        self._paper = paper

    def __getattr__(self, name: str) -> Any:
        return ABSTRACT if name == "abstract_html" else getattr(self._paper, name)


class CardRenderer:
    """Renders each paper card once and places it on every page that lists it.

    A card is the same on every page except for its links, so it is rendered with
    ``FragmentLinks`` (a marker instead of the page's ``../../``) and the marker is replaced
    per page: listing pages cost string joins instead of template calls.  With a store
    (``use_store``), cards made by earlier builds are reused while their fingerprint (the
    card template, the site-wide values, the paper) is the same, and the new ones are kept
    in ``fresh`` for the next build.
    """

    def __init__(self, env: jinja2.Environment, shared: dict[str, Any],
                 templates: TemplateKeys | None = None):
        config = shared["config"]
        links = urls.FragmentLinks(config.base_url, config.base_path)
        self._module = env.get_template(CARD_TEMPLATE).make_module({**shared, "links": links})
        self._split = abstract_shown_as_is(templates or TemplateKeys(env))
        self._cards: dict[CardKey, Card] = {}
        self._stored: dict[CardKey, StoredCard] = {}
        self._salt = ""
        self.fresh: dict[CardKey, StoredCard] = {}

    def use_store(self, stored: dict[CardKey, StoredCard], salt: str) -> None:
        """Reuse ``stored`` cards made with this ``salt`` (what every card is made from)."""
        self._stored, self._salt = stored, salt

    def __call__(self, paper: Paper, links: urls.Links, level: int = 2,
                 show_day: bool = False) -> Markup:
        key = (paper.id, level, show_day)
        card = self._cards.get(key)
        if card is None:
            card = self._card(paper, key)
            self._cards[key] = card
        return Markup(urls.place_fragment(paper.abstract_html.join(card), links))

    def _card(self, paper: Paper, key: CardKey) -> Card:
        made_from = f"{self._salt}:{paper_key(paper)}"
        stored = self._stored.get(key)
        if stored is not None and stored[0] == made_from:
            return stored[1]
        shown = CardPaper(paper) if self._split else paper
        card = tuple(str(self._module.card(shown, level=key[1], show_day=key[2])).split(ABSTRACT))
        if self._salt:
            self.fresh[key] = (made_from, card)
        return card

    def take_fresh(self) -> dict[CardKey, StoredCard]:
        """The cards made since the last call (a render worker sends them to the build)."""
        fresh, self.fresh = self.fresh, {}
        return fresh

    def store(self, papers: dict[str, Paper]) -> dict[CardKey, StoredCard]:
        """The store for the next build: stored and fresh cards of the papers still there."""
        merged = {**self._stored, **self.fresh}
        return {key: card for key, card in merged.items() if key[0] in papers}


def site_globals(site: Site, env: jinja2.Environment,
                 templates: TemplateKeys | None = None) -> dict[str, Any]:
    """What every page may show besides its own context (kept small: it is in every page)."""
    shared: dict[str, Any] = {"config": site.config, "topic_titles": site.topic_titles()}
    shared["paper_card"] = CardRenderer(env, shared, templates)
    return shared


def render_page(env: jinja2.Environment, page: Page, shared: dict[str, Any]) -> str:
    config = shared["config"]
    links = urls.Links(page.path, config.base_url, config.base_path, rooted=page.rooted)
    template = env.get_template(page.template)
    return template.render(**shared, **page.context, page=page, links=links)
