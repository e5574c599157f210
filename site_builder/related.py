"""Related papers: for every paper, the five most similar papers of the whole archive.

The definition
--------------

* Each paper is a TF-IDF vector of the unigrams and bigrams of its title and abstract, as
  scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), stop_words="english")`` forms them
  (its default token pattern, lower-casing, English stop words removed before bigrams are
  formed); URLs and LaTeX commands are removed from the text first.  Every term of every
  paper counts, and rows are l2-normalised.
* The idf is TfidfTransformer's smoothed ``ln((1 + n) / (1 + df)) + 1``, but ``n`` and
  ``df`` are counted over a **reference set** of papers, not over the whole archive: the
  papers listed before the first day of the newest listing month (``Paper.day``).  A term
  that no reference paper uses has ``df = 0``, so new vocabulary weighs the most, as it
  would in a vectoriser fitted on the reference set with the smoothed formula.
  When that set has fewer than ``REFERENCE_MIN`` (500) papers or less than half of the
  archive, the reference set is the whole archive (the previous definition): with a few
  hundred papers the idf of a term moves a lot with each occurrence, the whole computation
  takes well under a second anyway, and a newest month holding most of the archive (a
  young archive, a bulk import) should not be weighed by the minority before it.
  ``tests/test_related.py`` checks the vectors against ``CountVectorizer`` +
  ``TfidfTransformer`` fitted on the reference rows.
* Why: the reference set changes once a month.  Within a month an old paper's vector never
  changes when days are added, so its list changes only when a new paper enters its top
  five (about five lists per new paper), and the shared terms of a pair that stays never
  change.  Measured (synthetic archives of benchmarks/related.py): one new day of 40 papers
  on 2,000 papers changes 187 old lists (9.4%), against 499 with the idf over the whole
  archive; 50 new papers on 10,000 change 168 (1.7%), against 841.  On the first day of a
  month the reference set grows by a month and everything is recomputed once.
* Scores are exact.  Each weight is rounded to a whole multiple of ``2**-24``
  (``quantise``: at most 3e-8 away); the score of a pair is the sum of the products of
  those whole numbers, an integer below ``2**49`` that float64 arithmetic computes exactly in
  any order (every partial sum is a whole number below ``2**53``).  So the same pair gets the
  same score however it is computed (a block of a full product, one new paper against the
  archive, the pair alone), which is what lets an incremental build equal a clean one.
  Order: higher score first, ties to the smaller paper id; a paper is related only when the
  two share a term (score > 0).
* Hints: the up to three shared terms with the largest product of (whole-number) weights,
  ties in term order (words before bigrams, each alphabetical); see ``pick_hint``.

How it is made fast (benchmarks/related.py)
-------------------------------------------

* Tokens.  A batch of papers is cut into runs of word bytes (``bytes.translate`` and
  ``split``, three times faster than the regular expression, which only splits the rare runs
  holding non-ASCII characters: ``Vocabulary``), runs become integer ids in C (``map`` over
  a dict), bigrams are pairs of word ids combined with numpy.  No scikit-learn at build time
  (importing it alone takes about 0.6 s).  Columns are in a canonical order (words sorted,
  then bigrams sorted), so results never depend on the order in which words were first met,
  nor on how the texts were split between worker processes (``count_parts``: from 4,000
  texts, each worker counts a share and the shares' spaces are merged).
* Products (clean computation).  The similarity matrix is never held whole: square blocks of
  at most ``CHUNK_CELLS`` scores are computed in float32, their candidates for the top five
  taken, and the block dropped; only blocks on and above the diagonal are computed.  The
  most frequent terms are multiplied as a small dense matrix (BLAS), the long tail as a
  sparse product.  A float32 score is within a relative ``delta`` of the exact one (a
  rounding-error bound from the number of terms summed, see ``separation``), so candidates
  are kept down to ``(1 - 3 delta)`` of each row's fifth best; a row whose candidates are
  all further apart than that is already in exact order, and the few rows with a near tie
  (a few percent) are ranked by exact scores of their candidates.
* Top five.  Instead of sorting each row, its columns are folded into ``FOLD`` interleaved
  groups; the fifth largest group maximum is a lower bound of the fifth largest score, so
  only the few columns near or above it are examined.
* Hints and exact scores of the pairs shown come from the element-wise product of the two
  rows, in batches of ``HINT_BATCH`` pairs.
* Parallel: ``jobs`` (the build's ``--jobs``) worker processes count the texts, and as many
  threads compute the blocks of products and the batches of hints (BLAS is kept to one
  thread).  The answer is the same for any ``jobs`` (tests/test_related.py).

Cache and incremental builds (``cache_dir``, e.g. ``.site-builder-cache/`` beside the output)
-------------------------------------------------------------------------------------------

Files in ``<cache_dir>/related/``; texts are known by a hash of title and abstract, so a
change of upvotes or of anything else costs nothing.

* ``result.npz``: the last answer: ids and text hashes of all papers, a key of the
  reference set (its papers' ids and text hashes), and per paper its related papers with
  their exact scores and hints.
* ``tokens.npz`` (the base): the term counts of every text at the last full computation,
  their weights and the reference set's document frequencies.  Written by full
  computations only.
* ``recent.npz``: the term counts of the texts counted since (a month's worth at most), in
  their own canonical space.

What a build does:

* Nothing changed (same ids, texts and reference set): the answer is reused (0.08 s at
  10,000 papers).
* Same reference set, papers added, edited or removed (``update``): the base's rows keep
  their weights and columns; the other texts are counted (from ``recent.npz``, or tokenised)
  and weighed in their own space, then mapped onto the base's columns, terms the base has
  never seen going past its end (no reference paper uses them).  The new and edited papers
  are scored exactly against every paper: that gives their own lists and, for every other
  paper, the new papers that enter its cached top five.  A paper whose cached list holds an
  edited or removed paper gets its list recomputed in full.  Hints are computed for new
  pairs only, their ties ordered by the terms themselves (``term_key``) since the working
  columns are not in canonical order.  When more than ``1 / INCREMENTAL_SHARE`` of the
  papers need a full row, everything is recomputed instead (it is then as cheap).  One new
  day of 50 papers at 10,000 papers: 0.21 s (a clean computation: 1.4 s).
* Reference set changed (a new month, an old paper edited or removed): everything is
  recomputed from the cached counts, without tokenising (1.1 s at 10,000 papers).
* A missing, unreadable or foreign cache is ignored (the answer is computed and the cache
  rewritten); files are replaced atomically, the counts before the result.  The result is
  the same whichever way it was reached: tests/test_related.py compares incremental and
  clean computations after every kind of change, on corpora full of exact and near ties.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import math
import os
import re
import tempfile
import zipfile
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from site_builder.content import Paper
from site_builder.workers import can_fork, fork_map, worker_count

TOP = 5  # related papers per paper
HINT_TERMS = 3  # shared key terms shown per related paper
HINT_CANDIDATES = 6  # best shared terms of a pair considered for its hint
HINT_BATCH = 2_048  # pairs whose shared terms are computed at once (< 2**14)
# TfidfVectorizer's default token_pattern is r"(?u)\b\w\w+\b": runs of two or more word
# characters; this finds the same runs about a third faster.
TOKEN_RE = re.compile(r"\w\w+")
# A byte of UTF-8 text -> itself if it can be part of a word (ASCII letters, digits and "_",
# every byte of another character), else a space: see Vocabulary.
WORD_BYTES = bytes(byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else 0x20
                   for byte in range(256))
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
TEXTS_PER_WORKER = 2_000  # fewer texts per worker process: tokenise them in this one
MAX_WORKERS = 8  # threads each hold two blocks of scores (16 MB); a container may show 64 cores
CHUNK_CELLS = 2_000_000  # scores per block (8 MB of float32; two blocks are held)
DENSE_MAX = 512  # most frequent terms multiplied as a dense matrix, at most
DENSE_RATIO = 40  # ... those in at least 1/40 of the papers (measured: benchmarks/related.py)
FOLD = 128  # column groups for the top-five lower bound
SCALE_BITS = 24  # weights are whole multiples of 2**-24 (at most 2**24 of them)
UNIT = 2.0 ** -24  # float32 unit roundoff
REFERENCE_MIN = 500  # a smaller reference set means the whole archive (module docstring)
INCREMENTAL_SHARE = 10  # more than 1/10 of the rows to redo: recompute all (measured)
CACHE_VERSION = "related-3"  # change whenever the answer for the same texts would change
CACHE_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, EOFError,
                zipfile.BadZipFile)  # what reading a damaged or foreign cache file raises
TERM_BREAK = "|"  # joins a hint's terms in the cache (never in a term: words are \w+)
Found = tuple[np.ndarray, np.ndarray, np.ndarray]  # candidates: rows, columns, float32 scores

@dataclass
class Related:
    """A related paper and the key terms both papers share (the score stays hidden)."""

    paper: Paper
    terms: tuple[str, ...]


def related_papers(papers: Iterable[Paper], cache_dir: Path | None = None,
                   jobs: int = 0) -> dict[str, list[Related]]:
    """Every paper's id -> its (up to) five most similar papers, most similar first.

    ``jobs`` as ``--jobs``: how many processes or threads may share big computations (0: as
    many as there are cores); the answer never depends on it.
    """
    ordered = sorted(papers, key=lambda p: p.id)
    if len(ordered) < 2:
        return {paper.id: [] for paper in ordered}
    with paused_gc():  # tens of thousands of small acyclic objects: no collections needed
        store = RelatedCache(cache_dir) if cache_dir is not None else None
        workers = min(worker_count(jobs), MAX_WORKERS)
        return answer(ordered, find_lists(ordered, store, workers))


def find_lists(ordered: list[Paper], store: RelatedCache | None, workers: int = 1) -> Lists:
    """The lists: reused, updated from the cache, or computed in full (module docstring)."""
    ids = [paper.id for paper in ordered]
    hashes = [text_hash(paper) for paper in ordered]
    reference = reference_rows(ordered)
    key = reference_key(ids, hashes, reference)
    state = store.load_state() if store is not None else None
    if (state is not None and state.reference == key and state.ids == ids
            and state.hashes == hashes):
        return state.lists
    base = store.load_base() if store is not None else None
    recent = store.load_recent() if store is not None else None
    if store is not None and state is not None and base is not None \
            and state.reference == key == base.reference:
        found = update(state, base, recent, ordered, hashes, reference)
        if found is not None:
            lists, recent = found
            store.save_recent(recent)
            store.save_state(State(ids, hashes, key, lists))
            return lists
    cached = [corpus for corpus in (base.corpus if base else None, recent) if corpus is not None]
    corpus = gather_counts(ordered, hashes, cached, workers)
    frequency = reference_frequency(corpus.counts, reference)
    matrix = quantise(tfidf(corpus.counts, idf_of(frequency, int(reference.sum()))))
    lists = all_lists(matrix, corpus.space, workers)
    if store is not None:
        store.save_base(Base(corpus, matrix, frequency, key))
        store.remove_recent()
        store.save_state(State(ids, hashes, key, lists))
    return lists


@contextmanager
def paused_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Lists:
    """Every paper's related papers, one after the other: paper i has ``lengths[i]``."""

    lengths: np.ndarray  # int64, per paper
    columns: np.ndarray  # int64: the related paper's row
    scores: np.ndarray  # int64: the exact score
    hints: list[tuple[str, ...]]

    def starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)


