"""Related papers: for every paper, the five most similar papers of the whole archive.

Similarity is the cosine of TF-IDF vectors over title and abstract, exactly as
scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), stop_words="english")`` computes them
(its default token pattern, lower-casing, English stop words removed before bigrams are
formed, smoothed idf, l2-normalised rows); URLs and LaTeX commands are removed from the
text first. ``tests/test_related.py`` checks the matrix against ``TfidfVectorizer`` itself.

How it is made fast (benchmarks/related.py; about 2.2 s for 10,000 papers on a 2-core
Xeon, of which 0.8 s tokens, 0.8 s products, 0.35 s hints, 0.2 s importing numpy/scipy):

* Tokens.  ``TfidfVectorizer.fit_transform`` spends most of its time in Python loops
  (building bigram strings, counting them in dicts, sorting a million-term vocabulary: about
  5 s at 10,000 papers).  Here one regular-expression pass tokenises a batch of papers,
  words become integer ids in C (``map`` over a dict), and bigrams are pairs of word ids
  combined with numpy; idf and l2 normalisation are TfidfTransformer's formulas.  Building
  does not import scikit-learn at all (that alone takes about 0.6 s); the tests use it as
  the reference.  Columns are in a canonical order (words sorted, then bigrams sorted), so
  the result depends only on the texts, never on the order in which words were first met.
* Products.  The similarity matrix is never held whole: square blocks of at most
  ``CHUNK_CELLS`` scores are computed, their candidates for the top five taken, and the
  block dropped.  It is symmetric, so only blocks on and above the diagonal are computed
  (an off-diagonal block serves its rows and, transposed, its columns).  Almost all of the
  cost of a sparse product is in the few hundred most frequent terms, so those columns
  are multiplied as a small dense matrix (BLAS) and the long tail as a sparse product
  (scipy), added into the same block.  Terms of a single paper count towards its vector's
  length but cannot be shared, so they are left out of the products.
* Top five.  Instead of sorting each row, its columns are folded into ``FOLD``
  interleaved groups; the fifth largest group maximum is a lower bound of the fifth
  largest score, so only the few columns at or above it are examined.
* Ties.  Scores are rounded to six decimals and ties broken by paper id, so the order is
  deterministic and does not hinge on the last bit of a floating-point sum.
* Hints.  Only the pairs that are shown are looked at: the element-wise product of the two
  rows gives the shared terms and their weights, in batches of ``HINT_BATCH`` pairs.

Cache (``cache_dir``, e.g. ``.site-builder-cache/`` beside the output):

* ``related/result.json`` holds the last answer with a fingerprint of every paper's id and
  text hash (title and abstract only, so a change of upvotes costs nothing) and of the
  algorithm and library versions.  When the fingerprint matches, the answer is reused.
* ``related/tokens.npz`` holds every text's word ids, keyed by its text hash, so a new
  day tokenises only its new or edited papers.
* Everything after tokenising is recomputed whenever any text changed: a new paper
  changes the number of papers and so every term's idf, and with it every vector's
  length and potentially every paper's neighbours.  Keeping old rows would make an
  incremental build differ from a clean one; the output must be identical, and the
  full product is cheap enough.
* A missing, unreadable or foreign cache is ignored (the answer is computed and the
  cache rewritten); files are replaced atomically.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp

from site_builder.content import Paper

TOP = 5  # related papers per paper
HINT_TERMS = 3  # shared key terms shown per related paper
HINT_CANDIDATES = 6  # best shared terms of a pair considered for its hint
HINT_BATCH = 2_048  # pairs whose shared terms are computed at once
# TfidfVectorizer's default token_pattern is r"(?u)\b\w\w+\b": runs of two or more word
# characters; this finds the same runs about a third faster.
TOKEN_RE = re.compile(r"\w\w+")
NOISE_RE = re.compile(r"https?://\S+|\\[A-Za-z]+")  # URLs and LaTeX commands
SEPARATOR = "PAPERBREAK"  # upper case: cannot occur in lower-cased text
# scikit-learn's ENGLISH_STOP_WORDS (BSD licence; from the Glasgow Information Retrieval
# Group), copied so that a build does not import scikit-learn (about 0.6 s); a test checks
# that the two lists are equal.
STOP_WORDS = tuple(sorted(set("""
a about above across after afterwards again against all almost alone along already also
although always am among amongst amoungst amount an and another any anyhow anyone anything
anyway anywhere are around as at back be became because become becomes becoming been
before beforehand behind being below beside besides between beyond bill both bottom but by
call can cannot cant co con could couldnt cry de describe detail do done down due during
each eg eight either eleven else elsewhere empty enough etc even ever every everyone
everything everywhere except few fifteen fifty fill find fire first five for former
formerly forty found four from front full further get give go had has hasnt have he hence
her here hereafter hereby herein hereupon hers herself him himself his how however hundred
i ie if in inc indeed interest into is it its itself keep last latter latterly least less
ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
myself name namely neither never nevertheless next nine no nobody none noone nor not
nothing now nowhere of off often on once one only onto or other others otherwise our ours
ourselves out over own part per perhaps please put rather re same see seem seemed seeming
seems serious several she should show side since sincere six sixty so some somehow someone
something sometime sometimes somewhere still such system take ten than that the their them
themselves then thence there thereafter thereby therefore therein thereupon these they
thick thin third this those though three through throughout thru thus to together too top
toward towards twelve twenty two un under until up upon us very via was we well were what
whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
whether which while whither who whoever whole whom whose why will with within without
would yet you your yours yourself yourselves
""".split())))
TOKEN_BATCH = 2_000  # papers tokenised per regular-expression pass
CHUNK_CELLS = 2_000_000  # scores per block (8 MB of float32; two blocks are held)
DENSE_MAX = 512  # most frequent terms multiplied as a dense matrix, at most
DENSE_RATIO = 40  # ... those in at least 1/40 of the papers (measured: benchmarks/related.py)
FOLD = 128  # column groups for the top-five lower bound
DECIMALS = 6  # scores are compared after rounding to this many decimals
MARGIN = 2e-6  # > rounding error, so rounding never drops a candidate
SMALLEST = 4e-7  # scores below this round to 0
CACHE_VERSION = "related-2"  # change whenever the answer for the same texts would change


@dataclass
class Related:
    """A related paper and the key terms both papers share (the score stays hidden)."""

    paper: Paper
    terms: tuple[str, ...]


def related_papers(papers: Iterable[Paper],
                   cache_dir: Path | None = None) -> dict[str, list[Related]]:
    """Every paper's id -> its (up to) five most similar papers, most similar first."""
    ordered = sorted(papers, key=lambda p: p.id)
    by_id = {paper.id: paper for paper in ordered}
    if len(ordered) < 2:
        return {paper.id: [] for paper in ordered}
    texts = [paper_text(paper) for paper in ordered]
    hashes = [text_hash(text) for text in texts]
    fingerprint = corpus_fingerprint(ordered, hashes)
    store = RelatedCache(cache_dir) if cache_dir is not None else None
    if store is not None:
        cached = store.load_result(fingerprint, by_id)
        if cached is not None:
            return cached
    tokens = store.load_tokens() if store is not None else None
    corpus = tokenise(texts, hashes, tokens)
    neighbours = nearest(corpus.matrix)
    hints = shared_terms(corpus, neighbours)
    result = {paper.id: [Related(ordered[col], hints[(row, col)]) for col in neighbours[row]]
              for row, paper in enumerate(ordered)}
    if store is not None:
        store.save_tokens(corpus)
        store.save_result(fingerprint, result)
    return result


