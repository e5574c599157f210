"""Build benchmark: clean build, no-op rebuild, +1 day, template edit, memory, bytes.

    python benchmarks/bench.py --papers 10000 [--papers 100000] [--search] [--compare hugo]
                               [--baseline REV] [--no-record] [--keep DIR]

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

These builds leave search out. With ``--search`` the same clean build and both +1 day
builds run again into a second output with the Pagefind index, the last one checked byte
for byte (index included) against a clean build with search; the index's own cost is the
difference between the two.

Peak memory is the largest resident set of the build process and its render workers
(``resource.getrusage``); output is every file of the clean build's output, added up.

``--baseline REV`` runs everything again, in the same run and on the same corpus, with the
builder of git revision REV (exported with ``git archive``), for before/after figures.
``--compare hugo`` builds the same corpus with Hugo (``benchmarks/hugo/``: our own minimal
site with the same kinds of pages) and prints our figures as ratios to Hugo's.

Results are printed as tables and appended to ``benchmarks/RESULTS.md`` with the machine.
The builds are driven only through ``build(BuildOptions(...))`` and the CLI.
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
from benchmarks.hugo.measure import HugoResult, folder_size  # noqa: E402
from benchmarks.hugo.measure import measure as measure_hugo  # noqa: E402
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


@dataclass(frozen=True)
class Tree:
    """A checkout of the builder to benchmark: this one, or a baseline revision."""

    label: str
    path: Path

    def env(self, search: bool) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.path)}
        if not search:
            env["SITE_BUILDER_PAGEFIND"] = "off"
        else:
            env.pop("SITE_BUILDER_PAGEFIND", None)
        return env


def run_step(tree: Tree, content: Path, templates: Path, out: Path, clean: bool,
             search: bool = False) -> Step:
    result = subprocess.run(
        [sys.executable, "-c", STEP_SCRIPT, str(content), str(templates), str(out),
         "1" if clean else "0"],
        capture_output=True, text=True, env=tree.env(search), cwd=tree.path, check=False)
    if result.returncode != 0:
        raise SystemExit(f"build failed ({tree.label}):\n{result.stderr}")
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


def import_jsonl(tree: Tree, paths: list[Path], content: Path) -> float:
    """Import every part in one call (one transaction), as a user would."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "site_builder", "import", *map(str, paths),
                             "--content", str(content), "--format", "jsonl"],
                            capture_output=True, text=True, cwd=tree.path, check=False,
                            env=tree.env(search=False))
    if result.returncode != 0:
        raise SystemExit(f"import failed ({tree.label}):\n{result.stderr}")
    return time.perf_counter() - started


@dataclass
class Corpus:
    papers: int
    base: list[dict]  # imported before the first build
    held_back: list[list[dict]]  # one listing day each, added one build at a time


def make_corpus(papers: int) -> Corpus:
    records = generate(papers)
    days = sorted({r["listed"] for r in records})
    held = days[-2:]
    return Corpus(papers, [r for r in records if r["listed"] < held[0]],
                  [[r for r in records if r["listed"] == day] for day in held])


def own_templates(folder: Path) -> Path:
    """An empty templates folder of the site's own (the built-in theme does the rest)."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def edit_paper_template(tree: Tree, templates: Path) -> None:
    """Override the theme's paper.html with an edited copy: only paper pages change."""
    theme = tree.path / "site_builder" / "theme" / "paper.html"
    (templates / "paper.html").write_text(theme.read_text("utf-8") + "{# edited #}\n",
                                          "utf-8")


