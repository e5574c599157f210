"""The build pipeline: read -> validate -> model -> render -> write, in that order.

Builds are incremental and atomic. The cache (``cache.py``) remembers what the previous
build read and wrote; the staging folder starts as hard links to the previous output,
only pages whose fingerprint changed are rendered, only files whose bytes changed are
written, and the staging folder replaces the output in one step at the end. The result is
byte for byte what a clean build (``--clean``) of the same inputs makes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from site_builder import search, urls
from site_builder.cache import (
    BuildState,
    PaperMemo,
    cache_folder,
    forget_state,
    load_cards,
    load_state,
    save_cards,
    save_state,
    scan_inputs,
    scan_output,
    spare_folder,
    trusted_files,
)
from site_builder.citations import planned_bib_files
from site_builder.config import SiteConfig, load_config
from site_builder.content import Content, load_content, load_topics, parse_day
from site_builder.errors import Problems
from site_builder.feeds import PlannedFeed, planned_feeds
from site_builder.fingerprint import Fingerprinter, TemplateKeys, builder_key, digest
from site_builder.linkcheck import require_links
from site_builder.model import RULES_KEY, Site, build_site, text_key, topic_rules
from site_builder.pages import Page, site_pages
from site_builder.parallel import (
    MIN_FILES_PER_WORKER,
    RenderJob,
    parse_papers,
    render_pages,
)
from site_builder.publishing import publishing_files
from site_builder.render import (
    CARD_TEMPLATE,
    CardRenderer,
    make_environment,
    site_globals,
    site_templates,
    template_folders,
)
from site_builder.writer import SiteWriter, lock_parent, remove_leftovers, unlock

OUTPUT_UMASK = 0o022  # a web server running as another user must be able to read the site


@dataclass(frozen=True)
class BuildOptions:
    content_dir: Path = Path("content")
    templates_dir: Path | None = None  # the site's own templates; None: beside the content
    out_dir: Path = Path("output")
    base_url: str | None = None
    jobs: int = 0
    clean: bool = False
    quiet: bool = False
    strict: bool = False


@dataclass
class BuildReport:
    pages: int = 0
    rendered: int = 0
    files: int = 0
    written: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    unchanged: bool = False  # nothing to do: the output was already up to date
    out_dir: Path | None = None  # the output folder, for the summary's "how to look at it"
    output_files: int = 0  # every file in it, the search index too
    output_bytes: int = 0

    def summary(self) -> str:
        if self.unchanged:
            return f"nothing changed: output is up to date ({self.seconds:.2f}s)"
        skipped = self.pages - self.rendered
        line = (f"built {self.pages:,} pages ({self.rendered:,} rendered, {skipped:,} "
                f"unchanged), {self.files:,} files ({self.written:,} written, "
                f"{self.bytes_written / 1e6:.1f} MB) in {self.seconds:.2f}s")
        if self.out_dir:
            line += (f"\n{self.output_files:,} files, {self.output_bytes / 1e6:.1f} MB in "
                     f"{self.out_dir}/ (search index included). To look at it, run "
                     f"site-builder serve --out {self.out_dir} and open "
                     f"the address it prints")
        return line


class Progress:
    """One line per stage on a terminal; nothing otherwise (the summary line follows)."""

    def __init__(self, quiet: bool):
        self.live = not quiet and sys.stderr.isatty()
        self.started = time.perf_counter()

    def stage(self, message: str) -> None:
        if self.live:
            elapsed = time.perf_counter() - self.started
            sys.stderr.write(f"\r\033[K[{elapsed:5.1f}s] {message}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def load_site(content_dir: Path, base_url: str | None = None, memo: PaperMemo | None = None,
              cache_dir: Path | None = None, state: BuildState | None = None, jobs: int = 0,
              ) -> tuple[SiteConfig, Content, Site]:
    """Read and validate the content folder and turn it into the site model."""
    config = load_config(content_dir).with_base_url(base_url)
    content = load_content(content_dir, memo)
    if state is None:
        return config, content, build_site(content, config, cache_dir, jobs=jobs)
    return config, content, build_site(content, config, cache_dir, state.markup, state.topics,
                                       jobs)


def parse_ahead(options: BuildOptions, inputs: dict[str, tuple[int, int]], memo: PaperMemo,
                state: BuildState) -> None:
    """Parse new and changed paper files (and render their Markdown) in worker processes,
    so the serial loader finds them ready; worth it for big first builds."""
    days_prefix = str(options.content_dir / "days") + os.sep
    files = []
    for path, stat in inputs.items():
        if not path.startswith(days_prefix) or not path.endswith(".md"):
            continue
        folder, _sep, name = path[len(days_prefix):].partition(os.sep)
        day = parse_day(folder)
        known = state.papers.get(path)
        if day is None or name == "index.md" or os.sep in name or (known and known[:2] == stat):
            continue
        files.append((path, day))
    if len(files) < 2 * MIN_FILES_PER_WORKER:
        return
    rules = topic_rules(load_topics(options.content_dir / "topics", Problems()))
    if state.topics.get(RULES_KEY) != (repr(rules),):
        state.topics.clear()
        state.topics[RULES_KEY] = (repr(rules),)
    for parsed in parse_papers(sorted(files), rules, options.jobs):
        memo.offer(parsed.path, parsed.paper)
        state.markup[text_key(parsed.paper)] = parsed.markup
        state.topics[text_key(parsed.paper)] = parsed.topics


def options_key(options: BuildOptions, config: SiteConfig, templates: Path | None) -> str:
    """What, besides the inputs, makes every output different: the cache is per this key."""
    return digest(config.base_url, str(options.content_dir.resolve()),
                  *(str(folder.resolve()) for folder in template_folders(templates)),
                  repr(options.strict))


def output_matches(out_dir: Path, state: BuildState) -> bool:
    """The output folder holds exactly what the last build wrote (same files, same stats)."""
    return bool(state.output) and out_dir.is_dir() and scan_output(out_dir) == state.output


def dirty_pages(pages: list[Page], fingerprints: list[str], state: BuildState,
                trusted: dict[str, str]) -> list[int]:
    """Indices of the pages whose inputs changed, or whose file is not as last built."""
    dirty = []
    for index, (page, key) in enumerate(zip(pages, fingerprints, strict=True)):
        file = urls.output_file(page.path)
        if file not in trusted or state.pages.get(file) != key:
            dirty.append(index)
    return dirty


def update_search(writer: SiteWriter, pages: list[Page], state: BuildState) -> None:
    """Bring the search index up to date (``search.update`` owns ``pagefind/``) and tell the
    writer which folders it made afresh."""
    record = search.update(writer.staging, search_pages(pages, writer.files),
                           state.extras.get("search"))
    writer.changes.replaced.extend(record["rewritten"])
    state.extras["search"] = record


def search_pages(pages: list[Page], files: dict[str, str]) -> dict[str, search.PaperPage]:
    """Every paper page: its listing month (one search index each) and its bytes' hash."""
    found = {}
    for page in pages:
        if page.path.startswith(urls.PAPERS) and "paper" in page.context:
            file = urls.output_file(page.path)
            found[file] = search.PaperPage(page.context["paper"].day.strftime("%Y-%m"),
                                           files[file])
    return found