def paper_text(paper: Paper) -> str:
    """The text compared: title and abstract, without URLs and LaTeX commands."""
    return NOISE_RE.sub(" ", paper.title + "\n" + paper.abstract)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def corpus_fingerprint(papers: list[Paper], hashes: list[str]) -> str:
    versions = f"{CACHE_VERSION} {np.__version__} {scipy.__version__}"
    digest = hashlib.blake2b(versions.encode(), digest_size=16)
    for paper, text in zip(papers, hashes, strict=True):
        digest.update(f"\0{paper.id}\0{text}".encode())
    return digest.hexdigest()


# --- tokens and TF-IDF -----------------------------------------------------------------


@dataclass
class Tokens:
    """Texts as word-id sequences (stop words removed), in one id space of ``words``."""

    words: list[str]  # id -> word; ids 0..len(STOP_WORDS) are the separator and stop words
    hashes: list[str]  # one per text
    ids: np.ndarray  # every text's word ids, concatenated
    lengths: np.ndarray  # words per text


@dataclass
class Corpus:
    """The TF-IDF matrix (rows: papers sorted by id) and the names of its columns."""

    tokens: Tokens
    matrix: sp.csr_matrix
    unigrams: list[str]  # column c < len(unigrams) is unigrams[c]
    bigrams: np.ndarray  # column len(unigrams) + b is the pair of unigram columns bigrams[b]

    def term(self, column: int) -> str:
        count = len(self.unigrams)
        if column < count:
            return self.unigrams[column]
        first, second = divmod(int(self.bigrams[column - count]), count)
        return self.unigrams[first] + " " + self.unigrams[second]