def bench(corpus: Corpus, workdir: Path, tree: Tree, with_search: bool) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    content = workdir / "content"
    write_topics(content)
    parts = write_parts(corpus.base, workdir, "corpus")
    days = [write_parts(day, workdir, f"day-{n}") for n, day in enumerate(corpus.held_back)]
    templates = own_templates(workdir / "templates")
    out, searched = workdir / "output", workdir / "with-search"
    results: dict[str, object] = {"tree": tree.label, "papers": corpus.papers,
                                  "import_s": import_jsonl(tree, parts, content)}
    results["clean"] = run_step(tree, content, templates, out, clean=True)
    results["output"] = folder_size(out)
    results["noop"] = run_step(tree, content, templates, out, clean=False)
    if with_search:
        results["clean_search"] = run_step(tree, content, templates, searched, clean=True,
                                           search=True)
        results["output_search"] = folder_size(searched)
    for name, day in zip(("first_day", "new_day"), days, strict=True):
        import_jsonl(tree, day, content)
        results[name] = run_step(tree, content, templates, out, clean=False)
        if with_search:
            results[f"{name}_search"] = run_step(tree, content, templates, searched,
                                                 clean=False, search=True)
    reference = workdir / "reference"
    results["new_day_clean"] = run_step(tree, content, templates, reference, clean=True)
    results["identical"] = tree_differences(out, reference)
    if with_search:
        reference = workdir / "reference-search"
        run_step(tree, content, templates, reference, clean=True, search=True)
        results["identical_search"] = tree_differences(searched, reference)
    edit_paper_template(tree, templates)
    results["template"] = run_step(tree, content, templates, out, clean=False)
    return results


def same(differences: list[str]) -> str:
    return "yes" if not differences else f"NO ({len(differences)} files differ)"