def build(options: BuildOptions) -> BuildReport:
    """Build the site into ``options.out_dir``; nothing is written if anything fails.

    The lock is taken first: two builds of one output take turns for the whole build, so the
    up-to-date check never looks at an output another build is about to replace."""
    umask = os.umask(OUTPUT_UMASK)  # files 0644, folders 0755, whatever the user's umask
    try:
        lock = lock_parent(lock_target(options.out_dir))
        try:
            return build_locked(options, lock)
        finally:
            unlock(lock)
    finally:
        os.umask(umask)


def lock_target(out_dir: Path) -> Path:
    """The folder whose parent the writer locks (a linked output is replaced where it is)."""
    return out_dir.resolve() if out_dir.is_symlink() else out_dir


def build_locked(options: BuildOptions, lock: int | None) -> BuildReport:
    started = time.perf_counter()
    progress = Progress(options.quiet)
    own_templates = site_templates(options.templates_dir, options.content_dir)
    progress.stage("reading content")
    config = load_config(options.content_dir).with_base_url(options.base_url)
    builder, option_key = builder_key(), options_key(options, config, own_templates)
    state = (BuildState(builder, option_key) if options.clean
             else load_state(options.out_dir, builder, option_key))
    inputs = scan_inputs(options.content_dir, *template_folders(own_templates))
    if (not options.clean and state.inputs == inputs
            and output_matches(options.out_dir, state)):
        remove_leftovers(lock_target(options.out_dir))
        report = BuildReport(seconds=time.perf_counter() - started, unchanged=True,
                             pages=len(state.pages), files=len(state.files))
        finish(report, progress, options)
        return report
    if options.clean:
        forget_state(options.out_dir)
    memo = PaperMemo(inputs, state.papers)
    parse_ahead(options, inputs, memo, state)
    cache_dir = cache_folder(options.out_dir) / f"{options.out_dir.resolve().name}.related"
    if options.clean:  # ignore what is cached, but leave a fresh cache for the next build
        shutil.rmtree(cache_dir, ignore_errors=True)
    _config, content, site = load_site(options.content_dir, options.base_url, memo,
                                       cache_dir, state, options.jobs)
    env = make_environment(own_templates)
    templates = TemplateKeys(env, state.templates)
    shared = site_globals(site, env, templates)
    pages = site_pages(site)
    report = BuildReport(pages=len(pages))
    writer = SiteWriter(options.out_dir, spare_folder(options.out_dir), lock)
    try:
        seeded = not options.clean and bool(state.files) and writer.seed(state.changes)
        staged = scan_output(writer.staging) if seeded else {}
        writer.previous = trusted_files(state, staged)
        progress.stage("checking what changed")
        fingerprinter = Fingerprinter(templates, shared_key(site, shared))
        fingerprints = [fingerprinter.page_key(page) for page in pages]
        for page in pages:
            writer.claim(urls.output_file(page.path), page_source(page))
        dirty = dirty_pages(pages, fingerprints, state, writer.previous)
        cards: CardRenderer = shared["paper_card"]
        card_salt = digest(builder, option_key, fingerprinter.templates[CARD_TEMPLATE],
                           fingerprinter.shared_key)
        if dirty:
            cards.use_store({} if options.clean else load_cards(options.out_dir, card_salt),
                            card_salt)
        progress.stage(f"rendering {len(dirty):,} of {len(pages):,} pages")
        job = RenderJob(env, shared, [pages[i] for i in dirty], writer.staging, writer.previous)
        rendered = {r.file: r for r in render_pages(job, options.jobs)}
        new_pages: dict[str, str] = {}
        for page, key in zip(pages, fingerprints, strict=True):
            file = urls.output_file(page.path)
            new_pages[file] = key
            if file in rendered:
                result = rendered[file]
                writer.record(file, result.hash, result.size, result.written)
            else:
                writer.files[file] = state.files[file]
        report.rendered = len(dirty)
        progress.stage("writing feeds")
        feeds = write_feeds(writer, planned_feeds(site, env) + planned_bib_files(site),
                            state.feeds)
        for output in publishing_files(site, pages):
            writer.write(output.path, output.data, output.source)
        static = [folder / "static" for folder in reversed(template_folders(own_templates))]
        writer.copy_tree(static, urls.STATIC)
        writer.remove_stale({f for f in staged if not f.startswith(urls.PAGEFIND)})
        progress.stage("indexing search")
        update_search(writer, pages, state)
        if options.strict:
            progress.stage("checking links")
            require_links(writer.staging, site.config.base_url, options.out_dir)
        output = writer.output_stats(staged)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    state.inputs, state.pages, state.files = inputs, new_pages, writer.files
    state.changes, state.feeds = writer.changes, feeds
    state.templates = templates.used
    state.output = output
    state.papers = memo.current
    keys = [text_key(paper) for paper in content.papers]
    state.markup = {key: state.markup[key] for key in keys if key in state.markup}
    state.topics = {key: state.topics[key] for key in [RULES_KEY, *keys] if key in state.topics}
    save_state(options.out_dir, state)
    if cards.fresh:
        save_cards(options.out_dir, card_salt, cards.store(site.papers))
    report.files, report.written = len(writer.files), writer.written
    report.bytes_written = writer.bytes_written
    report.out_dir = options.out_dir
    report.output_files = len(output)
    report.output_bytes = sum(stat[1] for stat in output.values())
    report.seconds = time.perf_counter() - started
    finish(report, progress, options)
    return report


