"""Benchmark: the cost of related papers (TF-IDF, top five per paper) on a synthetic archive.

    python benchmarks/related.py --papers 10000            # print the timings
    python benchmarks/related.py --papers 10000 --record   # and append them to RESULTS.md

The corpus is deterministic (a seeded ``random.Random``): abstracts of 120-260 words drawn
from a Zipf-distributed vocabulary of 30,000 made-up words, English function words and a
few hundred themes of 300 words each, so word and bigram frequencies look like arXiv
abstracts (a long tail, a few very common words, topical clusters).

Papers are listed 40 a day from 1 January 2024, so 10,000 papers end on 6 September and
the idf's reference set is January to August (related.py: the papers before the newest
month).  The new day (``--new-day`` papers, all listed on the day after the last) is in the
same month: the reference set stays, and the rebuild is incremental.  A day in the next
month changes the reference set: everything is recomputed, from cached counts.

Timed (each ``--repeat`` times, the fastest kept): importing the module, a clean
computation (what ``build --clean`` pays), the same writing the cache (a first build), a
rebuild with nothing changed, a rebuild after one new listing day, and a rebuild after a
first day of the next month.  Wall-clock and CPU seconds (CPU counts every thread: BLAS may
use several).  Also counted: the old papers whose related list (papers or hints) the new
day changed, that is the paper pages a build must render again because of it.  Every
incremental result is checked against a clean computation of the same papers.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too

from benchmarks.machine import describe as describe_machine  # noqa: E402
from site_builder import related  # noqa: E402
from site_builder.content import Paper  # noqa: E402
from site_builder.related import related_papers  # noqa: E402

ROOT = Path(__file__).resolve().parent
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


@dataclass
class Timing:
    label: str
    wall: float  # seconds on the clock
    cpu: float  # seconds of CPU of this process (all its threads) and its worker processes

    def line(self) -> str:
        return f"{self.wall:8.2f} s {self.cpu:8.2f} s  {self.label}"


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the forked workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(label: str, function, *args, **kwargs) -> tuple[Timing, object]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args, **kwargs)
    return Timing(label, time.perf_counter() - wall, cpu_seconds() - cpu), result


def best(label: str, repeat: int, function, *args, **kwargs) -> Timing:
    runs = [timed(label, function, *args, **kwargs)[0] for _ in range(repeat)]
    return min(runs, key=lambda t: t.wall)


def import_timing(repeat: int) -> Timing:
    """Importing the module (numpy and scipy.sparse with it) in a fresh interpreter."""
    code = ("import time; w, c = time.perf_counter(), time.process_time(); "
            "import site_builder.related; "
            "print(time.perf_counter() - w, time.process_time() - c)")
    runs = []
    for _ in range(repeat):
        wall, cpu = subprocess.run([sys.executable, "-c", code], check=True,
                                   capture_output=True, text=True).stdout.split()
        runs.append(Timing("import site_builder.related with numpy and scipy.sparse "
                           "(fresh interpreter)", float(wall), float(cpu)))
    return min(runs, key=lambda t: t.wall)


def run(count: int, new_day: int, repeat: int) -> tuple[list[Timing], list[str]]:
    """Each case ``repeat`` times, the fastest kept (the machine is shared, so runs vary)."""
    papers = synthetic_papers(count + new_day)
    old = papers[:count]
    last = max(p.day for p in old)
    day = last + dt.timedelta(days=1)
    new = old + [dataclasses.replace(p, day=day) for p in papers[count:]]
    month = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    next_month = new + [dataclasses.replace(p, id=p.id + "m", day=month)
                        for p in papers[count:]]
    rows = [import_timing(repeat),
            best(f"clean, {count:,} papers, no cache", repeat, related_papers, old),
            best(f"clean, {count:,} papers, no cache, one process and thread (--jobs 1)",
                 repeat, related_papers, old, jobs=1)]
    writing, warm, grown, monthly = [], [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            cache = Path(folder)
            timing, expected = timed(f"clean, {count:,} papers, writing the cache",
                                     related_papers, old, cache_dir=cache)
            writing.append(timing)
            timing, again = timed(f"warm cache, nothing changed ({count:,} papers)",
                                  related_papers, old, cache_dir=cache)
            assert again == expected, "a warm rebuild must equal the clean result"
            warm.append(timing)
            timing, result = timed(f"warm cache, one new day of {new_day} papers, same month "
                                   f"({len(new):,} papers, incremental)", related_papers, new,
                                   cache_dir=cache)
            grown.append(timing)
            timing, result_month = timed(
                f"warm cache, then a day of {new_day} papers in a new month "
                f"({len(next_month):,} papers, full, counts cached)",
                related_papers, next_month, cache_dir=cache)
            monthly.append(timing)
    clean_new = related_papers(new)
    assert result == clean_new, "an incremental rebuild must equal a clean one"
    assert result_month == related_papers(next_month), "a new month must equal a clean one"
    rows += [min(runs, key=lambda t: t.wall) for runs in (writing, warm, grown, monthly)]
    changed = changed_lists(expected, clean_new)
    limit = related.REFERENCE_MIN
    related.REFERENCE_MIN = 10**12  # every reference set too small: idf over all papers
    try:
        whole = changed_lists(related_papers(old), related_papers(new))
    finally:
        related.REFERENCE_MIN = limit
    notes = [f"new day {day.isoformat()}, reference set: papers listed before "
             f"{day.replace(day=1).isoformat()}",
             f"old papers whose related list changed with the new day: {changed:,} of "
             f"{count:,} ({100 * changed / count:.1f}%); with idf over the whole archive "
             f"instead: {whole:,} ({100 * whole / count:.1f}%)"]
    return rows, notes


def changed_lists(before: dict, after: dict) -> int:
    """Papers of ``before`` whose related papers or hints differ in ``after``."""
    def plain(items: list) -> list:
        return [(item.paper.id, item.terms) for item in items]

    return sum(plain(items) != plain(after[pid]) for pid, items in before.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=10_000, help="archive size (default 10000)")
    parser.add_argument("--new-day", type=int, default=50, help="papers in the new day (50)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each case, the fastest is kept (3)")
    parser.add_argument("--record", action="store_true", help=f"append to {RESULTS.name}")
    args = parser.parse_args()
    described = describe_machine()
    print(described)
    rows, notes = run(args.papers, args.new_day, args.repeat)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = ["    wall      CPU", *(row.line() for row in rows),
             f"{peak_mb:8.0f} MB peak resident memory of the benchmark process", *notes]
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(args, described, text)
    return 0


def record(args: argparse.Namespace, described: str, text: str) -> None:
    command = (f"python benchmarks/related.py --papers {args.papers} --new-day {args.new_day} "
               f"--repeat {args.repeat}")
    entry = (f"\n### {dt.date.today().isoformat()}: {args.papers:,} papers\n\n"
             f"Machine: {described}\n\nCommand: `{command}`\n\n```\n{text}\n```\n")
    existing = RESULTS.read_text("utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if HEADING not in existing:
        existing = existing.rstrip("\n") + f"\n\n{HEADING}\n"
        RESULTS.write_text(existing + entry, "utf-8")
        return
    # append at the end of the "Related papers" section, before the next "## " heading
    head, _, tail = existing.partition(HEADING)
    rest = tail.split("\n## ", 1)
    section = rest[0].rstrip("\n") + "\n" + entry
    after = "\n## " + rest[1] if len(rest) > 1 else ""
    RESULTS.write_text(head + HEADING + section + after, "utf-8")


if __name__ == "__main__":
    sys.exit(main())