def table(rows: list[dict]) -> str:
    lines = [
        "| tree | papers | import | clean build | no-op | +1 day "
        "| +1 day right after a clean build | template edit | peak memory | pages | output "
        "| bytes per paper | +1 day = clean | clean build with search | +1 day with search "
        "| search index: clean, +1 day | with search: bytes per paper, +1 day = clean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        clean, noop, day, tmpl = r["clean"], r["noop"], r["new_day"], r["template"]
        first = r["first_day"]
        peak = max(clean.peak_mb, noop.peak_mb, first.peak_mb, day.peak_mb, tmpl.peak_mb)
        files, size = r["output"]
        searched = ["not run"] * 4
        if "clean_search" in r:
            with_search, day_search = r["clean_search"], r["new_day_search"]
            searched = [f"{with_search.seconds:.2f} s",
                        f"{day_search.seconds:.2f} s ({day_search.rendered:,} pages rendered)",
                        f"{with_search.seconds - clean.seconds:.2f} s, "
                        f"{day_search.seconds - day.seconds:.2f} s",
                        f"{r['output_search'][1] / r['papers']:,.0f} B, "
                        f"{same(r['identical_search'])}"]
        lines.append(
            f"| {r['tree']} | {r['papers']:,} | {r['import_s']:.1f} s | {clean.seconds:.2f} s "
            f"| {noop.seconds:.2f} s | {day.seconds:.2f} s ({day.rendered:,} pages rendered) "
            f"| {first.seconds:.2f} s ({first.rendered:,} pages rendered) "
            f"| {tmpl.seconds:.2f} s ({tmpl.rendered:,} pages rendered) | {peak:,.0f} MB "
            f"| {clean.pages:,} | {size / 1e6:,.0f} MB in {files:,} files "
            f"| {size / r['papers']:,.0f} B | {same(r['identical'])} | {' | '.join(searched)} |")
    return "\n".join(lines)


def hugo_table(rows: list[dict], hugo: dict[int, HugoResult]) -> str:
    """Hugo's figures and ours as ratios to them (search included when it was run)."""
    lines = [
        "| papers | Hugo | Hugo clean build | Hugo no-op | Hugo +1 day | Hugo output "
        "| Hugo bytes per paper | ours / Hugo: clean build | no-op | +1 day "
        "| bytes per paper |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        h = hugo.get(r["papers"])
        if h is None or r is not rows_of_tree(rows, r["papers"]):
            continue
        searched = "clean_search" in r
        clean = r["clean_search"] if searched else r["clean"]
        day = r["new_day_search"] if searched else r["new_day"]
        size = (r["output_search"] if searched else r["output"])[1]
        note = " (search included)" if searched else ""
        lines.append(
            f"| {r['papers']:,} | {h.version} | {h.clean_s:.2f} s | {h.noop_s:.2f} s "
            f"| {h.new_day_s:.2f} s | {h.bytes / 1e6:,.0f} MB in {h.files:,} files "
            f"| {h.bytes / r['papers']:,.0f} B | {clean.seconds / h.clean_s:.2f}{note} "
            f"| {r['noop'].seconds / h.noop_s:.2f} | {day.seconds / h.new_day_s:.2f}{note} "
            f"| {size / h.bytes:.2f}{note} |")
    return "\n".join(lines)


def rows_of_tree(rows: list[dict], papers: int) -> dict:
    """The row of this checkout (not the baseline's) for a corpus size."""
    return next(r for r in rows if r["papers"] == papers and r["tree"].startswith("this"))


def export_revision(revision: str, folder: Path) -> Tree:
    """The builder as it was at ``revision``, without touching this checkout."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision} failed: {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    commit = git_output("rev-parse", "--short", revision)
    return Tree(f"baseline {commit}", folder)


def git_output(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() or "unknown"


def this_tree() -> Tree:
    changed = git_output("status", "--porcelain", "--", "site_builder") != "unknown"
    dirty = " + uncommitted changes" if changed else ""
    return Tree(f"this {git_output('rev-parse', '--short', 'HEAD')}{dirty}", REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, action="append",
                        help="corpus size (repeatable; default 10000)")
    parser.add_argument("--search", action="store_true",
                        help="also time builds with the Pagefind search index")
    parser.add_argument("--compare", choices=["hugo"], action="append", default=[],
                        help="also build the corpus with Hugo and print ratios to it")
    parser.add_argument("--baseline", metavar="REV",
                        help="also benchmark the builder of this git revision, same run")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to benchmarks/RESULTS.md")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    rows, hugo = [], {}
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        trees = [this_tree()]
        if args.baseline:
            trees.append(export_revision(args.baseline, root / "baseline-tree"))
        for papers in args.papers or [10_000]:
            corpus = make_corpus(papers)
            for tree in trees:
                workdir = root / str(papers) / tree.label.split()[0]
                shutil.rmtree(workdir, ignore_errors=True)
                print(f"benchmarking {papers:,} papers with {tree.label} in {workdir} ...",
                      file=sys.stderr)
                rows.append(bench(corpus, workdir, tree, args.search))
            if "hugo" in args.compare:
                print(f"building {papers:,} papers with Hugo ...", file=sys.stderr)
                hugo[papers] = measure_hugo(corpus.base, corpus.held_back,
                                            root / str(papers) / "hugo")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text = table(rows)
    if hugo:
        text += "\n\n" + hugo_table(rows, hugo)
    print(text)
    for row in rows:
        for key in ("identical", "identical_search"):
            if row.get(key):
                print(f"{row['tree']}: +1 day output differs from a clean build: "
                      f"{row[key][:10]}", file=sys.stderr)
    if not args.no_record:
        record(args, rows, text)
    return 0 if all(not r["identical"] and not r.get("identical_search") for r in rows) else 1


def record(args: argparse.Namespace, rows: list[dict], text: str) -> None:
    sizes = " ".join(f"--papers {p}" for p in sorted({r["papers"] for r in rows}))
    options = "".join([" --search" if args.search else "",
                       "".join(f" --compare {c}" for c in args.compare),
                       f" --baseline {args.baseline}" if args.baseline else ""])
    with (HERE / "RESULTS.md").open("a", encoding="utf-8") as handle:
        handle.write(f"\n### {dt.date.today().isoformat()}: build benchmark\n\n"
                     f"Machine: {describe_machine()}  \n"
                     f"Command: `python benchmarks/bench.py {sizes}{options}`\n\n"
                     f"{text}\n")


if __name__ == "__main__":
    raise SystemExit(main())
