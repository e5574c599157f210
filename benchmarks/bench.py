"""Build benchmark: clean build, no-op rebuild, +1 day, template edit, memory, bytes.

    python benchmarks/bench.py --papers 10000 [--papers 100000] [--no-record] [--keep DIR]

For each size it generates the deterministic synthetic corpus of ``benchmarks/corpus.py``
(JSON Lines, ~40 papers a listing day, 40 topics), holds back the last two days, imports
the rest with ``site-builder import``, and then times, each in a fresh process:

1. a clean build (``--clean``: no cache);
2. a no-op rebuild (nothing changed);
3. +1 day right after the clean build (the first held-back day imported, then built);
4. +1 day, the daily case: the next day imported and built after a build that was itself
   incremental (each build starts from the output before the last one, kept as a spare,
   which a clean build does not leave), checked byte for byte against a clean build of the
   same content;
5. a template-change rebuild (``paper.html`` edited: only paper pages re-render).

Peak memory is the largest resident set of the build process and its render workers
(``resource.getrusage``). The search index (Pagefind) is measured separately: it indexes
every paper page whenever one changes, so it is reported as its own column. Results are
printed as a table and appended to ``benchmarks/RESULTS.md`` with the machine description.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.corpus import generate, write_jsonl, write_topics  # noqa: E402
from benchmarks.machine import describe as describe_machine  # noqa: E402
from tests.trees import tree_differences  # noqa: E402

STEP_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
from site_builder.build import BuildOptions, build
content, templates, out, clean = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
started = time.perf_counter()
report = build(BuildOptions(Path(content), Path(templates), Path(out), clean=clean, quiet=True))
seconds = time.perf_counter() - started
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": seconds, "peak_kb": peak, "pages": report.pages,
                  "rendered": report.rendered, "files": report.files,
                  "written": report.written, "bytes": report.bytes_written}))
"""


@dataclass
class Step:
    seconds: float
    peak_mb: float
    pages: int
    rendered: int
    files: int
    written: int
    bytes: int