def answer(ordered: list[Paper], lists: Lists) -> dict[str, list[Related]]:
    result: dict[str, list[Related]] = {}
    columns, hints, position = lists.columns.tolist(), lists.hints, 0
    for paper, length in zip(ordered, lists.lengths.tolist(), strict=True):
        end = position + length
        result[paper.id] = [Related(ordered[column], terms) for column, terms
                            in zip(columns[position:end], hints[position:end], strict=True)]
        position = end
    return result


def paper_text(paper: Paper) -> str:
    """The text compared: title and abstract, without URLs and LaTeX commands."""
    return NOISE_RE.sub(" ", paper.title + "\n" + paper.abstract)


def text_hash(paper: Paper) -> str:
    """What the cache knows a text by: a hash of title and abstract as written."""
    text = paper.title + "\n" + paper.abstract
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def versions() -> str:
    return f"{CACHE_VERSION} {np.__version__} {scipy.__version__}"


def reference_rows(ordered: list[Paper]) -> np.ndarray:
    """Which papers form the reference set for the idf (see the module docstring)."""
    newest = max(paper.day for paper in ordered)
    month = newest.replace(day=1)
    before = np.fromiter((paper.day < month for paper in ordered), bool, len(ordered))
    size = int(before.sum())
    if size < REFERENCE_MIN or 2 * size < len(ordered):
        return np.ones(len(ordered), bool)
    return before


def reference_key(ids: list[str], hashes: list[str], reference: np.ndarray) -> str:
    """Names the reference set: its papers' ids and texts (and the algorithm's version)."""
    digest = hashlib.blake2b(versions().encode(), digest_size=16)
    rows = np.flatnonzero(reference).tolist()
    digest.update("\0".join(f"{ids[row]}\0{hashes[row]}" for row in rows).encode(
        "utf-8", "surrogatepass"))
    return f"{len(rows)}-{digest.hexdigest()}"


# --- tokens and term counts ------------------------------------------------------------


@dataclass
class Space:
    """The terms: column c < len(unigrams) is unigrams[c] (sorted); column len(unigrams) + b
    is the bigram of unigram columns divmod(bigrams[b], len(unigrams)) (codes sorted)."""

    unigrams: list[str]
    bigrams: np.ndarray  # int64

    @property
    def size(self) -> int:
        return len(self.unigrams) + len(self.bigrams)

    def term(self, column: int) -> str:
        count = len(self.unigrams)
        if column < count:
            return self.unigrams[column]
        first, second = divmod(int(self.bigrams[column - count]), count)
        return self.unigrams[first] + " " + self.unigrams[second]


