"""Benchmark: the builder's word and phrase counting against scikit-learn's CountVectorizer.

    python benchmarks/counting.py --papers 10000 [--repeat 3]

Both count the unigrams and bigrams of the same texts (``related.paper_text`` of the
synthetic archive of benchmarks/related.py) with the same token pattern and stop words.
Printed: the fastest of ``--repeat`` runs of each and the shape, number of entries and
total of each count matrix, which must be equal (scikit-learn is the test reference).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TREE))

from benchmarks.related import synthetic_papers  # noqa: E402
from site_builder import related  # noqa: E402


def ours(texts: list[str]):
    return related.count_terms(texts, workers=1)[1]


def sklearn(texts: list[str]):
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 2),
                                 stop_words=list(related.STOP_WORDS), dtype=np.float64)
    return vectorizer.fit_transform(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [related.paper_text(paper) for paper in synthetic_papers(args.papers)]
    for name, count in (("site_builder.related.count_terms", ours),
                        ("sklearn CountVectorizer", sklearn)):
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            matrix = count(texts)
            times.append(time.perf_counter() - started)
        print(f"{min(times):7.2f} s  {name}: {matrix.shape[0]:,} texts, {matrix.shape[1]:,} "
              f"terms, {matrix.nnz:,} entries, total {int(matrix.sum()):,}")


if __name__ == "__main__":
    main()
