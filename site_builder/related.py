"""Related papers: for every paper, the five most similar papers of the whole archive.

* Each paper is a TF-IDF vector of the unigrams and bigrams of its title and abstract, as
  scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), stop_words="english")`` forms them;
  URLs and LaTeX commands are removed first.  Rows are l2-normalised over all their terms.
* The idf is the smoothed ``ln((1 + n) / (1 + df)) + 1`` over a **reference set**: the
  papers listed before the first day of the newest listing month (the whole archive while
  that set has fewer than ``REFERENCE_MIN`` papers or less than half of it).  Within a
  month, a new day changes no older paper's vector.
* Weights are rounded to whole multiples of ``2**-24``, so a score is a sum of products of
  whole numbers below ``2**53``: exact in float64 in any order, on any machine.
* Candidates instead of all pairs (the full product is quadratic): a paper's
  ``KEYWORDS`` heaviest terms among those of two papers or more are its keywords; a
  keyword links the ``POSTINGS`` reference papers, and the ``POSTINGS`` newer papers, that
  chose it and where it weighs the most; the keyword score of two papers sums the products
  of their linked keywords' weights, and each paper's ``CANDIDATES`` best partners by it are
  candidates (both ways).  The work is bounded per paper, so it grows linearly.
* A paper's related papers: its ``TOP`` candidates with the best exact cosine, ties to the
  smaller paper id.  With unbounded limits this is the exact top five of the cosine
  (tests/test_related.py); the share of it found with the defaults is measured by
  benchmarks/related.py (README, "Related papers").
* Hints: up to three shared terms with the largest products of weights, ties in term order
  (words before bigrams, each alphabetical), see ``pick_hint``.

Nothing is cached or written: the computation is fast enough for every build, so an
incremental build equals a clean one by construction.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from site_builder.content import Paper
from site_builder.workers import can_fork, fork_map, worker_count

TOP = 5  # related papers per paper
HINT_TERMS = 3  # shared key terms shown per related paper
HINT_CANDIDATES = 6  # best shared terms of a pair considered for its hint
KEYWORDS = 16  # a paper's heaviest terms that find its candidates (measured: README)
POSTINGS = 64  # papers per side (reference, newer) a keyword links (measured: README)
PAIRED = 8  # a paper's heaviest keywords whose pairs are terms too
CANDIDATES = 20  # best partners by keyword score, then ranked by the exact full score
PAIR_BATCH = 8_192  # pairs whose products are computed at once
REFERENCE_MIN = 500  # a smaller reference set means the whole archive
SCALE_BITS = 24  # weights are whole multiples of 2**-24
BLOCK_ROWS = 4_096  # rows of scores computed at once (bounds memory)
LEVELS = 16  # halvings of a row's best score told apart when choosing its top five
TEXTS_PER_WORKER = 4_000  # fewer texts per worker process: count them in this one
TOKEN_RE = re.compile(r"\w\w+")  # TfidfVectorizer's token_pattern, r"(?u)\b\w\w+\b"
# A UTF-8 byte -> itself if it can be part of a word (ASCII letters, digits, "_", any byte
# of a non-ASCII character), else a space: splitting on it is three times faster than TOKEN_RE.
WORD_BYTES = bytes(byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else 0x20
                   for byte in range(256))
NOISE_RE = re.compile(r"https?://\S+|\\[A-Za-z]+")  # URLs and LaTeX commands
SEPARATOR = "PAPERBREAK"  # upper case: cannot occur in lower-cased text
# scikit-learn's ENGLISH_STOP_WORDS (BSD licence), copied so that a build does not import
# scikit-learn (0.6 s); a test checks that the two lists are equal.
STOP_WORDS = tuple(sorted(set("""
a about above across after afterwards again against all almost alone along already also although
always am among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere
are around as at back be became because become becomes becoming been before beforehand behind being
below beside besides between beyond bill both bottom but by call can cannot cant co con could
couldnt cry de describe detail do done down due during each eg eight either eleven else elsewhere
empty enough etc even ever every everyone everything everywhere except few fifteen fifty fill find
fire first five for former formerly forty found four from front full further get give go had has
hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his how
however hundred i ie if in inc indeed interest into is it its itself keep last latter latterly
least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must
my myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now
nowhere of off often on once one only onto or other others otherwise our ours ourselves out over
own part per perhaps please put rather re same see seem seemed seeming seems serious several she
should show side since sincere six sixty so some somehow someone something sometime sometimes
somewhere still such system take ten than that the their them themselves then thence there
thereafter thereby therefore therein thereupon these they thick thin third this those though three
through throughout thru thus to together too top toward towards twelve twenty two un under until up
upon us very via was we well were what whatever when whence whenever where whereafter whereas
whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why
will with within without would yet you your yours yourself yourselves
""".split())))


@dataclass
class Related:
    """A related paper and the key terms both papers share (the score stays hidden)."""

    paper: Paper
    terms: tuple[str, ...]


@dataclass
class Terms:
    """Column c < len(words) is words[c]; column len(words) + b is the bigram of word
    columns divmod(bigrams[b], len(words))."""

    words: list[str]
    bigrams: np.ndarray  # int64 codes

    def name(self, column: int) -> str:
        count = len(self.words)
        if column < count:
            return self.words[column]
        first, second = divmod(int(self.bigrams[column - count]), count)
        return self.words[first] + " " + self.words[second]


def related_papers(papers: Iterable[Paper], jobs: int = 0) -> dict[str, list[Related]]:
    """Every paper's id -> its (up to) five most similar papers, most similar first.

    ``jobs`` as ``--jobs`` (0: every core): processes that count the words; the answer
    never depends on it.
    """
    ordered = sorted(papers, key=lambda p: p.id)
    if len(ordered) < 2:
        return {paper.id: [] for paper in ordered}
    terms, counts = count_terms([paper_text(p) for p in ordered], worker_count(jobs))
    reference = reference_rows(ordered)
    frequency = reference_frequency(counts, reference)
    weights, chosen = keywords(quantise(tfidf(counts, idf_of(frequency, int(reference.sum())))))
    del counts  # the biggest matrix: memory for the products
    linked = postings(sp.hstack([chosen, keyword_pairs(chosen)], format="csr"), reference)
    first, second = candidate_pairs(linked, weights)
    rows, columns = best_pairs(weights, first, second)
    hints = pair_hints(weights, rows, columns, terms)
    result: dict[str, list[Related]] = {paper.id: [] for paper in ordered}
    for row, column, hint in zip(rows.tolist(), columns.tolist(), hints, strict=True):
        result[ordered[row].id].append(Related(ordered[column], hint))
    return result


def paper_text(paper: Paper) -> str:
    """The text compared: title and abstract, without URLs and LaTeX commands."""
    return NOISE_RE.sub(" ", paper.title + "\n" + paper.abstract)


def reference_rows(ordered: list[Paper]) -> np.ndarray:
    """Which papers form the reference set for the idf (see the module docstring)."""
    month = max(paper.day for paper in ordered).replace(day=1)
    before = np.fromiter((paper.day < month for paper in ordered), bool, len(ordered))
    size = int(before.sum())
    if size < REFERENCE_MIN or 2 * size < len(ordered):
        return np.ones(len(ordered), bool)
    return before


class Vocabulary:
    """Words -> ids in order of appearance; the separator and the stop words come first.

    A text is cut into runs of ``WORD_BYTES``.  An ASCII run of two or more bytes is exactly
    one token (``TOKEN_RE``), one of one byte is none; a run with other characters (an en
    dash, a curly quote) is split by ``TOKEN_RE`` itself.  Each run knows its tokens' ids.
    """

    def __init__(self) -> None:
        self.ids: defaultdict[bytes, int] = defaultdict()
        self.ids.default_factory = self.ids.__len__
        self.tokens: list[tuple[int, ...]] = []  # run id -> its tokens' ids
        for word in (SEPARATOR, *STOP_WORDS):
            self.ids[word.encode()]

    def words(self, chosen: Iterable[int]) -> list[str]:
        runs = list(self.ids)
        return [runs[i].decode("utf-8", "surrogatepass") for i in chosen]

    def token_ids(self, text: str) -> np.ndarray:
        """The ids of the text's tokens, in order."""
        found = text.encode("utf-8", "surrogatepass").translate(WORD_BYTES).split()
        runs = np.fromiter(map(self.ids.__getitem__, found), np.int64, len(found))
        while len(self.tokens) < len(self.ids):  # new runs: find their tokens
            for run in list(itertools.islice(self.ids, len(self.tokens), None)):
                words = ([run] if len(run) > 1 else []) if run.isascii() else [
                    word.encode("utf-8", "surrogatepass")
                    for word in TOKEN_RE.findall(run.decode("utf-8", "surrogatepass"))]
                self.tokens.append(tuple(self.ids[word] for word in words))
        sizes = np.fromiter(map(len, self.tokens), np.int64, len(self.tokens))
        first = np.fromiter((tokens[0] if tokens else -1 for tokens in self.tokens), np.int64,
                            len(self.tokens))
        if (sizes[runs] <= 1).all():  # the usual case: a run is one token or none
            return first[runs][sizes[runs] == 1]
        flat = np.fromiter(itertools.chain.from_iterable(self.tokens), np.int64, int(sizes.sum()))
        counts = sizes[runs]
        ends = np.cumsum(counts)
        starts = (np.cumsum(sizes) - sizes)[runs]
        return flat[np.repeat(starts - (ends - counts), counts) + np.arange(int(ends[-1:].sum()))]


