"""The build pipeline: load -> model -> outputs -> render what is stale -> sync.

Builds are incremental and atomic. The store (``store.py``) remembers what earlier builds
computed and the manifest of the output they made (``writer.Entry``: what each file is made
from, its hash and stat); the staging folder starts as hard links to the previous output,
only outputs made from something new are made, only files whose bytes changed are written,
and the staging folder replaces the output in one step at the end (``sync``). The result is
byte for byte what a clean build (``--clean``) of the same inputs makes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from site_builder import urls
from site_builder.cache import (
    PaperMemo,
    known_file_hash,
    scan_inputs,
    scan_output,
    spare_folder,
    store_file,
)
from site_builder.citations import planned_bib_files
from site_builder.config import SiteConfig, load_config
from site_builder.content import Content, load_content, load_topics, parse_day
from site_builder.errors import Problems
from site_builder.feeds import planned_feeds
from site_builder.fingerprint import Fingerprinter, builder_key, digest
from site_builder.linkcheck import require_links
from site_builder.model import (
    Memo,
    Site,
    build_site,
    no_memo,
    text_key,
    topic_rules,
    topic_rules_key,
)
from site_builder.outputs import fixed, produce, update_search
from site_builder.pages import Page, site_pages
from site_builder.parallel import (
    MIN_FILES_PER_WORKER,
    RenderJob,
    made_from,
    parse_papers,
    render_pages,
)
from site_builder.publishing import publishing_files
from site_builder.render import (
    THEME_DIR,
    RecordingEnvironment,
    make_environment,
    site_globals,
    site_templates,
    template_folders,
)
from site_builder.store import Store
from site_builder.writer import (
    Manifest,
    SiteWriter,
    lock_parent,
    manifest_from_data,
    manifest_to_data,
    remove_leftovers,
    unlock,
)

OUTPUT_UMASK = 0o022  # a web server running as another user must be able to read the site
RECORD = ("last build",)  # the store's record of the output it made: inputs, manifest, search


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


def load_site(content_dir: Path, base_url: str | None = None, papers: PaperMemo | None = None,
              memo: Memo = no_memo, jobs: int = 0,
              ) -> tuple[SiteConfig, Content, Site]:
    """Read and validate the content folder and turn it into the site model."""
    config = load_config(content_dir).with_base_url(base_url)
    content = load_content(content_dir, papers)
    return config, content, build_site(content, config, memo, jobs)


def parse_ahead(options: BuildOptions, papers: PaperMemo, store: Store) -> None:
    """Parse new and changed paper files (and render their Markdown) in worker processes,
    so the serial loader finds them ready; worth it for big first builds."""
    files = []
    for path in sorted((options.content_dir / "days").glob("*/*.md")):
        day = parse_day(path.parent.name)
        if (day is not None and path.name != "index.md" and path.is_file()
                and store.read("paper", papers.inputs(path, day)) is None):
            files.append((str(path), day))
    if len(files) < 2 * MIN_FILES_PER_WORKER:
        return
    rules = topic_rules(load_topics(options.content_dir / "topics", Problems()))
    for parsed in parse_papers(files, rules, options.jobs):
        papers.offer(Path(parsed.path), parsed.paper.day, parsed.paper)
        store.write("markup", (text_key(parsed.paper),), parsed.markup)
        store.write("topics", (topic_rules_key(rules), text_key(parsed.paper)), parsed.topics)


def input_folders(options: BuildOptions, own_templates: Path | None) -> dict[str, Path]:
    """Every folder a build reads, by a name that does not depend on where it is."""
    folders = {"content": options.content_dir, "theme": THEME_DIR}
    return {**folders, "templates": own_templates} if own_templates else folders


def options_key(options: BuildOptions, own_templates: Path | None) -> str:
    """What, besides the inputs, changes the output (or what a build checks)."""
    return digest(repr(options.base_url), repr(options.strict), repr(own_templates is None))


def up_to_date(record: dict, inputs: dict, option_key: str, output: dict) -> bool:
    """Nothing read has changed since the last build, whose output is there as it made it."""
    if record.get("inputs") != inputs or record.get("options") != option_key:
        return False
    files = record.get("manifest", {}).get("files", {})
    return bool(files) and len(files) == len(output) and all(
        tuple(entry[2]) == output.get(path) for path, entry in files.items())


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
    started, progress = time.perf_counter(), Progress(options.quiet)
    own_templates = site_templates(options.templates_dir, options.content_dir)
    progress.stage("reading content")
    inputs = scan_inputs(input_folders(options, own_templates))
    option_key = options_key(options, own_templates)
    store = Store(store_file(options.out_dir), builder_key(), clean=options.clean)
    record = store.read("build", RECORD) or {}
    output = scan_output(options.out_dir) if options.out_dir.is_dir() else {}
    if not options.clean and up_to_date(record, inputs, option_key, output):
        remove_leftovers(lock_target(options.out_dir))
        return finish(BuildReport(pages=record["pages"], files=len(output), unchanged=True),
                      started, progress, options)
    papers = PaperMemo(store, options.content_dir)
    parse_ahead(options, papers, store)
    _config, _content, site = load_site(options.content_dir, options.base_url, papers,
                                        store.memo, options.jobs)
    env = make_environment(own_templates)
    store.preload("card")  # render workers find the cards in memory
    shared = site_globals(site, env, store.memo)
    shared["paper_card"].made_from = Fingerprinter().globals_key(env.globals, shared)
    pages = site_pages(site)
    writer = SiteWriter(options.out_dir, manifest_from_data(record.get("manifest")),
                        spare_folder(options.out_dir), lock)
    try:
        writer.seed(None if options.clean else output)
        progress.stage("checking what changed")
        keys = page_keys(pages, shared["paper_card"].made_from)
        stale = stale_pages(writer, env, pages, keys)
        progress.stage(f"rendering {len(stale):,} of {len(pages):,} pages")
        job = RenderJob(env, shared, [pages[i] for i in stale], [keys[i] for i in stale],
                        writer, store)
        for rendered in render_pages(job, options.jobs):
            writer.record(rendered.file, rendered.entry, rendered.written)
        progress.stage("writing feeds")
        produce(writer, [*planned_feeds(site, env), *planned_bib_files(site, store.memo),
                         *fixed(publishing_files(site, pages))])
        writer.copy_tree([folder / "static" for folder in reversed(template_folders(
            own_templates))], urls.STATIC, lambda name, path: known_file_hash(
                store, f"static/{name}", path))
        writer.remove_stale({f for f in writer.staged if not f.startswith(urls.PAGEFIND)})
        progress.stage("indexing search")
        search = update_search(writer, pages, record.get("search"))
        if options.strict:
            progress.stage("checking links")
            require_links(writer.staging, site.config.base_url, options.out_dir)
        manifest = writer.sync()
    except BaseException:
        writer.abort()
        raise
    store.write("build", RECORD, {"inputs": inputs, "options": option_key, "pages": len(pages),
                                  "manifest": manifest_to_data(manifest), "search": search})
    store.save()
    return finish(report_of(manifest, writer, len(pages), len(stale), options.out_dir),
                  started, progress, options)


def page_keys(pages: list[Page], globals_key: str) -> list[str]:
    """Each page's own fingerprint with the values every template sees."""
    fingerprinter = Fingerprinter()
    return [digest(fingerprinter.page_key(page), globals_key) for page in pages]


