"""The Jinja2 environment, its filters, and rendering one page to HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from site_builder import __version__, urls
from site_builder.dates import count, long_date, month_name, plain_date, short_date
from site_builder.model import Site
from site_builder.pages import Page


def make_environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(short_date=short_date, long_date=long_date, plain_date=plain_date,
                       month_name=month_name, count=count)
    env.globals.update(urls=urls, version=__version__)
    return env


def site_globals(site: Site) -> dict[str, Any]:
    """What every page may show besides its own context (kept small: it is in every page)."""
    return {"config": site.config, "topic_titles": site.topic_titles()}


def render_page(env: jinja2.Environment, page: Page, shared: dict[str, Any]) -> str:
    config = shared["config"]
    links = urls.Links(page.path, config.base_url, config.base_path, rooted=page.rooted)
    template = env.get_template(page.template)
    return template.render(**shared, **page.context, page=page, links=links)