def word_ids(texts: list[str], vocabulary: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The texts' words (lower case, stop words removed) as ids, and each text's count."""
    ids = vocabulary.token_ids(f" {SEPARATOR} ".join(text.lower() for text in texts))
    text_of = np.cumsum(ids == 0)  # the separator's id is 0
    keep = ids > len(STOP_WORDS)
    return ids[keep], np.bincount(text_of[keep], minlength=len(texts))


def count_slice(texts: list[str], bounds: tuple[int, int]) -> tuple[list[str], np.ndarray,
                                                                     np.ndarray]:
    """The words of ``texts[start:end]``: their vocabulary, word ids and count per text."""
    vocabulary = Vocabulary()
    ids, lengths = word_ids(texts[bounds[0]:bounds[1]], vocabulary)
    present = np.flatnonzero(np.bincount(ids, minlength=len(vocabulary.ids)))
    renumber = np.zeros(len(vocabulary.ids), np.int64)
    renumber[present] = np.arange(len(present))
    return vocabulary.words(present.tolist()), renumber[ids], lengths


def count_terms(texts: list[str], workers: int = 1) -> tuple[Terms, sp.csr_matrix]:
    """Unigram and bigram counts per text (columns: words alphabetically, then bigrams)."""
    parts = max(1, min(workers, len(texts) // TEXTS_PER_WORKER))
    bounds = [(len(texts) * k // parts, len(texts) * (k + 1) // parts) for k in range(parts)]
    if parts > 1 and can_fork():
        counted = fork_map(count_slice, texts, bounds, parts)
    else:
        counted = [count_slice(texts, (0, len(texts)))]
    words = sorted(set(itertools.chain.from_iterable(part[0] for part in counted)))
    column = {word: index for index, word in enumerate(words)}
    ids = np.concatenate([np.fromiter(map(column.__getitem__, part[0]), np.int64,
                                      len(part[0]))[part[1]] for part in counted])
    lengths = np.concatenate([part[2] for part in counted])
    rows = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
    same_text = rows[1:] == rows[:-1]
    bigrams, inverse = np.unique((ids[:-1] * len(words) + ids[1:])[same_text],
                                 return_inverse=True)
    columns = np.concatenate([ids, len(words) + inverse.ravel()]).astype(np.int32)
    del ids, inverse
    counts = sp.csr_matrix(
        (np.ones(len(columns), np.float32), (np.concatenate([rows, rows[1:][same_text]]),
                                             columns)),
        shape=(len(texts), len(words) + len(bigrams)), dtype=np.float64)
    counts.sum_duplicates()  # also sorts each row's columns
    return Terms(words, bigrams.astype(np.int64)), counts


def reference_frequency(counts: sp.csr_matrix, reference: np.ndarray) -> np.ndarray:
    """Each term's document frequency among the reference rows."""
    in_reference = np.repeat(reference, np.diff(counts.indptr))
    return np.bincount(counts.indices[in_reference], minlength=counts.shape[1])


def idf_of(frequency: np.ndarray, size: int) -> np.ndarray:
    """Smoothed idf of a reference set of ``size`` papers, with ``math.log`` once per df
    value, so that every machine gets the same bits."""
    table = np.array([math.log((1.0 + size) / (1.0 + df)) + 1.0
                      for df in range(int(frequency.max(initial=0)) + 1)])
    return table[frequency]


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """TF-IDF rows, l2-normalised (each row's squares summed in its column order)."""
    count = counts.shape[0]
    data = counts.data * idf[counts.indices]
    rows = np.repeat(np.arange(count), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(rows, data * data, minlength=count))
    return sp.csr_matrix((data / norms[rows], counts.indices, counts.indptr), shape=counts.shape)


def quantise(weights: sp.csr_matrix) -> sp.csr_matrix:
    """Weights as whole numbers of ``2**-SCALE_BITS`` in [1, 2**24]: a term present never
    rounds to nothing, and a product of two rows sums to less than ``2**49``."""
    numbers = np.maximum(np.rint(weights.data * 2.0 ** SCALE_BITS), 1.0)
    return sp.csr_matrix((numbers, weights.indices, weights.indptr), shape=weights.shape)


def entries(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """The matrix with only the entries marked in ``keep`` (same shape)."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep],
                          np.searchsorted(rows, np.arange(matrix.shape[0] + 1))),
                         shape=matrix.shape)


def top_entries(matrix: sp.csr_matrix, limit: int) -> sp.csr_matrix:
    """Each row's ``limit`` largest entries (> 0; ties to the smaller column).

    Sorting every entry is slow; an entry's level k (best / 2**(k+1) < value <= best /
    2**k, up to ``LEVELS``) is cheap, and a row's ``limit`` best are among its entries of
    the first levels that hold ``limit`` of them (equal values have equal levels).
    """
    keep = matrix.data > 0
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    inside = np.flatnonzero(keep & (np.diff(matrix.indptr) > limit)[rows])  # rows to cut
    if len(inside):
        local = np.cumsum(np.r_[False, rows[inside][1:] != rows[inside][:-1]])
        values, columns = matrix.data[inside], matrix.indices[inside]
        best = np.maximum.reduceat(values, np.flatnonzero(np.r_[True, np.diff(local) > 0]))
        level = np.minimum(np.log2(best[local] / values), LEVELS - 1).astype(np.int64)
        counts = np.bincount(local * LEVELS + level, minlength=len(best) * LEVELS)
        enough = np.cumsum(counts.reshape(len(best), LEVELS), axis=1) >= limit
        last = np.where(enough.any(axis=1), enough.argmax(axis=1), LEVELS - 1)
        chosen = np.flatnonzero(level <= last[local])
        chosen = chosen[np.lexsort((columns[chosen], -values[chosen], local[chosen]))]
        rank = np.arange(len(chosen)) - np.searchsorted(local[chosen], local[chosen])
        keep[inside] = False
        keep[inside[chosen[rank < limit]]] = True
    return entries(matrix, keep)


def keywords(weights: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The weights of the terms of two papers or more (the others are never shared), and
    each paper's ``KEYWORDS`` heaviest of them."""
    shared = np.bincount(weights.indices, minlength=weights.shape[1]) > 1
    only = entries(weights, shared[weights.indices])
    return only, top_entries(only, KEYWORDS)


def keyword_pairs(chosen: sp.csr_matrix) -> sp.csr_matrix:
    """Each pair of a paper's ``PAIRED`` heaviest keywords as one more term, weighing the
    lighter of the two.  In a big archive a keyword is chosen by more papers than its
    postings hold, but two keywords together by few: papers sharing both find each other."""
    heavy = top_entries(chosen, PAIRED)
    count = heavy.shape[0]
    rows = np.repeat(np.arange(count), np.diff(heavy.indptr))
    places = np.arange(heavy.nnz) - heavy.indptr[rows]
    columns = np.full((count, PAIRED), -1, np.int64)
    values = np.zeros((count, PAIRED))
    columns[rows, places], values[rows, places] = heavy.indices, heavy.data
    first, second = np.triu_indices(PAIRED, 1)
    present = (columns[:, first] >= 0) & (columns[:, second] >= 0)
    codes = (columns[:, first] * chosen.shape[1] + columns[:, second])[present]
    pairs, inverse = np.unique(codes, return_inverse=True)
    weights = np.minimum(values[:, first], values[:, second])[present]
    rows = np.repeat(np.arange(count), present.sum(axis=1))
    return sp.csr_matrix((weights, (rows, inverse.ravel())), shape=(count, len(pairs)))


def postings(chosen: sp.csr_matrix, reference: np.ndarray) -> sp.csr_matrix:
    """Per term, the ``POSTINGS`` reference papers and the ``POSTINGS`` newer papers that
    chose it and where it weighs the most (ties to the smaller row)."""
    by_term = sp.csr_matrix(chosen.T)
    sides = []
    for side in (reference, ~reference):
        part = sp.csr_matrix(by_term.multiply(side[None, :].astype(np.float64)))
        part.eliminate_zeros()
        sides.append(top_entries(part, POSTINGS))
    return sp.csr_matrix((sides[0] + sides[1]).T)


def candidate_pairs(kept: sp.csr_matrix, weights: sp.csr_matrix) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Each paper's ``CANDIDATES`` best partners by the keyword score (ties to the smaller
    row), as unique pairs (first < second).  A paper whose keywords link it to no other
    (rare: it weighs little in each) is compared with every paper instead."""
    count = kept.shape[0]
    keys = [np.zeros(0, np.int64)]
    unmatched = np.ones(count, bool)

    def add(papers: np.ndarray, scores: sp.csr_matrix) -> None:
        rows = papers[np.repeat(np.arange(scores.shape[0]), np.diff(scores.indptr))]
        scores.data[scores.indices == rows] = 0.0  # not itself
        best = top_entries(scores, CANDIDATES)
        rows = papers[np.repeat(np.arange(best.shape[0]), np.diff(best.indptr))]
        unmatched[rows] = False
        columns = best.indices.astype(np.int64)
        keys.append(np.minimum(rows, columns) * count + np.maximum(rows, columns))

    transposed = sp.csr_matrix(kept.T)
    for start in range(0, count, BLOCK_ROWS):
        add(np.arange(start, min(start + BLOCK_ROWS, count)),
            sp.csr_matrix(kept[start:start + BLOCK_ROWS] @ transposed))
    alone = np.flatnonzero(unmatched)
    add(alone, sp.csr_matrix(weights[alone] @ weights.T))
    pairs = np.unique(np.concatenate(keys))
    return pairs // count, pairs % count


def pair_products(weights: sp.csr_matrix, first: np.ndarray,
                  second: np.ndarray) -> Iterator[tuple[int, sp.csr_matrix]]:
    """The products of the weights of rows first[i] and second[i], by batches of pairs:
    (first pair of the batch, one row per pair, columns sorted)."""
    for start in range(0, len(first), PAIR_BATCH):
        end = start + PAIR_BATCH
        product = sp.csr_matrix(weights[first[start:end]].multiply(weights[second[start:end]]))
        product.sort_indices()
        yield start, product


def best_pairs(weights: sp.csr_matrix, first: np.ndarray,
               second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``TOP`` best partners among the pairs, by exact score (> 0), ties to the
    smaller row: (row, partner) sorted by row, best first."""
    scores = np.zeros(len(first))
    for start, product in pair_products(weights, first, second):
        scores[start:start + product.shape[0]] = np.asarray(product.sum(axis=1)).ravel()
    rows, partners = np.concatenate([first, second]), np.concatenate([second, first])
    scores = np.concatenate([scores, scores])
    order = np.lexsort((partners, -scores, rows))
    order = order[scores[order] > 0]
    rank = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
    order = order[rank < TOP]
    return rows[order], partners[order]