@dataclass
class Corpus:
    """Term counts per text (rows in the order of ``hashes``) in one space of terms."""

    space: Space
    counts: sp.csr_matrix  # int32 counts, indices sorted within rows
    hashes: list[str]


class Vocabulary:
    """Words -> ids (the next id for a new word); the separator and the stop words come first.

    Texts are cut into runs of word bytes (``WORD_BYTES`` of their UTF-8 form), faster than a
    regular expression.  An ASCII run of two or more bytes is exactly one of scikit-learn's
    tokens (``TOKEN_RE``, two or more word characters); an ASCII run of one byte is no token; a
    run with other characters is split by ``TOKEN_RE`` itself (it may hold an en dash or a
    curly quote).  Every run gets an id and the ids of the tokens it stands for.
    """

    def __init__(self) -> None:
        self.ids: defaultdict[bytes, int] = defaultdict()
        self.ids.default_factory = self.ids.__len__
        self.tokens: list[tuple[int, ...]] = []  # run id -> its tokens' ids
        for word in (SEPARATOR, *STOP_WORDS):
            self.ids[word.encode()]

    def words(self, chosen: Iterable[int]) -> list[str]:
        """The words of the chosen ids."""
        runs = list(self.ids)
        return [runs[i].decode("utf-8", "surrogatepass") for i in chosen]

    def token_ids(self, text: str) -> np.ndarray:
        """The ids of the text's tokens, in order."""
        found = text.encode("utf-8", "surrogatepass").translate(WORD_BYTES).split()
        runs = np.fromiter(map(self.ids.__getitem__, found), np.int64, len(found))
        self.learn_runs()
        sizes = np.fromiter(map(len, self.tokens), np.int64, len(self.tokens))
        flat = np.fromiter(itertools.chain.from_iterable(self.tokens), np.int64, int(sizes.sum()))
        counts = sizes[runs]
        ends = np.cumsum(counts)
        first = (np.cumsum(sizes) - sizes)[runs]
        return flat[np.repeat(first - (ends - counts), counts) + np.arange(int(ends[-1:].sum()))]

    def learn_runs(self) -> None:
        """Gives the runs met since the last call their tokens (which may be new words)."""
        while len(self.tokens) < len(self.ids):
            runs = list(itertools.islice(self.ids, len(self.tokens), None))
            for run in runs:
                if run.isascii():
                    self.tokens.append((self.ids[run],) if len(run) > 1 else ())
                else:
                    words = TOKEN_RE.findall(run.decode("utf-8", "surrogatepass"))
                    self.tokens.append(tuple(self.ids[word.encode("utf-8", "surrogatepass")]
                                             for word in words))