def write_feeds(writer: SiteWriter, feeds: list[PlannedFeed],
                previous: dict[str, str]) -> dict[str, str]:
    """Write the feeds made from something new; keep the others.  Returns what each feed
    file was made from, for the next build."""
    made_from = {}
    for feed in feeds:
        if not (feed.key and previous.get(feed.path) == feed.key
                and writer.keep(feed.path, feed.source)):
            writer.write(feed.path, feed.make(), feed.source)
        made_from[feed.path] = feed.key
    return made_from


def page_source(page: Page) -> str:
    """What a page is made from, for the writer's message when two pages claim one path."""
    for value in page.context.values():
        source = getattr(value, "source", "") or getattr(getattr(value, "topic", None),
                                                         "source", "")
        if source:
            return f"{page.template} for {source}"
    return f"{page.template} ({page.title or page.path})"


def shared_key(site: Site, shared: dict) -> str:
    """The fingerprint of what every page sees besides its own context."""
    return digest(repr(site.config), repr(sorted(site.topic_titles().items())))


def finish(report: BuildReport, progress: Progress, options: BuildOptions) -> None:
    progress.done()
    if not options.quiet:
        print(report.summary(), file=sys.stderr)


def check(content_dir: Path, templates_dir: Path | None = None, strict: bool = False) -> Site:
    """Validate content (raises ContentError listing every problem).

    With ``strict``, also build the site into a temporary folder and check its links there,
    so a broken link fails ``check`` without touching the real output.
    """
    if strict:
        with tempfile.TemporaryDirectory(prefix="site-builder-check-") as tmp:
            build(BuildOptions(content_dir, templates_dir, Path(tmp) / "output",
                               quiet=True, strict=True))
    return load_site(content_dir)[2]
