"""Rendering pages, in worker processes when there are enough of them to pay off.

Workers are forked from the build, so they share the site model without pickling it;
each renders a slice of the pages and writes the files it changed straight into the
staging folder. Output bytes do not depend on how pages are split between workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_builder import urls
from site_builder.fingerprint import digest
from site_builder.pages import Page
from site_builder.render import RecordingEnvironment, render_page
from site_builder.store import News, Store
from site_builder.workers import can_fork, fork_map, worker_count
from site_builder.writer import Entry, SiteWriter, content_hash, replace_file

MIN_PAGES_PER_WORKER = 150  # below this, starting workers costs more than it saves


@dataclass
class RenderJob:
    env: RecordingEnvironment
    shared: dict[str, Any]
    pages: list[Page]
    keys: list[str]  # each page's own fingerprint and the values every template sees
    writer: SiteWriter
    store: Store | None = None  # what workers learn (paper cards) goes back to the build


@dataclass(frozen=True)
class Rendered:
    file: str  # output file (site path)
    entry: Entry
    written: bool  # False when the bytes equal what the staging folder already holds


def made_from(env: RecordingEnvironment, key: str, served: tuple[str, ...]) -> str:
    """A page's fingerprint: its own, and the templates the loader served while rendering."""
    return digest(key, env.templates_key(served))


def render_one(job: RenderJob, index: int) -> Rendered:
    page, env = job.pages[index], job.env
    env.recording = set()
    try:
        data = render_page(env, page, job.shared).encode("utf-8")
    finally:
        served, env.recording = tuple(sorted(env.recording or ())), None
    file = urls.output_file(page.path)
    digest_ = content_hash(data)
    same = job.writer.unchanged(file, digest_)
    stat = same.stat if same else replace_file(job.writer.staging / file, data)
    entry = Entry(made_from(env, job.keys[index], served), digest_, stat, served)
    return Rendered(file, entry, same is None)


def render_slice(job: RenderJob, indices: list[int]) -> tuple[list[Rendered], News | None]:
    """A worker's pages, and what its store learnt (the paper cards it made)."""
    rendered = [render_one(job, i) for i in indices]
    return rendered, job.store.take_news() if job.store is not None else None


def render_pages(job: RenderJob, jobs: int) -> list[Rendered]:
    """Render every page of the job, in order of the job's pages."""
    workers = min(worker_count(jobs), len(job.pages) // MIN_PAGES_PER_WORKER)
    if workers <= 1 or not can_fork():
        return [render_one(job, index) for index in range(len(job.pages))]
    slices = [list(range(start, len(job.pages), workers * 4)) for start in range(workers * 4)]
    parts = fork_map(render_slice, job, slices, workers)
    results: list[Rendered | None] = [None] * len(job.pages)
    for indices, (part, news) in zip(slices, parts, strict=True):
        if job.store is not None and news is not None:
            job.store.absorb(news)
        for index, rendered in zip(indices, part, strict=True):
            results[index] = rendered
    return [r for r in results if r is not None]


MIN_FILES_PER_WORKER = 1000  # parsing: below this, starting workers costs more than it saves


@dataclass(frozen=True)
class Parsed:
    path: str
    paper: Any
    markup: list[str]  # title HTML, abstract HTML, plain summary
    topics: list[str]  # topics its keywords match


def parse_slice(work: tuple[list[tuple[str, Any]], list[tuple[str, list[str]]]],
                indices: list[int]) -> list[Parsed]:
    """Parse paper files, render their Markdown and match topic keywords; files with problems
    are left out (the serial loader reads them again and reports every problem)."""
    from site_builder.content import load_paper
    from site_builder.errors import Problems
    from site_builder.markup import MarkupRenderer
    from site_builder.model import matching_topics, topic_text

    files, rules = work
    renderer = MarkupRenderer()
    parsed = []
    for index in indices:
        path, day = files[index]
        problems = Problems()
        paper = load_paper(Path(path), day, problems)
        if paper is None or problems:
            continue
        markup = [renderer.inline(paper.title), *renderer.block_and_plain(paper.abstract)]
        parsed.append(Parsed(path, paper, markup,
                             list(matching_topics(topic_text(paper), rules))))
    return parsed


def parse_papers(files: list[tuple[str, Any]], rules: list[tuple[str, list[str]]],
                 jobs: int) -> list[Parsed]:
    """Parse many paper files (path, listing day) in worker processes; [] when not worth it."""
    workers = min(worker_count(jobs), len(files) // MIN_FILES_PER_WORKER)
    if workers <= 1 or not can_fork():
        return []
    slices = [list(range(start, len(files), workers)) for start in range(workers)]
    parts = fork_map(parse_slice, (files, rules), slices, workers)
    return [item for part in parts for item in part]