def word_ids(texts: list[str], vocabulary: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The texts' words (lower case, stop words removed) as ids, and each text's count.

    One pass over all texts joined by a separator word.
    """
    ids = vocabulary.token_ids(f" {SEPARATOR} ".join(text.lower() for text in texts))
    text_of = np.cumsum(ids == 0)  # the separator's id is 0
    keep = ids > len(STOP_WORDS)
    return ids[keep], np.bincount(text_of[keep], minlength=len(texts))


def count_terms(texts: list[str]) -> tuple[Space, sp.csr_matrix]:
    """Unigram and bigram counts of the texts, in the canonical order of their own terms."""
    vocabulary = Vocabulary()
    parts = [word_ids(texts[start:start + TOKEN_BATCH], vocabulary)
             for start in range(0, len(texts), TOKEN_BATCH)]
    ids = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, np.int64)
    lengths = np.concatenate([part[1] for part in parts]) if parts else np.zeros(0, np.int64)
    size = len(vocabulary.ids)
    present = np.flatnonzero(np.bincount(ids, minlength=size))
    names = vocabulary.words(present.tolist())
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.full(size, -1, np.int64)
    rank[present[order]] = np.arange(len(order))
    unigrams = [names[i] for i in order]
    tokens = rank[ids]
    rows = np.repeat(np.arange(len(texts)), lengths)
    same_text = rows[1:] == rows[:-1]
    codes = (tokens[:-1] * len(unigrams) + tokens[1:])[same_text]
    bigrams, bigram_columns = np.unique(codes, return_inverse=True)
    columns = np.concatenate([tokens, len(unigrams) + bigram_columns.ravel()])
    counts = sp.csr_matrix(
        (np.ones(len(columns), np.int32), (np.concatenate([rows, rows[1:][same_text]]), columns)),
        shape=(len(texts), len(unigrams) + len(bigrams)),
    )
    counts.sum_duplicates()  # also sorts each row's columns
    return Space(unigrams, bigrams.astype(np.int64)), counts


def count_parts(texts: list[str], workers: int) -> list[tuple[int, Space, sp.csr_matrix]]:
    """The texts' counts in consecutive parts (first text, space, counts), one per worker
    process when there are enough texts; no parts for no texts."""
    if not texts:
        return []
    workers = min(workers, len(texts) // TEXTS_PER_WORKER)
    if workers <= 1 or not can_fork():
        return [(0, *count_terms(texts))]
    bounds = [len(texts) * part // workers for part in range(workers + 1)]
    slices = list(zip(bounds[:-1], bounds[1:], strict=True))
    counted = fork_map(count_slice, texts, slices, workers)
    return [(start, space, counts) for (start, _end), (space, counts)
            in zip(slices, counted, strict=True)]


def count_slice(texts: list[str], bounds: tuple[int, int]) -> tuple[Space, sp.csr_matrix]:
    start, end = bounds
    return count_terms(texts[start:end])


def merge_spaces(old: Space, new: Space) -> tuple[Space, np.ndarray, np.ndarray]:
    """Both spaces' terms in one canonical space, and each one's column -> its column there.

    Both maps are increasing, so a row's columns stay sorted.
    """
    positions = np.array([bisect_left(old.unigrams, word) for word in new.unigrams], np.int64)
    known = np.array([p < len(old.unigrams) and old.unigrams[p] == word
                      for p, word in zip(positions.tolist(), new.unigrams, strict=True)], bool)
    word_old, word_new, total = insert_sorted(len(old.unigrams), positions, known)
    merged: list[str] = [""] * total
    for column, word in zip(word_old.tolist(), old.unigrams, strict=True):
        merged[column] = word
    for column, word in zip(word_new.tolist(), new.unigrams, strict=True):
        merged[column] = word
    count = len(merged)

    def recode(space: Space, words: np.ndarray) -> np.ndarray:
        first, second = np.divmod(space.bigrams, max(len(space.unigrams), 1))
        return words[first] * count + words[second]

    old_codes, new_codes = recode(old, word_old), recode(new, word_new)
    positions = np.searchsorted(old_codes, new_codes)
    known = np.zeros(len(new_codes), bool)
    inside = positions < len(old_codes)
    known[inside] = old_codes[positions[inside]] == new_codes[inside]
    pair_old, pair_new, total = insert_sorted(len(old_codes), positions, known)
    bigrams = np.empty(total, np.int64)
    bigrams[pair_old] = old_codes
    bigrams[pair_new] = new_codes
    space = Space(merged, bigrams)
    return (space, np.concatenate([word_old, count + pair_old]).astype(np.int32),
            np.concatenate([word_new, count + pair_new]).astype(np.int32))


def insert_sorted(size: int, positions: np.ndarray,
                  known: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Merging sorted new items into ``size`` sorted old ones: each one's merged index.

    ``positions`` are the new items' ``searchsorted`` places among the old ones and ``known``
    says which of them are equal to the old item there.
    """
    inserted = positions[~known]  # non-decreasing
    shift = np.cumsum(np.bincount(inserted, minlength=size + 1))[:size]
    old_index = np.arange(size, dtype=np.int64) + shift
    new_index = np.empty(len(positions), np.int64)
    new_index[known] = old_index[positions[known]]
    new_index[~known] = inserted + np.arange(len(inserted))
    return old_index, new_index, size + len(inserted)


def gather_counts(ordered: list[Paper], hashes: list[str], cached: list[Corpus],
                  workers: int = 1) -> Corpus:
    """Every paper's counts: cached rows for texts counted before, the rest tokenised now.

    The rows are in the order of ``hashes``, in one canonical space of exactly their terms.
    """
    if not hashes:
        return Corpus(Space([], np.zeros(0, np.int64)), sp.csr_matrix((0, 0), dtype=np.int32), [])
    known: dict[str, tuple[int, int]] = {}
    for part, corpus in reversed(list(enumerate(cached))):  # the first corpus wins
        known.update((h, (part, row)) for row, h in enumerate(corpus.hashes))
    found = [known.get(h, (-1, -1)) for h in hashes]
    missing = [index for index, (part, _row) in enumerate(found) if part < 0]
    if not missing and len(cached) and all(part == 0 for part, _ in found) \
            and cached[0].hashes == hashes:
        return compact(cached[0])
    parts = list(cached)
    texts = [paper_text(ordered[index]) for index in missing]
    for start, space, counts in count_parts(texts, workers):
        chosen = missing[start:start + counts.shape[0]]
        parts.append(Corpus(space, counts, [hashes[index] for index in chosen]))
        for row, index in enumerate(chosen):
            found[index] = (len(parts) - 1, row)
    used = sorted({part for part, _ in found})
    space = parts[used[0]].space
    maps = {used[0]: np.arange(space.size, dtype=np.int64)}
    for part in used[1:]:
        space, old_map, new_map = merge_spaces(space, parts[part].space)
        maps = {k: old_map[m] for k, m in maps.items()}
        maps[part] = new_map
    offsets, pointers, data, indices = {}, [], [], []
    total = 0
    for part in used:
        counts = parts[part].counts
        offsets[part] = total
        pointers.append(counts.indptr[:-1] + sum(len(d) for d in data))
        data.append(counts.data)
        indices.append(maps[part][counts.indices].astype(np.int32))
        total += counts.shape[0]
    pointers.append(np.array([sum(len(d) for d in data)]))
    indptr = np.concatenate(pointers).astype(np.int64)
    rows = np.array([offsets[part] + row for part, row in found], np.int64)
    lengths = indptr[rows + 1] - indptr[rows]
    ends = np.cumsum(lengths)
    where = np.repeat(indptr[rows] - (ends - lengths), lengths) + np.arange(int(ends[-1]))
    matrix = sp.csr_matrix((np.concatenate(data)[where], np.concatenate(indices)[where],
                            np.concatenate([[0], ends])), shape=(len(hashes), space.size))
    return compact(Corpus(space, matrix, list(hashes)))


def locate(base: Space, space: Space) -> np.ndarray:
    """Each column of ``space`` -> the same term's column in ``base``, or -1."""
    positions = [bisect_left(base.unigrams, word) for word in space.unigrams]
    words = np.array([p if p < len(base.unigrams) and base.unigrams[p] == word else -1
                      for p, word in zip(positions, space.unigrams, strict=True)], np.int64)
    first, second = np.divmod(space.bigrams, max(len(space.unigrams), 1))
    a, b = words[first], words[second]
    codes = a * len(base.unigrams) + b
    places = np.searchsorted(base.bigrams, codes)
    found = (a >= 0) & (b >= 0) & (places < len(base.bigrams))
    found[found] = base.bigrams[places[found]] == codes[found]
    pairs = np.where(found, len(base.unigrams) + places, -1)
    return np.concatenate([words, pairs])


def compact(corpus: Corpus) -> Corpus:
    """The same counts without the terms no text uses (columns renumbered, order kept)."""
    space, counts = corpus.space, corpus.counts
    used = np.bincount(counts.indices, minlength=space.size) > 0
    if used.all():
        return corpus
    words = len(space.unigrams)
    renumber = (np.cumsum(used) - 1).astype(np.int64)
    unigrams = [word for word, keep in zip(space.unigrams, used[:words].tolist(), strict=True)
                if keep]
    first, second = np.divmod(space.bigrams[used[words:]], max(words, 1))
    bigrams = renumber[first] * len(unigrams) + renumber[second]
    matrix = sp.csr_matrix((counts.data, renumber[counts.indices].astype(np.int32),
                            counts.indptr), shape=(counts.shape[0], int(used.sum())))
    return Corpus(Space(unigrams, bigrams), matrix, corpus.hashes)


# --- weights ---------------------------------------------------------------------------


def reference_frequency(counts: sp.csr_matrix, reference: np.ndarray) -> np.ndarray:
    """Each term's document frequency among the reference rows."""
    in_reference = np.repeat(reference, np.diff(counts.indptr))
    return np.bincount(counts.indices[in_reference], minlength=counts.shape[1])


def idf_of(frequency: np.ndarray, size: int) -> np.ndarray:
    """Smoothed idf ``ln((1 + n) / (1 + df)) + 1`` of a reference set of ``size`` papers.

    Computed with ``math.log`` once per df value, so every build gets the same bits.
    """
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
    """Weights as whole multiples of ``2**-SCALE_BITS``, stored as those whole numbers.

    Every weight is in (0, 1], so each number is in [1, 2**24] (a term present never
    rounds to nothing) and a product of two rows sums to less than ``2**49``.
    """
    numbers = np.maximum(np.rint(weights.data * 2.0 ** SCALE_BITS), 1.0)
    return sp.csr_matrix((numbers, weights.indices, weights.indptr), shape=weights.shape)


# --- nearest neighbours (all papers) ---------------------------------------------------


def nearest(matrix: sp.csr_matrix, top: int = TOP, workers: int = 1) -> list[list[int]]:
    """Each row's ``top`` best other rows by exact score (> 0), best first, ties by index.

    ``matrix`` holds whole-number weights (``quantise``).  Blocks of scores are computed in
    float32; the similarity matrix is symmetric, so only blocks on and above the diagonal are
    computed, and an off-diagonal block gives candidates to its rows and (transposed) to its
    columns.  Near ties are settled by exact scores (``Candidates.best``).  Blocks are
    computed by ``workers`` threads (numpy, scipy and BLAS let go of the interpreter lock),
    with single-threaded BLAS: ``workers`` is all the parallelism there is.
    """
    count = matrix.shape[0]
    blocks = -(-count * count // CHUNK_CELLS) if count * count > CHUNK_CELLS else 1
    blocks = max(1, int(np.ceil(np.sqrt(blocks))))
    size = -(-count // blocks // FOLD) * FOLD  # rows per block, a multiple of FOLD
    padded = size * blocks
    scaled = sp.csr_matrix(((matrix.data * 2.0 ** -SCALE_BITS).astype(np.float32),
                            matrix.indices, matrix.indptr), shape=matrix.shape)  # exact
    dense, tail = split_columns(scaled, padded)
    factor = separation(dense.shape[1], tail)
    starts = list(range(0, padded, size))
    tail_t = [sp.csr_matrix(tail[s:s + size].T) for s in starts]

    def candidates(block: tuple[int, int]) -> list[tuple[Found, int, int]]:
        i, j = block
        row_start, col_start = starts[i], starts[j]
        scores = sp.csr_matrix(tail[row_start:row_start + size] @ tail_t[j]).toarray()
        scores += dense[row_start:row_start + size] @ dense[col_start:col_start + size].T
        if i == j:
            np.fill_diagonal(scores, -np.inf)
        mask_padding(scores, count - row_start, count - col_start)
        found = [(top_of_rows(scores, top, factor), row_start, col_start)]
        if i != j:
            found.append((top_of_columns(scores, top, factor), col_start, row_start))
        return found

    pairs = [(i, j) for i in range(len(starts)) for j in range(i, len(starts))]
    found = Candidates(count, top, factor)
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        for block in pool.map(candidates, pairs) if workers > 1 else map(candidates, pairs):
            for part, row_start, col_start in block:
                found.add(part, row_start, col_start)
    return found.best(matrix)


def separation(dense_columns: int, tail: sp.csr_matrix) -> float:
    """``1 - 3 delta``, with ``delta`` a bound of a float32 score's relative error.

    The weights are exact in float32 (whole numbers up to 2**24 times 2**-24).  A score is a
    sum of non-negative products: at most ``dense_columns`` of them in the dense product (BLAS,
    any order), at most the longest tail row's count in the sparse one, then one addition; a
    sum of k rounded products is within ``k u / (1 - k u)`` of the exact value relative to it,
    in any order (u = 2**-24).  So with ``k`` = both counts plus a few, exact and float32
    scores are within ``delta`` of each other, relative, and two float32 scores whose ratio is
    below ``1 - 3 delta`` are in the same order exactly (``(1 - delta) / (1 + delta)`` would
    do; the rest covers rounding the bound itself).
    """
    longest = int(np.diff(tail.indptr).max(initial=0))
    terms = dense_columns + longest + 4
    delta = 1.01 * terms * UNIT / (1.0 - terms * UNIT)
    return 1.0 - 3.0 * delta


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


def top_of_rows(scores: np.ndarray, top: int, factor: float) -> Found:
    """Every entry that can be among its row's ``top`` best: (rows, columns, scores).

    The columns are folded into FOLD interleaved groups; the ``top``-th largest group
    maximum is at most the row's ``top``-th largest score, so entries below ``factor`` times
    it are never needed (``separation``).
    """
    count, width = scores.shape
    folded = scores.reshape(count, width // FOLD, FOLD)  # column = g * FOLD + f
    group_max = folded.max(axis=1)  # (row, f)
    bound = lower_bound(group_max, top, axis=1, factor=factor)
    rows, groups = np.nonzero(group_max >= bound[:, None])
    values = folded[rows, :, groups]  # (candidate group, g)
    hit, position = np.nonzero(values >= bound[rows, None])
    return rows[hit], position * FOLD + groups[hit], values[hit, position]


def top_of_columns(scores: np.ndarray, top: int, factor: float) -> Found:
    """``top_of_rows`` of the transposed scores, without copying them: (columns, rows, ...)."""
    height, count = scores.shape
    folded = scores.reshape(height // FOLD, FOLD, count)  # row = g * FOLD + f
    group_max = folded.max(axis=0)  # (f, column)
    bound = lower_bound(group_max, top, axis=0, factor=factor)
    groups, columns = np.nonzero(group_max >= bound[None, :])
    values = folded[:, groups, columns]  # (g, candidate group)
    position, hit = np.nonzero(values >= bound[columns][None, :])
    return columns[hit], position * FOLD + groups[hit], values[position, hit]


def lower_bound(group_max: np.ndarray, top: int, axis: int, factor: float) -> np.ndarray:
    kth = FOLD - top
    bound = np.take(np.partition(group_max, kth, axis=axis), kth, axis=axis) * factor
    return np.maximum(bound, np.finfo(np.float32).tiny)  # a score of 0 is never related


class Candidates:
    """Candidate (row, column, float32 score) triples, reduced as the pile grows.

    A reduction keeps, per row, every candidate within ``factor`` of the row's ``top``-th
    best float32 score: the exact ``top`` best are among them (``separation``).
    """

    def __init__(self, count: int, top: int, factor: float):
        self.count, self.top, self.factor = count, top, factor
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, found: Found, row_start: int, col_start: int) -> None:
        rows, columns, values = found
        self.parts.append((rows + row_start, columns + col_start, values))
        self.size += len(rows)
        if self.size > 8 * self.top * self.count:
            self.parts = [self.reduce()]
            self.size = len(self.parts[0][0])

    def reduce(self) -> Found:
        """The kept candidates, sorted by row, then score (highest first)."""
        if not self.parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows, columns, values = (np.concatenate(part) for part in zip(*self.parts, strict=True))
        values = values.astype(np.float32)
        bits = values.view(np.uint32).astype(np.int64)  # increasing with a positive float
        order = np.argsort((rows.astype(np.int64) << 32) | (0xFFFFFFFF - bits))
        rows, columns, values = rows[order], columns[order], values[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        fifth = np.zeros(self.count, np.float32)
        at = rank == self.top - 1
        fifth[rows[at]] = values[at]
        keep = values >= fifth[rows] * np.float32(self.factor)
        return rows[keep], columns[keep], values[keep]

    def best(self, matrix: sp.csr_matrix) -> list[list[int]]:
        """Each row's ``top`` best columns by exact score, best first, ties by column."""
        rows, columns, values = self.reduce()
        result: list[list[int]] = [[] for _ in range(self.count)]
        unclear = np.bincount(rows, minlength=self.count) > self.top
        close = (rows[1:] == rows[:-1]) & (values[1:] >= values[:-1] * np.float32(self.factor))
        unclear[rows[1:][close]] = True
        exact = unclear[rows]
        for row, column in zip(rows[~exact].tolist(), columns[~exact].tolist(), strict=True):
            result[row].append(column)
        if exact.any():
            rows, columns = rows[exact], columns[exact]
            scores = pair_scores(matrix, rows, columns)
            order = np.lexsort((columns, -scores, rows))
            rows, columns = rows[order], columns[order]
            keep = np.arange(len(rows)) - np.searchsorted(rows, rows) < self.top
            for row, column in zip(rows[keep].tolist(), columns[keep].tolist(), strict=True):
                result[row].append(column)
        return result


def all_lists(matrix: sp.csr_matrix, space: Space, workers: int = 1) -> Lists:
    """Every row's related rows with exact scores and hints, from scratch."""
    count = matrix.shape[0]
    neighbours = nearest(matrix, TOP, workers)
    lengths = np.array([len(found) for found in neighbours], np.int64)
    rows = np.repeat(np.arange(count), lengths)
    columns = np.fromiter(itertools.chain.from_iterable(neighbours), np.int64, len(rows))
    pair_keys = np.minimum(rows, columns) * count + np.maximum(rows, columns)
    keys = np.unique(pair_keys)
    scores, hints = describe_pairs(lambda chosen: matrix[chosen], keys // count, keys % count,
                                   space.term, workers=workers)
    where = np.searchsorted(keys, pair_keys)
    return Lists(lengths, columns, scores[where], [hints[at] for at in where.tolist()])


# --- incremental ----------------------------------------------------------------------


@dataclass
class State:
    """The last answer: papers (sorted by id), text hashes, reference key, lists."""

    ids: list[str]
    hashes: list[str]
    reference: str
    lists: Lists


@dataclass
class Base:
    """Counts and weights of every text at the last full computation, and its reference set."""

    corpus: Corpus
    weights: sp.csr_matrix  # quantised, same rows and columns as the counts
    frequency: np.ndarray  # df among the reference papers, per column
    reference: str  # reference_key of that computation


class Rows:
    """The rows of several matrices of one width, numbered one after the other."""

    def __init__(self, parts: list[sp.csr_matrix]):
        self.parts = parts
        self.offsets = np.cumsum([0, *(part.shape[0] for part in parts)])

    def take(self, chosen: np.ndarray) -> sp.csr_matrix:
        pieces, places = [], []
        for part, start, end in zip(self.parts, self.offsets[:-1], self.offsets[1:],
                                    strict=True):
            inside = np.flatnonzero((chosen >= start) & (chosen < end))
            if len(inside):
                pieces.append(part[chosen[inside] - start])
                places.append(inside)
        if not pieces:
            return sp.csr_matrix((0, self.parts[0].shape[1]))
        matrix = sp.csr_matrix(sp.vstack(pieces, format="csr"))
        return sp.csr_matrix(matrix[np.argsort(np.concatenate(places))])


def update(state: State, base: Base, recent: Corpus | None, ordered: list[Paper],
           hashes: list[str], reference: np.ndarray,
           top: int = TOP) -> tuple[Lists, Corpus] | None:
    """The lists of ``ordered`` from the cached ones, the reference set being the same.

    Also returns the counts of the texts that the base does not hold.  ``None`` when so
    much changed that recomputing everything is cheaper.
    """
    count = len(ordered)
    old_row = {pid: row for row, pid in enumerate(state.ids)}
    source = np.fromiter((old_row.get(paper.id, -1) for paper in ordered), np.int64, count)
    for row in np.flatnonzero(source >= 0).tolist():
        if state.hashes[source[row]] != hashes[row]:
            source[row] = -1  # edited
    same = source >= 0
    moved = np.full(len(state.ids), -1, np.int64)  # state row -> row now, -1 if gone
    moved[source[same]] = np.flatnonzero(same)
    cached = state.lists
    old_starts = cached.starts()
    owner = np.repeat(np.arange(len(state.ids)), cached.lengths)  # state row of each entry
    target = moved[cached.columns]
    broken = moved[np.unique(owner[target < 0])]
    dirty = np.union1d(np.flatnonzero(~same), broken[broken >= 0]).astype(np.int64)
    if len(dirty) > max(TOP, count // INCREMENTAL_SHARE):
        return None
    clean = same.copy()
    clean[dirty] = False
    fifth = np.zeros(count)  # a new paper must score at least this to enter a cached list
    full = np.flatnonzero(clean)
    full = full[cached.lengths[source[full]] >= top]
    fifth[full] = cached.scores[old_starts[source[full]] + top - 1]

    rows, term = working_rows(base, recent, ordered, hashes, reference)
    origin = rows.origin
    stacked = int(rows.offsets[-1])
    own: dict[int, list[tuple[int, int]]] = {}
    entering: dict[int, list[tuple[int, int]]] = defaultdict(list)
    step = max(1, CHUNK_CELLS // max(stacked, 1))
    changed = ~same
    for start in range(0, len(dirty), step):
        chunk = dirty[start:start + step]
        vectors = rows.take(origin[chunk])
        block = np.vstack([sp.csr_matrix(part @ vectors.T).toarray() for part in rows.parts])
        scores = block[origin]  # exact whole numbers, (paper, chunk)
        scores[chunk, np.arange(len(chunk))] = 0.0  # not related to itself
        for column, row, score in top_entries(scores, top):
            own.setdefault(int(chunk[column]), []).append((row, score))
        new = changed[chunk]
        part = scores[:, new]
        hit_rows, hit_columns = np.nonzero((part > 0) & (part >= fifth[:, None])
                                           & clean[:, None])
        for row, other, score in zip(hit_rows.tolist(), chunk[new][hit_columns].tolist(),
                                     part[hit_rows, hit_columns].astype(np.int64).tolist(),
                                     strict=True):
            entering[row].append((other, score))

    # rows whose cached list stands as it is: their entries, renumbered
    standing = clean.copy()
    standing[list(entering)] = False
    keep = standing[np.maximum(moved[owner], 0)] & (moved[owner] >= 0)
    kept = np.flatnonzero(keep)
    entry_rows = [moved[owner[kept]]]
    entry_places = [kept - old_starts[owner[kept]]]
    entry_columns = [target[kept]]
    entry_scores = [cached.scores[kept]]
    hints: list[tuple[str, ...] | None] = [cached.hints[i] for i in kept.tolist()]
    # the other rows: merged or recomputed lists
    redo_rows, redo_columns, redo_scores = [], [], []
    for row in sorted([*own, *entering, *(r for r in dirty.tolist() if r not in own)]):
        if row in entering:
            begin = old_starts[source[row]]
            pool = [(int(target[i]), int(cached.scores[i]), cached.hints[i])
                    for i in range(begin, begin + int(cached.lengths[source[row]]))]
            pool += [(other, score, None) for other, score in entering[row]]
            chosen = sorted(pool, key=lambda entry: (-entry[1], entry[0]))[:top]
        else:
            chosen = [(other, score, known_hint(state, old_starts, source, row, other))
                      for other, score in own.get(row, [])]
        for other, score, terms in chosen:
            redo_rows.append(row)
            redo_columns.append(other)
            redo_scores.append(score)
            hints.append(terms)
    entry_rows.append(np.array(redo_rows, np.int64))
    entry_places.append(np.zeros(len(redo_rows), np.int64))  # already in order, after kept
    entry_columns.append(np.array(redo_columns, np.int64))
    entry_scores.append(np.array(redo_scores, np.int64))
    all_rows = np.concatenate(entry_rows)
    order = np.lexsort((np.arange(len(all_rows)), np.concatenate(entry_places), all_rows))
    columns = np.concatenate(entry_columns)[order]
    scores_flat = np.concatenate(entry_scores)[order]
    hints = [hints[i] for i in order.tolist()]
    all_rows = all_rows[order]
    missing = sorted({(min(a, b), max(a, b)) for a, b, terms
                      in zip(all_rows.tolist(), columns.tolist(), hints, strict=True)
                      if terms is None})
    if missing:
        first = np.array([a for a, _ in missing], np.int64)
        second = np.array([b for _, b in missing], np.int64)
        _scores, found = describe_pairs(lambda chosen: rows.take(origin[chosen]), first, second,
                                        term, canonical=False)
        named = dict(zip(missing, found, strict=True))
        hints = [terms if terms is not None else named[(min(a, b), max(a, b))]
                 for a, b, terms in zip(all_rows.tolist(), columns.tolist(), hints, strict=True)]
    lengths = np.bincount(all_rows, minlength=count).astype(np.int64)
    return Lists(lengths, columns, scores_flat, hints), rows.recent


class WorkingRows(Rows):
    """Every paper's weights in one working space (see ``working_rows``)."""

    origin: np.ndarray  # paper -> stacked row
    recent: Corpus


def working_rows(base: Base, recent: Corpus | None, ordered: list[Paper], hashes: list[str],
                 reference: np.ndarray) -> tuple[WorkingRows, Callable[[int], str]]:
    """Weights of all papers without touching the base's big matrix.

    Texts the base holds keep its rows and columns; the other texts are counted (from the
    recent corpus or tokenised) in their own canonical space and weighed there, then their
    columns are mapped to the base's, or past its end for terms it has never seen (no
    reference paper uses those: the base holds every reference text).
    """
    base_row = {h: row for row, h in enumerate(base.corpus.hashes)}
    origin = np.fromiter((base_row.get(h, -1) for h in hashes), np.int64, len(hashes))
    outside = np.flatnonzero(origin < 0)
    corpus = gather_counts([ordered[i] for i in outside.tolist()],
                           [hashes[i] for i in outside.tolist()],
                           [recent] if recent is not None else [])
    located = locate(base.corpus.space, corpus.space)
    frequency = np.where(located >= 0, base.frequency[np.maximum(located, 0)], 0)
    weights = quantise(tfidf(corpus.counts, idf_of(frequency, int(reference.sum()))))
    fresh = np.flatnonzero(located < 0)
    size = base.corpus.space.size
    located[fresh] = size + np.arange(len(fresh))
    width = size + len(fresh)
    outer = sp.csr_matrix((weights.data, located[weights.indices], weights.indptr),
                          shape=(len(outside), width))
    outer.sort_indices()
    inner = base.weights
    inner = sp.csr_matrix((inner.data, inner.indices, inner.indptr),
                          shape=(inner.shape[0], width))
    rows = WorkingRows([inner, outer])
    origin[outside] = inner.shape[0] + np.arange(len(outside))
    rows.origin, rows.recent = origin, corpus
    space = base.corpus.space

    def term(column: int) -> str:
        if column < size:
            return space.term(column)
        return corpus.space.term(int(fresh[column - size]))

    return rows, term


def top_entries(scores: np.ndarray, top: int) -> list[tuple[int, int, int]]:
    """Each column's ``top`` best rows with a score > 0: (column, row, score), in order."""
    count = scores.shape[0]
    kth = count - min(top, count)
    fifth = np.partition(scores, kth, axis=0)[kth]
    rows, columns = np.nonzero((scores >= fifth[None, :]) & (scores > 0))
    values = scores[rows, columns]
    order = np.lexsort((rows, -values, columns))
    rows, columns, values = rows[order], columns[order], values[order]
    keep = np.arange(len(columns)) - np.searchsorted(columns, columns) < top
    return list(zip(columns[keep].tolist(), rows[keep].tolist(),
                    values[keep].astype(np.int64).tolist(), strict=True))


def known_hint(state: State, starts: np.ndarray, source: np.ndarray, row: int,
               other: int) -> tuple[str, ...] | None:
    """The cached hint of two unchanged papers, if the state lists them as a pair."""
    a, b = int(source[row]), int(source[other])
    if a < 0 or b < 0:
        return None
    for first, second in ((a, b), (b, a)):
        for i in range(starts[first], starts[first + 1]):
            if state.lists.columns[i] == second:
                return state.lists.hints[i]
    return None


# --- exact scores and shared key terms -------------------------------------------------


def pair_scores(matrix: sp.csr_matrix, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Exact scores (whole numbers) of the pairs of rows (first[i], second[i])."""
    result = np.zeros(len(first), np.int64)
    for start in range(0, len(first), HINT_BATCH):
        a, b = first[start:start + HINT_BATCH], second[start:start + HINT_BATCH]
        product = sp.csr_matrix(matrix[a].multiply(matrix[b]))
        rows = np.repeat(np.arange(len(a)), np.diff(product.indptr))
        result[start:start + len(a)] = np.bincount(rows, product.data, minlength=len(a))
    return result


def term_key(term: str) -> tuple[int, str, str]:
    """The canonical order of terms: words first, then bigrams, each alphabetical."""
    first, _, second = term.partition(" ")
    return (1 if second else 0, first, second)


def describe_pairs(take: Callable[[np.ndarray], sp.csr_matrix], first: np.ndarray,
                   second: np.ndarray, term: Callable[[int], str], canonical: bool = True,
                   limit: int = HINT_TERMS,
                   workers: int = 1) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Exact score and hint of each pair of rows (first[i], second[i]); ``take`` gives rows.

    The hint's candidates are the ``HINT_CANDIDATES`` shared terms with the largest product
    of weights (whole numbers, so exact), ties in canonical term order: the column order
    when the columns are ``canonical``, else ``term_key``; then ``pick_hint``.  Batches of
    pairs are shared by ``workers`` threads.
    """
    names: dict[int, tuple[str, tuple[str, ...]]] = {}

    def describe(start: int) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        a, b = first[start:start + HINT_BATCH], second[start:start + HINT_BATCH]
        product = sp.csr_matrix(take(a).multiply(take(b)))
        product.sort_indices()
        rows = np.repeat(np.arange(len(a)), np.diff(product.indptr))
        scores = np.bincount(rows, product.data, minlength=len(a)).astype(np.int64)
        values = product.data.astype(np.int64)  # at most 2**48
        if canonical:
            order = np.argsort((rows.astype(np.int64) << 49) | ((1 << 48) - values),
                               kind="stable")
        else:
            present = np.unique(product.indices)
            keys = [term_key(term(int(column))) for column in present.tolist()]
            rank = np.empty(len(present), np.int64)
            rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
            order = np.lexsort((rank[np.searchsorted(present, product.indices)], -values, rows))
        rank_in_row = np.arange(len(order)) - product.indptr[rows[order]]
        best = order[rank_in_row < HINT_CANDIDATES]
        starts = np.searchsorted(rows[best], np.arange(len(a) + 1)).tolist()
        columns = product.indices[best].tolist()
        for column in [column for column in set(columns) if column not in names]:
            name = term(column)  # names is shared by the threads: only read and set here
            names[column] = (name, tuple(name.split()))
        candidates = [names[column] for column in columns]
        return scores, [pick_hint(candidates[starts[i]:starts[i + 1]], limit)
                        for i in range(len(a))]

    batches = range(0, len(first), HINT_BATCH)
    if workers > 1 and len(batches) > 1:
        with ThreadPoolExecutor(min(workers, len(batches))) as pool:
            described = list(pool.map(describe, batches))
    else:
        described = [describe(start) for start in batches]
    scores = np.concatenate([np.zeros(0, np.int64), *(part[0] for part in described)])
    return scores, [hint for part in described for hint in part[1]]


def pick_hint(candidates: list[tuple[str, tuple[str, ...]]], limit: int) -> tuple[str, ...]:
    """Up to ``limit`` terms from the best-first candidates, without repeating a word.

    A term that repeats a word of a term already chosen is skipped ("noisy" after "noisy
    labels"), and a bigram whose words were both chosen as single words replaces them
    ("labels", "noisy" become "noisy labels").
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


# --- cache -----------------------------------------------------------------------------


class RelatedCache:
    """Files under ``<cache_dir>/related/``; anything unreadable counts as absent.

    ``result.npz`` (State), ``tokens.npz`` (Base: rewritten by full computations only) and
    ``recent.npz`` (counts of the texts added since, in their own space).
    """

    def __init__(self, cache_dir: Path):
        self.folder = Path(cache_dir) / "related"

    def load_state(self) -> State | None:
        """The last answer, if it is whole and was made by this version."""
        try:
            with np.load(self.folder / "result.npz", allow_pickle=False) as data:
                if str(data["version"]) != versions():
                    return None
                ids, hashes = text_list(data["ids"]), text_list(data["hashes"])
                reference = str(data["reference"])
                lengths = data["lengths"].astype(np.int64)
                columns = data["columns"].astype(np.int64)
                scores = data["scores"].astype(np.int64)
                terms = text_list(data["hints"])
        except CACHE_ERRORS:
            return None
        count = len(ids)
        if not (len(hashes) == count == len(lengths) and len(set(ids)) == count
                and ids == sorted(ids)
                and len(columns) == len(scores) == len(terms) == int(lengths.sum())
                and (lengths >= 0).all() and (lengths <= TOP).all()
                and (columns >= 0).all() and (columns < count).all()
                and (columns != np.repeat(np.arange(count), lengths)).all()
                and (scores > 0).all() and all(terms)):
            return None
        hints = [tuple(text.split(TERM_BREAK)) for text in terms]
        return State(ids, hashes, reference, Lists(lengths, columns, scores, hints))

    def save_state(self, state: State) -> None:
        lists = state.lists
        self.save("result.npz", {
            "ids": text_array(state.ids), "hashes": text_array(state.hashes),
            "reference": np.array(state.reference), "lengths": lists.lengths.astype(np.int8),
            "columns": lists.columns.astype(np.int32), "scores": lists.scores.astype(np.int64),
            "hints": text_array([TERM_BREAK.join(terms) for terms in lists.hints])})
        (self.folder / "result.json").unlink(missing_ok=True)  # an older version's

    def load_base(self) -> Base | None:
        try:
            with np.load(self.folder / "tokens.npz", allow_pickle=False) as data:
                corpus = corpus_of(data)
                weights = data["weights"].astype(np.float64)
                frequency = data["frequency"].astype(np.int64)
                reference = str(data["reference"])
        except CACHE_ERRORS:
            return None
        counts = corpus.counts
        if (len(weights) != counts.nnz or len(frequency) != counts.shape[1]
                or (weights < 1).any() or (weights > 2 ** SCALE_BITS).any()
                or (frequency < 0).any()):
            return None
        matrix = sp.csr_matrix((weights, counts.indices, counts.indptr), shape=counts.shape)
        return Base(corpus, matrix, frequency, reference)

    def save_base(self, base: Base) -> None:
        self.save("tokens.npz", {**corpus_arrays(base.corpus),
                                 "weights": base.weights.data.astype(np.int32),
                                 "frequency": base.frequency.astype(np.int32),
                                 "reference": np.array(base.reference)})

    def load_recent(self) -> Corpus | None:
        try:
            with np.load(self.folder / "recent.npz", allow_pickle=False) as data:
                return corpus_of(data)
        except CACHE_ERRORS:
            return None

    def save_recent(self, corpus: Corpus) -> None:
        self.save("recent.npz", corpus_arrays(corpus))

    def remove_recent(self) -> None:
        (self.folder / "recent.npz").unlink(missing_ok=True)

    def save(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".npz.tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, version=np.array(versions()), **arrays)
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def corpus_arrays(corpus: Corpus) -> dict[str, np.ndarray]:
    counts = corpus.counts
    data_type = np.uint16 if counts.data.max(initial=0) < 2 ** 16 else np.int32
    return {"unigrams": text_array(corpus.space.unigrams), "hashes": text_array(corpus.hashes),
            "bigrams": corpus.space.bigrams.astype(np.int64),
            "indptr": counts.indptr.astype(np.int64),
            "indices": counts.indices.astype(np.int32), "counts": counts.data.astype(data_type)}


def corpus_of(data: np.lib.npyio.NpzFile) -> Corpus:
    """The corpus saved by ``corpus_arrays``; ValueError if it is not whole."""
    if str(data["version"]) != versions():
        raise ValueError("another version's cache")
    unigrams, hashes = text_list(data["unigrams"]), text_list(data["hashes"])
    bigrams = data["bigrams"].astype(np.int64)
    indptr = data["indptr"].astype(np.int64)
    indices = data["indices"].astype(np.int32)
    counts = data["counts"].astype(np.int32)
    size = len(unigrams) + len(bigrams)
    if (len(indptr) != len(hashes) + 1 or indptr[0] != 0 or indptr[-1] != len(indices)
            or len(counts) != len(indices) or (np.diff(indptr) < 0).any()):
        raise ValueError("damaged counts")
    first = np.zeros(len(indices), bool)
    first[indptr[:-1][indptr[:-1] < len(indices)]] = True
    if ((len(indices) and (indices.min() < 0 or indices.max() >= size))
            or (counts <= 0).any() or (np.diff(indices)[~first[1:]] <= 0).any()
            or (np.diff(bigrams) <= 0).any()
            or (len(bigrams) and (bigrams[0] < 0 or bigrams[-1] >= len(unigrams) ** 2))
            or unigrams != sorted(unigrams)):
        raise ValueError("damaged counts")
    matrix = sp.csr_matrix((counts, indices, indptr), shape=(len(hashes), size))
    return Corpus(Space(unigrams, bigrams), matrix, hashes)


def text_array(texts: list[str]) -> np.ndarray:
    """Strings without newlines as one UTF-8 byte array (compact, no fixed width)."""
    return np.frombuffer("\n".join(texts).encode("utf-8", "surrogatepass"), np.uint8)


def text_list(array: np.ndarray) -> list[str]:
    text = array.astype(np.uint8).tobytes().decode("utf-8", "surrogatepass")
    return text.split("\n") if text else []
