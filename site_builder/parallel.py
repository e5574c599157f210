"""Rendering pages, in worker processes when there are enough of them to pay off.

Workers are forked from the build, so they share the site model without pickling it;
each renders a slice of the pages and writes the files it changed straight into the
staging folder. Output bytes do not depend on how pages are split between workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from site_builder import urls
from site_builder.pages import Page
from site_builder.render import render_page
from site_builder.workers import can_fork, fork_map, worker_count
from site_builder.writer import content_hash, replace_file

MIN_PAGES_PER_WORKER = 150  # below this, starting workers costs more than it saves


@dataclass
class RenderJob:
    env: jinja2.Environment
    shared: dict[str, Any]
    pages: list[Page]
    staging: Path
    previous: dict[str, str]  # output file -> hash of the bytes the last build wrote


@dataclass(frozen=True)
class Rendered:
    file: str  # output file (site path)
    hash: str
    size: int
    written: bool  # False when the bytes equal what the staging folder already holds


def render_one(job: RenderJob, page: Page) -> Rendered:
    data = render_page(job.env, page, job.shared).encode("utf-8")
    file = urls.output_file(page.path)
    digest = content_hash(data)
    target = job.staging / file
    if job.previous.get(file) == digest and target.is_file():
        return Rendered(file, digest, len(data), False)
    replace_file(target, data)
    return Rendered(file, digest, len(data), True)


def render_slice(job: RenderJob, indices: list[int]) -> tuple[list[Rendered], dict]:
    """A worker's pages, and the paper cards it made for them (for the build's card store)."""
    rendered = [render_one(job, job.pages[i]) for i in indices]
    return rendered, job.shared["paper_card"].take_fresh()


def render_pages(job: RenderJob, jobs: int) -> list[Rendered]:
    """Render every page of the job, in order of the job's pages."""
    workers = min(worker_count(jobs), len(job.pages) // MIN_PAGES_PER_WORKER)
    if workers <= 1 or not can_fork():
        return [render_one(job, page) for page in job.pages]
    slices = [list(range(start, len(job.pages), workers * 4)) for start in range(workers * 4)]
    parts = fork_map(render_slice, job, slices, workers)
    results: list[Rendered | None] = [None] * len(job.pages)
    for indices, (part, cards) in zip(slices, parts, strict=True):
        job.shared["paper_card"].fresh.update(cards)
        for index, rendered in zip(indices, part, strict=True):
            results[index] = rendered
    return [r for r in results if r is not None]


MIN_FILES_PER_WORKER = 1000  # parsing: below this, starting workers costs more than it saves


@dataclass(frozen=True)
class Parsed:
    path: str
    paper: Any
    markup: tuple[str, str, str]  # title HTML, abstract HTML, plain summary
    topics: tuple[str, ...]  # topics its keywords match


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
        markup = (renderer.inline(paper.title), *renderer.block_and_plain(paper.abstract))
        parsed.append(Parsed(path, paper, markup, matching_topics(topic_text(paper), rules)))
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