def new_vocabulary(words: Iterable[str] = ()) -> defaultdict[str, int]:
    """word -> id, giving the next id to a new word; the separator and stop words come first."""
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__
    for word in (SEPARATOR, *STOP_WORDS, *words):
        vocabulary[word]
    return vocabulary


def tokenise(texts: list[str], hashes: list[str], cached: Tokens | None) -> Corpus:
    """Word ids for every text (from the cache when its hash is known), then TF-IDF."""
    known: dict[str, tuple[int, int]] = {}
    vocabulary = new_vocabulary()
    if cached is not None:
        vocabulary = new_vocabulary(cached.words[len(STOP_WORDS) + 1:])
        ends = np.cumsum(cached.lengths)
        known = {h: (int(end - length), int(end))
                 for h, end, length in zip(cached.hashes, ends, cached.lengths, strict=True)}
    if not known.keys() & set(hashes):  # nothing cached: tokenise in order, in batches
        parts = [word_ids(texts[start:start + TOKEN_BATCH], vocabulary)
                 for start in range(0, len(texts), TOKEN_BATCH)]
        ids = np.concatenate([part[0] for part in parts])
        lengths = np.concatenate([part[1] for part in parts])
        return weigh(Tokens(list(vocabulary), hashes, ids, lengths))
    missing = [i for i, h in enumerate(hashes) if h not in known]
    fresh: dict[int, np.ndarray] = {}
    for start in range(0, len(missing), TOKEN_BATCH):
        batch = missing[start:start + TOKEN_BATCH]
        ids, lengths = word_ids([texts[i] for i in batch], vocabulary)
        fresh.update(zip(batch, np.split(ids, np.cumsum(lengths)[:-1]), strict=True))
    pieces = []
    for index, text_hash_ in enumerate(hashes):
        if index in fresh:
            pieces.append(fresh[index])
        else:
            start, end = known[text_hash_]
            pieces.append(cached.ids[start:end])
    lengths = np.fromiter(map(len, pieces), np.int64, len(pieces))
    ids = np.concatenate(pieces).astype(np.int64) if pieces else np.zeros(0, np.int64)
    tokens = Tokens(list(vocabulary), hashes, ids, lengths)
    return weigh(tokens)


def word_ids(texts: list[str], vocabulary: defaultdict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The texts' words (lower case, stop words removed) as ids, and each text's count.

    One regular-expression pass over all texts joined by a separator word.
    """
    joined = f" {SEPARATOR} ".join(text.lower() for text in texts)
    found = TOKEN_RE.findall(joined)
    ids = np.fromiter(map(vocabulary.__getitem__, found), np.int64, len(found))
    text_of = np.cumsum(ids == 0)  # the separator's id is 0
    keep = ids > len(STOP_WORDS)
    return ids[keep], np.bincount(text_of[keep], minlength=len(texts))


def weigh(tokens: Tokens) -> Corpus:
    """Count unigrams and bigrams per text in canonical column order, then weigh them."""
    count = len(tokens.lengths)
    present = np.flatnonzero(np.bincount(tokens.ids, minlength=len(tokens.words)))
    names = [tokens.words[i] for i in present]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.full(len(tokens.words), -1, np.int64)
    rank[present[order]] = np.arange(len(order))
    unigrams = [names[i] for i in order]
    words = rank[tokens.ids]
    rows = np.repeat(np.arange(count), tokens.lengths)
    same_text = rows[1:] == rows[:-1]
    codes = (words[:-1] * len(unigrams) + words[1:])[same_text]
    bigrams, bigram_columns = np.unique(codes, return_inverse=True)
    columns = np.concatenate([words, len(unigrams) + bigram_columns.ravel()])
    counts = sp.csr_matrix(
        (np.ones(len(columns)), (np.concatenate([rows, rows[1:][same_text]]), columns)),
        shape=(count, len(unigrams) + len(bigrams)),
    )
    counts.sum_duplicates()
    return Corpus(tokens, tfidf(counts), unigrams, bigrams)


def tfidf(counts: sp.csr_matrix) -> sp.csr_matrix:
    """TfidfTransformer's defaults: smoothed idf ``ln((1 + n) / (1 + df)) + 1``, l2 rows."""
    count = counts.shape[0]
    frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + count) / (1.0 + frequency)) + 1.0
    matrix = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    matrix.data *= idf[matrix.indices]
    rows = np.repeat(np.arange(count), np.diff(matrix.indptr))
    norms = np.sqrt(np.bincount(rows, matrix.data * matrix.data, minlength=count))
    matrix.data /= norms[rows]
    matrix.sort_indices()
    return matrix


