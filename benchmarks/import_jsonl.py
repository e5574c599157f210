"""Benchmark: import 10,000 JSONL papers into an empty content folder, then import them again.

    python benchmarks/import_jsonl.py [--papers 10000] [--days 100] [--keep DIR]

The corpus is generated deterministically (a fixed random seed), so runs are comparable. It
prints the seconds each step took: writing the corpus, the first import (every paper added),
and the re-import (every paper unchanged, nothing written). The issue's target: 10,000 papers
import in a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from site_builder.importers import ImportOptions, import_sources

WORDS = (
    "attention transformer diffusion model language vision reasoning agent benchmark "
    "retrieval alignment reinforcement learning sparse mixture experts scaling efficient "
    "multimodal video audio robot policy graph neural network quantization distillation "
    "token context memory planning evaluation dataset synthetic preference reward"
).split()
NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Emmy Noether", "Claude Shannon",
         "Kurt Gödel", "Sofia Kovalevskaya", "李 明", "Ramanujan Srinivasa", "Marie Curie")
TOPICS = ("llm", "vision", "robotics", "rl", "audio")


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def paper(rng: random.Random, number: int, days: int) -> dict:
    start = dt.date(2025, 1, 1)
    listed = start + dt.timedelta(days=number % days)
    arxiv = f"25{(number % 12) + 1:02d}.{number:05d}"
    record = {
        "id": arxiv,
        "title": f"{sentence(rng, rng.randint(4, 12)).capitalize()} ({number})",
        "abstract": ". ".join(sentence(rng, 20).capitalize() for _ in range(6)) + ".",
        "listed": listed.isoformat(),
        "authors": rng.sample(NAMES, rng.randint(1, 6)),
        "published": (listed - dt.timedelta(days=rng.randint(0, 3))).isoformat(),
        "upvotes": rng.randint(0, 300),
        "arxiv": f"https://arxiv.org/abs/{arxiv}",
        "pdf": f"https://arxiv.org/pdf/{arxiv}",
    }
    if rng.random() < 0.3:
        record["topics"] = rng.sample(TOPICS, rng.randint(1, 2))
    if rng.random() < 0.4:
        record["code"] = f"https://github.com/example/repo-{number}"
        record["github_stars"] = rng.randint(0, 5000)
    if rng.random() < 0.5:
        record["ai_keywords"] = rng.sample(WORDS, 4)
    return record


def write_corpus(path: Path, papers: int, days: int) -> None:
    rng = random.Random(20250101)
    with path.open("w", encoding="utf-8") as stream:
        for number in range(papers):
            stream.write(json.dumps(paper(rng, number, days), ensure_ascii=False) + "\n")


def timed(label: str, action) -> object:  # noqa: ANN001
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.2f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="write into this folder and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus = work / "papers.jsonl"
        content = work / "content"
        if content.exists():
            shutil.rmtree(content)
        timed(f"generate {args.papers:,} papers", lambda: write_corpus(corpus, args.papers,
                                                                        args.days))
        options = ImportOptions(content_dir=content)
        first = timed("import (all new)", lambda: import_sources([str(corpus)], options))
        print(f"  {first.count('added'):,} added, {len(first.days_touched)} days")
        again = timed("re-import (all unchanged)", lambda: import_sources([str(corpus)], options))
        print(f"  {again.count('unchanged'):,} unchanged, {again.count('merged'):,} merged")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
