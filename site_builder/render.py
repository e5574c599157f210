"""The Jinja2 environment, its filters, and rendering one page to HTML."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from site_builder import __version__, citations, urls
from site_builder.content import Paper
from site_builder.dates import count, long_date, month_name, plain_date, short_date
from site_builder.errors import ContentError, problem
from site_builder.fingerprint import digest, paper_key
from site_builder.markup import linkify, plain_title, snippet
from site_builder.model import Site
from site_builder.pages import Page

CARD_TEMPLATE = "_paper.html"  # its ``card`` macro is every listing's paper card
Memo = Callable[[str, tuple[str, ...], Callable[[], Any]], Any]  # store.Store.memo


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


def make_environment(templates_dir: Path | None = None) -> RecordingEnvironment:
    """Templates from ``templates_dir`` where it has them, otherwise from the built-in theme."""
    env = RecordingEnvironment(
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


class RecordingEnvironment(jinja2.Environment):
    """Notes every template it hands out (a page, what it extends, includes or imports, by
    a constant name or not) while ``recording`` is a set: what an output was made from."""

    recording: set[str] | None = None

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:  # noqa: A002
        template = super()._load_template(name, globals)
        if self.recording is not None:
            self.recording.add(template.name or name)
        return template

    def source_key(self, name: str) -> str:
        """The hash of the template the loader serves under ``name`` now."""
        keys: dict[str, str] = self.__dict__.setdefault("_source_keys", {})
        if name not in keys:
            assert self.loader is not None
            try:
                source = self.loader.get_source(self, name)[0]
            except jinja2.TemplateNotFound:
                source = "\0missing"
            keys[name] = digest(name, source)
        return keys[name]

    def templates_key(self, names: Iterable[str]) -> str:
        return digest(*(self.source_key(name) for name in sorted(names)))


class CardRenderer:
    """Renders each paper card once and places it on every page that lists it.

    A card is the same on every page except for its links, so it is rendered with
    ``FragmentLinks`` (a marker instead of the page's ``../../``) and the marker is replaced
    per page: listing pages cost string joins instead of template calls.  With the build's
    store (``memo``) cards are kept between builds without the abstract (the paper holds
    it), made from the templates they were rendered with, the values every template sees
    (``made_from``) and the paper; the templates a card used count as served to every page
    that shows it.
    """

    def __init__(self, env: RecordingEnvironment, shared: dict[str, Any],
                 memo: Memo | None = None):
        config = shared["config"]
        links = urls.FragmentLinks(config.base_url, config.base_path)
        self._env = env
        env.recording = set()
        try:
            self._module = env.get_template(CARD_TEMPLATE).make_module(
                {**shared, "links": links})
        finally:
            self._served, env.recording = tuple(sorted(env.recording)), None
        self._memo = memo
        self._cards: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        self.made_from = ""  # the values every template sees (set by the build)

    def __call__(self, paper: Paper, links: urls.Links, *args: Any, **kwargs: Any) -> Markup:
        arguments = repr((args, sorted(kwargs.items())))
        card = self._cards.get((paper.id, arguments))
        if card is None:
            card = self._cards[(paper.id, arguments)] = self._card(paper, args, kwargs)
        parts, served = card
        if self._env.recording is not None:
            self._env.recording.update(self._served, served)
        return Markup(urls.place_fragment(paper.abstract_html.join(parts), links))

    def _card(self, paper: Paper, args: tuple, kwargs: dict) -> tuple[list[str], list[str]]:
        if self._memo is None:
            return self.render_card(paper, args, kwargs)[:2]
        inputs = (self._env.templates_key(self._served), self.made_from, paper_key(paper),
                  repr((args, sorted(kwargs.items()))))
        parts, served, key = self._memo("card", inputs,
                                        lambda: list(self.render_card(paper, args, kwargs)))
        if key == self._env.templates_key(served):
            return parts, served
        # a template the card used when it was kept has changed since: make it again
        parts, served, key = self._memo("card", (*inputs, self._env.templates_key(served)),
                                        lambda: list(self.render_card(paper, args, kwargs)))
        return parts, served

    def render_card(self, paper: Paper, args: tuple, kwargs: dict
                    ) -> tuple[list[str], list[str], str]:
        """The card's HTML split around the abstract (whole unless the template shows it
        once as it is), the templates the call used, and their key."""
        outer, self._env.recording = self._env.recording, set()
        try:
            html = str(self._module.card(paper, *args, **kwargs))
        finally:
            served, self._env.recording = sorted(self._env.recording or ()), outer
        abstract = paper.abstract_html
        parts = html.split(abstract) if abstract and html.count(abstract) == 1 else [html]
        return parts, served, self._env.templates_key(served)


def site_globals(site: Site, env: RecordingEnvironment,
                 memo: Memo | None = None) -> dict[str, Any]:
    """What every page may show besides its own context (kept small: it is in every page)."""
    shared: dict[str, Any] = {"config": site.config, "topic_titles": site.topic_titles()}
    if memo is not None:  # each paper's entry is made once, for its page and .bib files
        shared["bibtex"] = citations.remembered(memo)
    shared["paper_card"] = CardRenderer(env, shared, memo)
    return shared


def render_page(env: jinja2.Environment, page: Page, shared: dict[str, Any]) -> str:
    config = shared["config"]
    links = urls.Links(page.path, config.base_url, config.base_path, rooted=page.rooted)
    template = env.get_template(page.template)
    return template.render(**shared, **page.context, page=page, links=links)