# --- nearest neighbours ----------------------------------------------------------------


def nearest(matrix: sp.csr_matrix, top: int = TOP) -> list[list[int]]:
    """Each row's ``top`` most similar other rows (cosine > 0), best first, ties by index.

    The similarity matrix is symmetric, so only blocks on and above the diagonal are
    computed; an off-diagonal block gives candidates to its rows and (transposed) to its
    columns.
    """
    count = matrix.shape[0]
    blocks = -(-count * count // CHUNK_CELLS) if count * count > CHUNK_CELLS else 1
    blocks = max(1, int(np.ceil(np.sqrt(blocks))))
    size = -(-count // blocks // FOLD) * FOLD  # rows per block, a multiple of FOLD
    padded = size * blocks
    dense, tail = split_columns(matrix, padded)
    starts = list(range(0, padded, size))
    tail_t = [sp.csr_matrix(tail[s:s + size].T) for s in starts]
    found = Candidates(count, top)
    scores = np.empty((size, size), np.float32)
    common = np.empty((size, size), np.float32)
    for i, row_start in enumerate(starts):
        for j in range(i, len(starts)):
            col_start = starts[j]
            sp.csr_matrix(tail[row_start:row_start + size] @ tail_t[j]).toarray(out=scores)
            np.matmul(dense[row_start:row_start + size], dense[col_start:col_start + size].T,
                      out=common)
            scores += common
            if i == j:
                np.fill_diagonal(scores, -np.inf)
            mask_padding(scores, count - row_start, count - col_start)
            found.add(top_of_rows(scores, top), row_start, col_start)
            if i != j:
                found.add(top_of_columns(scores, top), col_start, row_start)
    return found.best()


def split_columns(matrix: sp.csr_matrix, padded: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """The shared terms' columns: the most frequent as a dense array, the rest sparse.

    Rows are padded with zeros to ``padded``; terms of a single paper are left out (they
    count towards the vectors' lengths, which are already normalised, but are never shared).
    """
    count = matrix.shape[0]
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    shared = np.flatnonzero(frequency > 1)
    by_frequency = shared[np.argsort(-frequency[shared], kind="stable")]
    dense_columns = np.sort(by_frequency[:dense_size(frequency[by_frequency], count)])
    sparse_columns = np.setdiff1d(shared, dense_columns, assume_unique=True)
    dense = np.zeros((padded, len(dense_columns)), np.float32)
    dense[:count] = sp.csr_matrix(matrix[:, dense_columns], dtype=np.float32).toarray()
    tail = sp.csr_matrix(matrix[:, sparse_columns], dtype=np.float32)
    tail.resize((padded, len(sparse_columns)))
    return dense, tail


def mask_padding(scores: np.ndarray, real_rows: int, real_columns: int) -> None:
    scores[max(real_rows, 0):] = -np.inf
    scores[:, max(real_columns, 0):] = -np.inf


def dense_size(frequencies: np.ndarray, count: int) -> int:
    """How many of the most frequent terms to multiply densely.

    A term in ``df`` papers costs about ``df**2`` steps in a sparse product and ``count**2``
    multiply-adds as a dense column, which BLAS does some 1,500 times faster per step (one
    core, 10,000 papers): dense pays from ``df`` of about ``count / 40``.
    """
    worth = int(np.count_nonzero(frequencies * DENSE_RATIO >= count))
    return min(DENSE_MAX, worth)




def top_of_rows(scores: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every entry that can be among its row's ``top`` best: (rows, columns, rounded scores).

    The columns are folded into FOLD interleaved groups; the ``top``-th largest group
    maximum is at most the row's ``top``-th largest score, so entries below it (less a
    margin for rounding) are never needed.
    """
    count, width = scores.shape
    folded = scores.reshape(count, width // FOLD, FOLD)  # column = g * FOLD + f
    group_max = folded.max(axis=1)  # (row, f)
    bound = lower_bound(group_max, top, axis=1)
    rows, groups = np.nonzero(group_max >= bound[:, None])
    values = folded[rows, :, groups]  # (candidate group, g)
    hit, position = np.nonzero(values >= bound[rows, None])
    return kept(rows[hit], position * FOLD + groups[hit], values[hit, position])


def top_of_columns(scores: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``top_of_rows`` of the transposed scores, without copying them: (columns, rows, ...)."""
    height, count = scores.shape
    folded = scores.reshape(height // FOLD, FOLD, count)  # row = g * FOLD + f
    group_max = folded.max(axis=0)  # (f, column)
    bound = lower_bound(group_max, top, axis=0)
    groups, columns = np.nonzero(group_max >= bound[None, :])
    values = folded[:, groups, columns]  # (g, candidate group)
    position, hit = np.nonzero(values >= bound[columns][None, :])
    return kept(columns[hit], position * FOLD + groups[hit], values[position, hit])


def lower_bound(group_max: np.ndarray, top: int, axis: int) -> np.ndarray:
    kth = FOLD - top
    bound = np.take(np.partition(group_max, kth, axis=axis), kth, axis=axis) - MARGIN
    return np.maximum(bound, SMALLEST)  # lower scores round to 0: never related


def kept(rows: np.ndarray, columns: np.ndarray,
         values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rounded = np.round(values.astype(np.float64), DECIMALS)
    keep = rounded > 0
    return rows[keep], columns[keep], rounded[keep]


class Candidates:
    """Candidate (row, column, score) triples, reduced to each row's best ``top`` at the end.

    Order: higher rounded score first, then lower column (papers are sorted by id, so ties
    go to the smaller id).  That order is total, so keeping a row's best ``top`` of any
    subset never loses an answer; it is done whenever the pile grows large.
    """

    def __init__(self, count: int, top: int):
        self.count, self.top = count, top
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, found: tuple[np.ndarray, np.ndarray, np.ndarray], row_start: int,
            col_start: int) -> None:
        rows, columns, values = found
        self.parts.append((rows + row_start, columns + col_start, values))
        self.size += len(rows)
        if self.size > 8 * self.top * self.count:
            self.parts = [self.reduce()]
            self.size = len(self.parts[0][0])

    def reduce(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        rows, columns, values = (np.concatenate(part) for part in zip(*self.parts, strict=True))
        order = self.order(rows, columns, values)
        rows, columns, values = rows[order], columns[order], values[order]
        first = np.searchsorted(rows, rows)  # index of each row's first entry
        keep = np.arange(len(rows)) - first < self.top
        return rows[keep], columns[keep], values[keep]

    def order(self, rows: np.ndarray, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Row, then score (highest first), then column: one integer key when it fits."""
        span = 10**DECIMALS + 2  # rounded scores are whole millionths in [0, 1]
        if self.count * self.count * span >= 2**62:
            return np.lexsort((columns, -values, rows))
        lower = span - 1 - np.rint(values * 10**DECIMALS).astype(np.int64)
        return np.argsort((rows * span + lower) * self.count + columns)  # keys are unique

    def best(self) -> list[list[int]]:
        rows, columns, _ = self.reduce()
        result: list[list[int]] = [[] for _ in range(self.count)]
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            result[row].append(column)
        return result


# --- shared key terms ------------------------------------------------------------------


def shared_terms(corpus: Corpus, neighbours: list[list[int]],
                 limit: int = HINT_TERMS) -> dict[tuple[int, int], tuple[str, ...]]:
    """For each (paper, related paper): the terms with the largest product of weights.

    Terms are taken best first; a term that repeats a word of a term already chosen is
    skipped ("noisy" after "noisy labels"), and a bigram whose words were both chosen as
    single words replaces them ("labels", "noisy" become "noisy labels").
    """
    count = len(neighbours)
    rows = np.repeat(np.arange(count), [len(found) for found in neighbours])
    columns = np.fromiter(itertools.chain.from_iterable(neighbours), np.int64, len(rows))
    keys = np.unique(np.minimum(rows, columns) * count + np.maximum(rows, columns))
    firsts, seconds = (keys // count).tolist(), (keys % count).tolist()
    matrix = corpus.matrix
    shared = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]) > 1)
    narrow = sp.csr_matrix(matrix[:, shared])  # terms of one paper are never shared
    names: dict[int, tuple[str, tuple[str, ...]]] = {}
    hints: dict[tuple[int, int], tuple[str, ...]] = {}
    for start in range(0, len(keys), HINT_BATCH):
        first, second = firsts[start:start + HINT_BATCH], seconds[start:start + HINT_BATCH]
        best, starts = best_shared_columns(narrow, first, second)
        for column in set(best).difference(names):
            term = corpus.term(int(shared[column]))
            names[column] = (term, tuple(term.split()))
        candidates = [names[column] for column in best]
        for index, (a, b) in enumerate(zip(first, second, strict=True)):
            terms = pick_hint(candidates[starts[index]:starts[index + 1]], limit)
            hints[(a, b)] = hints[(b, a)] = terms
    return hints


def best_shared_columns(matrix: sp.csr_matrix, first: list[int],
                        second: list[int]) -> tuple[list[int], list[int]]:
    """For each pair of rows, its HINT_CANDIDATES columns of largest product, best first.

    Returns the columns of all pairs one after the other and where each pair's start.
    Ties keep column order: the product's columns are sorted within each row and the sort
    below is stable.
    """
    product = sp.csr_matrix(matrix[first].multiply(matrix[second]))
    product.eliminate_zeros()
    product.sort_indices()
    if not product.nnz:
        return [], [0] * (len(first) + 1)
    rows = np.repeat(np.arange(len(first)), np.diff(product.indptr))
    key = rows + (1.0 - product.data / product.data.max())  # row, then largest first
    order = np.argsort(key, kind="stable")
    rank = np.arange(len(order)) - product.indptr[rows[order]]
    best = order[rank < HINT_CANDIDATES]
    starts = np.searchsorted(rows[best], np.arange(len(first) + 1))
    return product.indices[best].tolist(), starts.tolist()


def pick_hint(candidates: list[tuple[str, tuple[str, ...]]], limit: int) -> tuple[str, ...]:
    """Up to ``limit`` terms from the best-first candidates, without repeating a word."""
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


def compact(tokens: Tokens) -> Tokens:
    """The same tokens without words that no text uses any more (ids renumbered)."""
    reserved = len(STOP_WORDS) + 1
    used = np.bincount(tokens.ids, minlength=len(tokens.words)) > 0
    used[:reserved] = True
    renumber = np.cumsum(used) - 1
    words = [word for word, keep in zip(tokens.words, used.tolist(), strict=True) if keep]
    return Tokens(words, tokens.hashes, renumber[tokens.ids], tokens.lengths)


# --- cache -----------------------------------------------------------------------------


class RelatedCache:
    """Files under ``<cache_dir>/related/``; anything unreadable counts as absent."""

    def __init__(self, cache_dir: Path):
        self.folder = Path(cache_dir) / "related"

    def load_result(self, fingerprint: str,
                    by_id: dict[str, Paper]) -> dict[str, list[Related]] | None:
        """The saved answer when it was computed for exactly these texts, else None."""
        try:
            data = json.loads((self.folder / "result.json").read_text("utf-8"))
            if data["fingerprint"] != fingerprint or set(data["related"]) != set(by_id):
                return None
            return {pid: [Related(by_id[other], tuple(map(str, terms)))
                          for other, terms in items]
                    for pid, items in data["related"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save_result(self, fingerprint: str, result: dict[str, list[Related]]) -> None:
        plain = {pid: [(item.paper.id, item.terms) for item in items]
                 for pid, items in result.items()}
        text = json.dumps({"fingerprint": fingerprint, "related": plain},
                          ensure_ascii=False, separators=(",", ":"))
        self.write("result.json", text.encode("utf-8"))

    def load_tokens(self) -> Tokens | None:
        try:
            with np.load(self.folder / "tokens.npz", allow_pickle=False) as data:
                if str(data["version"]) != CACHE_VERSION:
                    return None
                words = data["words"].tolist()
                tokens = Tokens(words, data["hashes"].tolist(), data["ids"], data["lengths"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        prefix = [SEPARATOR, *STOP_WORDS]
        if (words[: len(prefix)] != prefix or len(tokens.hashes) != len(tokens.lengths)
                or int(tokens.lengths.sum()) != len(tokens.ids)
                or (len(tokens.ids) and int(tokens.ids.max()) >= len(words))):
            return None
        return tokens

    def save_tokens(self, corpus: Corpus) -> None:
        tokens = compact(corpus.tokens)
        target = self.folder / "tokens.npz"
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".npz.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, version=np.array(CACHE_VERSION),
                         words=np.array(tokens.words, dtype=str),
                         hashes=np.array(tokens.hashes, dtype=str),
                         ids=tokens.ids.astype(np.int32), lengths=tokens.lengths)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