def run_step(content: Path, templates: Path, out: Path, clean: bool,
             search: bool = False) -> Step:
    env = dict(os.environ)
    if not search:
        env["SITE_BUILDER_PAGEFIND"] = "off"
    result = subprocess.run(
        [sys.executable, "-c", STEP_SCRIPT, str(content), str(templates), str(out),
         "1" if clean else "0"],
        capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if result.returncode != 0:
        raise SystemExit(f"build failed:\n{result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Step(data["seconds"], data["peak_kb"] / 1024, data["pages"], data["rendered"],
                data["files"], data["written"], data["bytes"])


PART_SIZE = 15_000  # papers per JSONL file: importers refuse sources over 50 MB


def write_parts(records: list[dict], folder: Path, name: str) -> list[Path]:
    """The records as JSONL files of at most PART_SIZE papers each."""
    parts = []
    for start in range(0, len(records), PART_SIZE):
        path = folder / f"{name}-{start // PART_SIZE:03d}.jsonl"
        write_jsonl(records[start:start + PART_SIZE], path)
        parts.append(path)
    return parts


def import_jsonl(paths: list[Path], content: Path) -> float:
    """Import every part in one call (one transaction), as a user would."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "site_builder", "import", *map(str, paths),
                             "--content", str(content), "--format", "jsonl"],
                            capture_output=True, text=True, cwd=REPO, check=False)
    if result.returncode != 0:
        raise SystemExit(f"import failed:\n{result.stderr}")
    return time.perf_counter() - started


def bench(papers: int, workdir: Path, with_search: bool) -> dict:
    records = generate(papers)
    days = sorted({r["listed"] for r in records})
    first_day, last_day = days[-2], days[-1]  # held back, added one build at a time
    base = [r for r in records if r["listed"] < first_day]
    content = workdir / "content"
    write_topics(content)
    corpus = write_parts(base, workdir, "corpus")
    day_before = write_parts([r for r in records if r["listed"] == first_day], workdir,
                             "day-before")
    new_day = write_parts([r for r in records if r["listed"] == last_day], workdir, "new-day")
    templates = workdir / "templates"
    shutil.copytree(REPO / "templates", templates)
    out = workdir / "output"
    results: dict[str, object] = {"papers": papers, "days": len({r["listed"] for r in records})}
    results["import_s"] = import_jsonl(corpus, content)
    results["clean"] = run_step(content, templates, out, clean=True)
    results["noop"] = run_step(content, templates, out, clean=False)
    import_jsonl(day_before, content)
    results["first_day"] = run_step(content, templates, out, clean=False)
    import_jsonl(new_day, content)
    results["new_day"] = run_step(content, templates, out, clean=False)
    reference = workdir / "reference"
    results["new_day_clean"] = run_step(content, templates, reference, clean=True)
    results["identical"] = tree_differences(out, reference)
    paper_template = templates / "paper.html"
    paper_template.write_text(paper_template.read_text() + "{# edited #}\n")
    results["template"] = run_step(content, templates, out, clean=False)
    if with_search:
        # one clean build with the Pagefind index, to show what search costs on its own
        started = time.perf_counter()
        run_step(content, templates, workdir / "with-search", clean=True, search=True)
        results["search_build_s"] = time.perf_counter() - started
    return results


def table(rows: list[dict]) -> str:
    lines = [
        "| papers | import | clean build | no-op | +1 day | +1 day right after a clean build "
        "| template edit | peak memory | pages | output | +1 day = clean "
        "| clean build with search |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        clean, noop, day, tmpl = r["clean"], r["noop"], r["new_day"], r["template"]
        first = r["first_day"]
        peak = max(clean.peak_mb, noop.peak_mb, first.peak_mb, day.peak_mb, tmpl.peak_mb)
        same = "yes" if not r["identical"] else f"NO ({len(r['identical'])} files differ)"
        search = f"{r['search_build_s']:.1f} s" if "search_build_s" in r else "not run"
        lines.append(
            f"| {r['papers']:,} | {r['import_s']:.1f} s | {clean.seconds:.2f} s "
            f"| {noop.seconds:.2f} s | {day.seconds:.2f} s ({day.rendered:,} pages rendered) "
            f"| {first.seconds:.2f} s ({first.rendered:,} pages rendered) "
            f"| {tmpl.seconds:.2f} s ({tmpl.rendered:,} pages rendered) | {peak:,.0f} MB "
            f"| {clean.pages:,} | {clean.bytes / 1e6:,.0f} MB in {clean.files:,} files "
            f"| {same} | {search} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, action="append",
                        help="corpus size (repeatable; default 10000)")
    parser.add_argument("--search", action="store_true",
                        help="also time a clean build with the Pagefind search index")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to benchmarks/RESULTS.md")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    rows = []
    for papers in args.papers or [10_000]:
        workdir = (args.keep / str(papers)) if args.keep else Path(tempfile.mkdtemp())
        if workdir.exists() and args.keep:
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            print(f"benchmarking {papers:,} papers in {workdir} ...", file=sys.stderr)
            rows.append(bench(papers, workdir, args.search))
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
    text = table(rows)
    print(text)
    for row in rows:
        if row["identical"]:
            print(f"+1 day output differs from a clean build: {row['identical'][:10]}",
                  file=sys.stderr)
    if not args.no_record:
        sizes = " ".join(f"--papers {r['papers']}" for r in rows)
        search = " --search" if args.search else ""
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as handle:
            handle.write(f"\n### {dt.date.today().isoformat()}: build benchmark\n\n"
                         f"Machine: {describe_machine()}  \n"
                         f"Command: `python benchmarks/bench.py {sizes}{search}`\n\n"
                         f"{text}\n")
    return 0 if all(not r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