def stale_pages(writer: SiteWriter, env: RecordingEnvironment, pages: list[Page],
                keys: list[str]) -> list[int]:
    """Claim every page's file; the indices of those not made from the same things as the
    file the staging folder holds (with the templates it was rendered with last time)."""
    stale = []
    for index, page in enumerate(pages):
        file = urls.output_file(page.path)
        writer.claim(file, page_source(page))
        entry = writer.previous.get(file)
        if entry is None or not writer.keep(file, made_from(env, keys[index], entry.served)):
            stale.append(index)
    return stale


def report_of(manifest: Manifest, writer: SiteWriter, pages: int, rendered: int,
              out_dir: Path) -> BuildReport:
    files = [path for path in manifest if not path.startswith(urls.PAGEFIND)]
    return BuildReport(pages=pages, rendered=rendered, files=len(files),
                       written=writer.written, bytes_written=writer.bytes_written,
                       out_dir=out_dir, output_files=len(manifest),
                       output_bytes=sum(entry.stat[1] for entry in manifest.values()))


def page_source(page: Page) -> str:
    """What a page is made from, for the writer's message when two pages claim one path."""
    for value in page.context.values():
        source = getattr(value, "source", "") or getattr(getattr(value, "topic", None),
                                                         "source", "")
        if source:
            return f"{page.template} for {source}"
    return f"{page.template} ({page.title or page.path})"


def finish(report: BuildReport, started: float, progress: Progress,
           options: BuildOptions) -> BuildReport:
    report.seconds = time.perf_counter() - started
    progress.done()
    if not options.quiet:
        print(report.summary(), file=sys.stderr)
    return report


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
