"""The build pipeline: read -> validate -> model -> render -> write, in that order."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from site_builder import urls
from site_builder.config import SiteConfig, load_config
from site_builder.content import Content, load_content
from site_builder.errors import ContentError, problem
from site_builder.feeds import feed_files
from site_builder.linkcheck import require_links
from site_builder.model import Site, build_site
from site_builder.pages import site_pages
from site_builder.publishing import publishing_files
from site_builder.render import make_environment, render_page, site_globals
from site_builder.search import index_site
from site_builder.writer import SiteWriter


@dataclass(frozen=True)
class BuildOptions:
    content_dir: Path = Path("content")
    templates_dir: Path = Path("templates")
    out_dir: Path = Path("output")
    base_url: str | None = None
    jobs: int = 0
    clean: bool = False
    quiet: bool = False
    strict: bool = False


@dataclass
class BuildReport:
    pages: int = 0
    files: int = 0
    bytes_written: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"built {self.pages:,} pages, {self.files:,} files "
                f"({self.bytes_written / 1e6:.1f} MB) in {self.seconds:.2f}s")


def load_site(content_dir: Path, base_url: str | None = None) -> tuple[SiteConfig, Content, Site]:
    """Read and validate the content folder and turn it into the site model."""
    config = load_config(content_dir).with_base_url(base_url)
    content = load_content(content_dir)
    return config, content, build_site(content, config)


def check_templates(templates_dir: Path) -> None:
    if not (templates_dir / "base.html").is_file():
        raise ContentError([problem(templates_dir, "templates folder not found or has no "
                                    "base.html (use --templates to point at it)")])


def build(options: BuildOptions) -> BuildReport:
    """Build the whole site into ``options.out_dir``; nothing is written if anything fails."""
    started = time.perf_counter()
    check_templates(options.templates_dir)
    _config, _content, site = load_site(options.content_dir, options.base_url)
    env = make_environment(options.templates_dir)
    shared = site_globals(site, env)
    pages = site_pages(site)
    writer = SiteWriter(options.out_dir)
    try:
        for page in pages:
            writer.write(urls.output_file(page.path), render_page(env, page, shared), page.template)
        for output in [*feed_files(site, env), *publishing_files(site, pages)]:
            writer.write(output.path, output.data, output.source)
        writer.copy_tree(options.templates_dir / "static", urls.STATIC)
        index_site(writer.staging)
        if options.strict:
            require_links(writer.staging, site.config.base_url, options.out_dir)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    report = BuildReport(len(pages), writer.files_written, writer.bytes_written,
                         time.perf_counter() - started)
    if not options.quiet:
        print(report.summary(), file=sys.stderr)
    return report


def check(content_dir: Path, templates_dir: Path = Path("templates"), strict: bool = False) -> Site:
    """Validate content (raises ContentError listing every problem).

    With ``strict``, also build the site into a temporary folder and check its links there,
    so a broken link fails ``check`` without touching the real output.
    """
    if strict:
        with tempfile.TemporaryDirectory(prefix="site-builder-check-") as tmp:
            build(BuildOptions(content_dir, templates_dir, Path(tmp) / "output",
                               quiet=True, strict=True))
    return load_site(content_dir)[2]