def pair_hints(weights: sp.csr_matrix, first: np.ndarray, second: np.ndarray,
               terms: Terms) -> list[tuple[str, ...]]:
    """The hint of each pair: its ``HINT_CANDIDATES`` shared terms with the largest
    product of weights (ties in term order: columns are in that order), then ``pick_hint``.
    Both orders of a pair get the same hint."""
    count = weights.shape[0]
    pairs, where = np.unique(np.minimum(first, second) * count + np.maximum(first, second),
                             return_inverse=True)
    hints: list[tuple[str, ...]] = []
    names: dict[int, tuple[str, tuple[str, ...]]] = {}
    for _start, product in pair_products(weights, pairs // count, pairs % count):
        best = top_entries(product, HINT_CANDIDATES)
        columns = best.indices.tolist()
        for column in set(columns) - names.keys():
            name = terms.name(column)
            names[column] = (name, tuple(name.split()))
        order = np.lexsort((best.indices, -best.data,
                            np.repeat(np.arange(best.shape[0]), np.diff(best.indptr))))
        ordered = [names[columns[i]] for i in order.tolist()]
        bounds = best.indptr.tolist()
        hints += [pick_hint(ordered[bounds[i]:bounds[i + 1]], HINT_TERMS)
                  for i in range(best.shape[0])]
    return [hints[at] for at in where.ravel().tolist()]


def pick_hint(candidates: list[tuple[str, tuple[str, ...]]], limit: int) -> tuple[str, ...]:
    """Up to ``limit`` terms from the best-first candidates, without repeating a word.

    A term that repeats a word already chosen is skipped ("noisy" after "noisy labels"), and
    a bigram whose words were both chosen as single words replaces them.
    """
    chosen: list[tuple[str, tuple[str, ...]]] = []
    used: set[str] = set()  # every word shown
    singles: dict[str, int] = {}  # a word shown on its own -> its place in chosen
    for term, words in candidates:
        if len(words) == 2 and words[0] in singles and words[1] in singles:
            places = sorted({singles[words[0]], singles[words[1]]})
            chosen[places[0]] = (term, words)
            if len(places) == 2:
                del chosen[places[1]]
            singles = {ws[0]: i for i, (_, ws) in enumerate(chosen) if len(ws) == 1}
        elif len(chosen) < limit and used.isdisjoint(words):
            if len(words) == 1:
                singles[words[0]] = len(chosen)
            chosen.append((term, words))
            used.update(words)
    return tuple(term for term, _ in chosen)
