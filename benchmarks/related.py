"""Benchmark: related papers from scratch on a synthetic archive, this tree against another.

    python benchmarks/related.py --papers 10000 --base ../old-checkout   # side by side
    python benchmarks/related.py --papers 100000 --corpus bench          # this tree only

Each implementation runs in a fresh interpreter (so its peak memory is its own) on the same
deterministic corpus: ``synthetic`` (below: abstracts of 120-260 words from a Zipf
vocabulary of 30,000 made-up words and a few hundred themes, so word and bigram frequencies
look like arXiv abstracts) or ``bench`` (benchmarks/corpus.py, what benchmarks/bench.py
builds: a vocabulary of about 150 words, where every pair of papers shares terms and
similarity is mostly noise).  Papers are listed 40 a day from 1 January 2024.

Printed: wall and CPU seconds of ``related_papers`` (fastest of ``--repeat``), the resident
memory before the call and the peak after, and, with ``--base``, how many of the base's
related papers this tree also lists (recall; the base at e211be4 computes the exact top
five of the full TF-IDF cosine) and how many lists are identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from site_builder.content import Paper

ROOT = Path(__file__).resolve().parent
TREE = ROOT.parent

RESULTS = ROOT / "RESULTS.md"
HEADING = "## Related papers"
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "qua", "bri", "dex",
             "fen", "gor", "hul", "jix", "mor", "pla", "ster", "tri", "vol", "wen", "yar")
FUNCTION_WORDS = ("the", "of", "and", "a", "to", "in", "we", "is", "for", "that", "on",
                  "with", "this", "by", "as", "are", "our", "from", "which", "an", "can",
                  "be", "these", "it", "such", "show", "than", "while", "both", "into")


def make_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    ordered = []
    while len(ordered) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.add(word)
            ordered.append(word)
    return ordered


def zipf_cumulative(count: int, exponent: float) -> list[float]:
    """Cumulative Zipf weights, for ``rng.choices(..., cum_weights=...)`` in O(log n)."""
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += 1.0 / rank ** exponent
        cumulative.append(total)
    return cumulative


def synthetic_papers(count: int, seed: int = 8, start: dt.date = dt.date(2024, 1, 1),
                     per_day: int = 40) -> list[Paper]:
    """``count`` papers spread over listing days of ``per_day`` papers, the same every run."""
    from site_builder.content import Paper  # of the tree on sys.path (see child)

    rng = random.Random(seed)
    vocabulary = make_words(rng, 30_000)
    weights = zipf_cumulative(len(vocabulary), 1.05)
    themes = [rng.sample(vocabulary[200:], 300) for _ in range(400)]
    theme_weights = zipf_cumulative(300, 0.8)
    papers = []
    for index in range(count):
        chosen = rng.sample(range(len(themes)), 2)

        def word(chosen=chosen) -> str:
            roll = rng.random()
            if roll < 0.35:
                return rng.choice(FUNCTION_WORDS)
            if roll < 0.7:
                theme = themes[chosen[0] if roll < 0.58 else chosen[1]]
                return rng.choices(theme, cum_weights=theme_weights)[0]
            return rng.choices(vocabulary, cum_weights=weights)[0]

        title = " ".join(word() for _ in range(rng.randint(6, 14))).capitalize()
        sentences = []
        for _ in range(rng.randint(6, 11)):
            sentences.append(" ".join(word() for _ in range(rng.randint(14, 26))).capitalize()
                             + ".")
        papers.append(Paper(id=f"2401.{index:05d}", title=title,
                            day=start + dt.timedelta(days=index // per_day),
                            abstract=" ".join(sentences),
                            digest=f"synthetic-{seed}-{index}"))
    return papers


def corpus_papers(corpus: str, count: int) -> list:
    """The archive of ``count`` papers of the named corpus (``Paper`` of the tree imported)."""
    from site_builder.content import Paper  # the tree chosen by --tree (sys.path)

    if corpus == "synthetic":
        return synthetic_papers(count)
    sys.path.insert(0, str(ROOT))
    import corpus as bench_corpus  # benchmarks/corpus.py

    return [Paper(id=r["id"], title=r["title"], day=dt.date.fromisoformat(r["listed"]),
                  abstract=r["abstract"]) for r in bench_corpus.generate(count, seed=7)]


def child(args: argparse.Namespace) -> None:
    """Runs in a fresh interpreter: time ``related_papers`` of ``--tree``, write JSON."""
    sys.path.insert(0, str(args.tree))
    from site_builder.related import related_papers

    papers = corpus_papers(args.corpus, args.papers)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs = []
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = related_papers(papers, jobs=args.jobs)
        runs.append((time.perf_counter() - wall, cpu_seconds() - cpu))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lists = {pid: [item.paper.id for item in items] for pid, items in result.items()}
    args.out.write_text(json.dumps({"wall": min(runs)[0], "cpu": min(runs)[1],
                                    "before_mb": before, "peak_mb": peak, "lists": lists}))


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished worker processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(tree: Path, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        subprocess.run([sys.executable, __file__, "--child", "--tree", str(tree), "--out",
                        str(out), "--papers", str(args.papers), "--corpus", args.corpus,
                        "--jobs", str(args.jobs), "--repeat", str(args.repeat)], check=True)
        return json.loads(out.read_text())


def recall(found: dict[str, list[str]], exact: dict[str, list[str]]) -> tuple[float, float]:
    """Share of the exact related papers also found, and share of identical lists."""
    hits = sum(len(set(found[pid]) & set(items)) for pid, items in exact.items())
    same = sum(found[pid] == items for pid, items in exact.items())
    return hits / max(1, sum(map(len, exact.values()))), same / max(1, len(exact))


def line(label: str, result: dict) -> str:
    return (f"{result['wall']:8.2f} s {result['cpu']:8.2f} s {result['before_mb']:7.0f} MB "
            f"{result['peak_mb']:7.0f} MB  {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=10_000, help="archive size (10000)")
    parser.add_argument("--corpus", choices=("synthetic", "bench"), default="synthetic")
    parser.add_argument("--base", type=Path, help="another checkout to compare with")
    parser.add_argument("--jobs", type=int, default=0, help="as --jobs of a build (0: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs, the fastest kept (1)")
    parser.add_argument("--record", action="store_true", help=f"append to {RESULTS.name}")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=TREE, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    from benchmarks.machine import describe

    described = describe()
    print(described, flush=True)
    rows = ["    wall      CPU  before    peak"]
    mine = measure(TREE, args)
    rows.append(line(f"this tree, {args.papers:,} papers ({args.corpus}, --jobs {args.jobs})",
                     mine))
    print("\n".join(rows), flush=True)
    if args.base:
        base = measure(args.base.resolve(), args)
        hits, same = recall(mine["lists"], base["lists"])
        rows += [line(f"base {args.base}, same papers", base),
                 f"recall of the base's related papers: {100 * hits:.2f}%; "
                 f"identical lists: {100 * same:.2f}%"]
        print("\n".join(rows[-2:]), flush=True)
    text = "\n".join(rows)
    if args.record:
        record(args, described, text)
    return 0


def record(args: argparse.Namespace, described: str, text: str) -> None:
    command = " ".join(["python benchmarks/related.py", *sys.argv[1:]])
    entry = (f"\n### {dt.date.today().isoformat()}: {args.papers:,} papers ({args.corpus})\n\n"
             f"Machine: {described}\n\nCommand: `{command}`\n\n```\n{text}\n```\n")
    existing = RESULTS.read_text("utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if HEADING not in existing:
        RESULTS.write_text(existing.rstrip("\n") + f"\n\n{HEADING}\n" + entry, "utf-8")
        return
    head, _, tail = existing.partition(HEADING)  # append at the end of the section
    rest = tail.split("\n## ", 1)
    after = "\n## " + rest[1] if len(rest) > 1 else ""
    RESULTS.write_text(head + HEADING + rest[0].rstrip("\n") + "\n" + entry + after, "utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(TREE))  # benchmarks.machine
    sys.exit(main())
