"""Related papers: the definition (reference-set idf, postings, exact scores) against a
slow reference built on scikit-learn, ties, stability under daily growth, hints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import itertools
import random
import re
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    CountVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)

from site_builder import related
from site_builder.content import Paper, load_content
from site_builder.model import assign_topics
from site_builder.related import Related, related_papers

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from related import synthetic_papers  # noqa: E402  (benchmarks/related.py)

NOISY_RE = re.compile(r"nois\w* (?:label|annotation)|label noise|mislabel")


def load_corpus_module():
    spec = importlib.util.spec_from_file_location("bench_corpus", REPO / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def archive() -> list[Paper]:
    content = load_content(REPO / "content")
    assign_topics(content.papers, content.topics)
    return content.papers


@pytest.fixture(scope="module")
def archive_related(archive) -> dict[str, list[Related]]:
    return related_papers(archive)


def paper(pid: str, text: str, title: str = "", day: dt.date = dt.date(2026, 1, 5)) -> Paper:
    return Paper(id=pid, title=title or pid, day=day, abstract=text)


def ids(result: dict[str, list[Related]]) -> dict[str, list[str]]:
    return {pid: [item.paper.id for item in items] for pid, items in result.items()}


def flat(result: dict[str, list[Related]]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    return {pid: [(item.paper.id, item.terms) for item in items]
            for pid, items in result.items()}


def bench_papers(count: int, per_day: int = 20, seed: int = 7) -> list[Paper]:
    """benchmarks/corpus.py: a vocabulary of ~150 words, so scores are close and tie often."""
    records = load_corpus_module().generate(count, per_day=per_day, seed=seed)
    return [Paper(id=r["id"], title=r["title"], day=dt.date.fromisoformat(r["listed"]),
                  abstract=r["abstract"]) for r in records]


TIE_WORDS = ("graph neural network noisy labels diffusion model sparse attention kernel "
             "robust learning").split()


def near_tie_papers(count: int, seed: int = 1, per_day: int = 20,
                    start: dt.date = dt.date(2024, 1, 1)) -> list[Paper]:
    """Short texts over a dozen words: exact duplicates, the same words in another order,
    one word more: exact ties and near ties everywhere."""
    rng = random.Random(seed)
    papers: list[Paper] = []
    for index in range(count):
        roll = rng.random()
        if papers and roll < 0.15:
            other = rng.choice(papers)
            title, abstract = other.title, other.abstract
        elif papers and roll < 0.3:
            other = rng.choice(papers)
            words = other.abstract.split()
            rng.shuffle(words)
            title, abstract = other.title, " ".join(words)
        elif papers and roll < 0.4:
            other = rng.choice(papers)
            title, abstract = other.title, other.abstract + " " + rng.choice(TIE_WORDS)
        else:
            title = " ".join(rng.choices(TIE_WORDS, k=rng.randint(1, 3)))
            abstract = " ".join(rng.choices(TIE_WORDS, k=rng.randint(2, 9)))
        papers.append(Paper(id=f"p{index:05d}", title=title, abstract=abstract,
                            day=start + dt.timedelta(days=index // per_day)))
    return papers


# --- the definition, computed the slow way ---------------------------------------------------


def reference_tfidf(papers: list[Paper]) -> tuple[list[Paper], sp.csr_matrix, list[str]]:
    """scikit-learn's vectors with the idf of the reference rows: CountVectorizer over all
    papers, TfidfTransformer (smoothed idf, l2) fitted on the reference rows only."""
    ordered = sorted(papers, key=lambda p: p.id)
    texts = [related.paper_text(p) for p in ordered]
    vectoriser = CountVectorizer(ngram_range=(1, 2), stop_words="english")
    counts = vectoriser.fit_transform(texts)
    reference = np.flatnonzero(related.reference_rows(ordered))
    transformer = TfidfTransformer().fit(counts[reference])
    return ordered, transformer.transform(counts).tocsr(), vectoriser.get_feature_names_out()


def canonical(names: list[str]) -> list[int]:
    """scikit-learn's columns in the module's order: words, then bigrams, alphabetically."""
    return sorted(range(len(names)), key=lambda c: (" " in names[c], names[c].split()))


def best(values: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` largest values > 0, ties to the smaller index."""
    order = np.lexsort((np.arange(len(values)), -values))
    return [int(i) for i in order if values[i] > 0][:count]


def brute_force(papers: list[Paper], top: int = 5) -> dict[str, list[str]]:
    """The definition, step by step on dense arrays: scikit-learn's vectors, weights
    rounded to multiples of 2**-24, each paper's keywords, each keyword's postings per
    side, the keyword scores' candidates, and their exact full scores."""
    ordered, weights, names = reference_tfidf(papers)
    exact = weights.toarray()[:, canonical(list(names))]
    whole = np.where(exact > 0, np.maximum(np.rint(exact * 2.0 ** 24), 1.0), 0.0)
    whole[:, (whole > 0).sum(axis=0) < 2] = 0.0  # a term of one paper is never shared
    count = len(ordered)
    chosen = np.zeros_like(whole)
    for row in range(count):
        keep = best(whole[row], related.KEYWORDS)
        chosen[row, keep] = whole[row, keep]
    pairs: dict[tuple[int, int], np.ndarray] = {}  # two heavy keywords as one more term
    for row in range(count):
        for a, b in itertools.combinations(sorted(best(chosen[row], related.PAIRED)), 2):
            pairs.setdefault((a, b), np.zeros(count))[row] = min(chosen[row, a], chosen[row, b])
    chosen = np.hstack([chosen, np.array([pairs[key] for key in sorted(pairs)]).reshape(
        len(pairs), count).T])
    reference = related.reference_rows(ordered)
    kept = np.zeros_like(chosen)
    for side in (reference, ~reference):
        for column in range(chosen.shape[1]):
            rows = best(np.where(side, chosen[:, column], 0.0), related.POSTINGS)
            kept[rows, column] = chosen[rows, column]
    keyword_scores = kept @ kept.T
    np.fill_diagonal(keyword_scores, 0.0)
    exact_scores = whole @ whole.T
    np.fill_diagonal(exact_scores, 0.0)
    candidates = np.zeros((count, count), bool)
    for row in range(count):
        candidates[row, best(keyword_scores[row], related.CANDIDATES)] = True
    for row in np.flatnonzero(~candidates.any(axis=1)):  # linked to no other paper
        candidates[row, best(exact_scores[row], related.CANDIDATES)] = True
    candidates |= candidates.T
    full = np.where(candidates, exact_scores, 0.0)
    return {item.id: [ordered[c].id for c in best(full[row], top)]
            for row, item in enumerate(ordered)}


def weights_of(papers: list[Paper]) -> tuple[list[Paper], related.Terms, sp.csr_matrix]:
    ordered = sorted(papers, key=lambda p: p.id)
    terms, counts = related.count_terms([related.paper_text(p) for p in ordered])
    reference = related.reference_rows(ordered)
    frequency = related.reference_frequency(counts, reference)
    return ordered, terms, related.tfidf(counts, related.idf_of(frequency, int(reference.sum())))


def test_tfidf_matrix_equals_scikit_learns_vectoriser(archive):
    """The embedded archive is under 500 papers: the reference set is all of it."""
    ordered = sorted(archive, key=lambda p: p.id)
    assert related.reference_rows(ordered).all()
    _ordered, terms, weights = weights_of(archive)
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), stop_words="english")
    expected = vectoriser.fit_transform([related.paper_text(p) for p in ordered]).tocsr()
    names = [terms.name(c) for c in range(weights.shape[1])]
    assert names == sorted(names, key=lambda n: (" " in n, n.split()))  # canonical order
    assert sorted(names) == sorted(vectoriser.vocabulary_)
    columns = np.array([vectoriser.vocabulary_[name] for name in names])
    assert np.allclose(weights.toarray(), expected[:, columns].toarray(), atol=1e-12)


def test_tfidf_uses_the_reference_sets_idf_for_every_term(monkeypatch):
    monkeypatch.setattr(related, "REFERENCE_MIN", 100)
    papers = near_tie_papers(500, seed=4, start=dt.date(2023, 12, 12)) + [
        paper("z-new", "zebra quantum graphs", day=dt.date(2024, 1, 5))]
    ordered, expected, names = reference_tfidf(papers)
    reference = related.reference_rows(ordered)
    assert reference.sum() == 400  # 12-31 December, not 1-5 January
    _ordered, terms, weights = weights_of(papers)
    ours = [terms.name(c) for c in range(weights.shape[1])]
    index = {name: i for i, name in enumerate(names)}
    columns = np.array([index[name] for name in ours])
    assert np.allclose(weights.toarray(), expected[:, columns].toarray(), atol=1e-12)


@pytest.mark.parametrize(("days", "expected"), [
    ([dt.date(2024, 1, 1)] * 400 + [dt.date(2024, 2, 3)] * 10, "all"),  # fewer than 500
    ([dt.date(2024, 1, 1)] * 600 + [dt.date(2024, 2, 3)] * 10, "before"),
    ([dt.date(2024, 1, 1)] * 600 + [dt.date(2024, 2, 3)] * 601, "all"),  # under half
    ([dt.date(2024, 1, 31)] * 600 + [dt.date(2024, 2, 1)] * 600, "before"),  # exactly half
    ([dt.date(2023, 12, 31)] * 600 + [dt.date(2024, 1, 1)] * 10, "before"),
])
def test_reference_set_rule(days, expected):
    papers = [paper(f"p{i:04d}", "x", day=day) for i, day in enumerate(days)]
    reference = related.reference_rows(papers)
    newest = max(days).replace(day=1)
    before = np.array([day < newest for day in days])
    assert reference.tolist() == (before if expected == "before" else np.ones_like(before)).tolist()


def test_stop_words_are_scikit_learns():
    assert set(related.STOP_WORDS) == set(ENGLISH_STOP_WORDS)


def vectoriser_words(texts: list[str]) -> list[str]:
    analyse = TfidfVectorizer(stop_words="english").build_analyzer()
    return [word for text in texts for word in analyse(text)]


def our_words(texts: list[str]) -> tuple[list[str], list[int]]:
    vocabulary = related.Vocabulary()
    found, lengths = related.word_ids(texts, vocabulary)
    return vocabulary.words(found.tolist()), lengths.tolist()


def test_tokens_are_the_vectorisers_tokens():
    text = "Über-fast l2 x_1 résumé: naïve 3D—models, a b c self-attention 42 φφ ß. x"
    assert our_words([text])[0] == vectoriser_words([text])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab_1 -.,é—’φİßK\u00a0\u2009xyz\U0001d400"), max_size=30),
                max_size=5))
def test_tokens_of_any_text_are_the_vectorisers_tokens(texts):
    words, lengths = our_words(texts)
    assert words == vectoriser_words(texts)
    assert lengths == [len(vectoriser_words([text])) for text in texts]


def test_urls_and_latex_commands_are_not_terms():
    text = related.paper_text(paper("a", r"We bound $\mathcal{O}(n)$, see https://github.com/x/y."))
    assert "mathcal" not in text and "github" not in text and "bound" in text


# --- results equal the slow definition -----------------------------------------------------


def test_top_five_equals_the_slow_definition_on_the_embedded_archive(archive):
    assert ids(related_papers(archive)) == brute_force(archive)


@pytest.mark.parametrize("corpus", ["synthetic", "bench", "near-ties"])
@pytest.mark.parametrize("limits", [(3, 4, 3, 2), (16, 20, 20, 8)])
def test_top_five_equals_the_slow_definition(monkeypatch, corpus, limits):
    """Reference set and newer papers (REFERENCE_MIN lowered), few or many keywords,
    postings and candidates, many blocks of keyword scores."""
    monkeypatch.setattr(related, "REFERENCE_MIN", 100)
    for name, value in zip(("KEYWORDS", "POSTINGS", "CANDIDATES", "PAIRED"), limits,
                           strict=True):
        monkeypatch.setattr(related, name, value)
    monkeypatch.setattr(related, "BLOCK_ROWS", 64)
    monkeypatch.setattr(related, "PAIR_BATCH", 100)
    papers = {"synthetic": lambda: synthetic_papers(260, seed=3, per_day=8),
              "bench": lambda: bench_papers(260, per_day=8),
              "near-ties": lambda: near_tie_papers(260, per_day=8)}[corpus]()
    assert not related.reference_rows(sorted(papers, key=lambda p: p.id)).all()
    assert ids(related_papers(papers)) == brute_force(papers)


def test_without_limits_it_is_the_exact_tfidf_cosine(archive, monkeypatch):
    """With every term a keyword, every paper in every posting and every partner a
    candidate, the lists are the exact top five of the TF-IDF cosine."""
    for name in ("KEYWORDS", "POSTINGS", "CANDIDATES"):
        monkeypatch.setattr(related, name, 10**6)
    monkeypatch.setattr(related, "PAIRED", 1)  # no pairs of keywords: nothing to add
    ordered, weights, _names = reference_tfidf(archive)
    whole = weights.toarray()
    whole = np.where(whole > 0, np.maximum(np.rint(whole * 2.0 ** 24), 1.0), 0.0)
    cosine = whole @ whole.T  # whole numbers: exact, whatever the order of the sums
    np.fill_diagonal(cosine, 0.0)
    expected = {item.id: [ordered[c].id for c in best(cosine[row], 5)]
                for row, item in enumerate(ordered)}
    assert ids(related_papers(archive)) == expected


def test_ties_go_to_the_smaller_paper_id():
    twins = [paper(f"p{n}", "graph neural networks for molecules") for n in (7, 3, 9, 1, 5, 8, 2)]
    found = ids(related_papers(twins))
    assert found["p5"] == ["p1", "p2", "p3", "p7", "p8"]
    assert found["p1"] == ["p2", "p3", "p5", "p7", "p8"]


def test_most_similar_first_and_unrelated_papers_left_out():
    papers = [
        paper("a", "diffusion models generate images from noise"),
        paper("b", "diffusion models generate images from text prompts with noise"),
        paper("c", "diffusion of heat in metals"),
        paper("d", "protein folding with language models"),
        paper("e", "auction theory for spectrum sales"),
    ]
    found = ids(related_papers(papers))
    assert found["a"][:2] == ["b", "c"]
    assert "e" not in found["a"] and found["e"] == []
    assert set(found) == {"a", "b", "c", "d", "e"}


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_archives_have_no_related_papers(count):
    papers = [paper("only", "a lonely paper about graphs")][:count]
    assert related_papers(papers) == {p.id: [] for p in papers}


def test_two_papers_relate_to_each_other():
    found = related_papers([paper("x", "sparse attention kernels", title="Kernels"),
                            paper("y", "fast sparse attention", title="Speed")])
    assert ids(found) == {"x": ["y"], "y": ["x"]}
    assert found["x"][0].terms == ("sparse attention",)


def test_papers_without_words_are_fine():
    papers = [paper("a", "", title="The"), paper("b", "graphs", title="On"),
              paper("c", "graphs and trees", title="Of")]
    assert ids(related_papers(papers)) == {"a": [], "b": ["c"], "c": ["b"]}


# --- stability under daily growth ----------------------------------------------------------


def test_a_new_day_changes_few_old_lists_and_mostly_where_a_new_paper_enters():
    """2,000 papers (1 January to 19 February), then a day of 40 more in February: an old
    list changes when a new paper enters it, or (rarely) when a February paper it lists
    gives way to a new one in a term's postings; lists of January pairs never move."""
    papers = synthetic_papers(2040, seed=8)
    new = {p.id for p in papers[2000:]}
    before, after = flat(related_papers(papers[:2000])), flat(related_papers(papers))
    changed = [pid for pid, items in before.items() if after[pid] != items]
    assert len(changed) < 0.10 * len(before), len(changed)
    january = {p.id for p in papers if p.day.month == 1}
    without_new = [pid for pid in changed if not any(other in new for other, _ in after[pid])]
    assert len(without_new) < 0.01 * len(before), len(without_new)
    for pid in changed:
        old_pairs = dict(before[pid])
        assert all(old_pairs[other] == terms for other, terms in after[pid]
                   if other in old_pairs and {pid, other} <= january)  # hints stay
        if pid in january and not any(other in new for other, _ in after[pid]):
            assert any(other not in january for other, _ in before[pid]), pid


# --- on the embedded content -------------------------------------------------------------


def mentions_noisy_labels(item: Paper) -> bool:
    return bool(NOISY_RE.search((item.title + " " + item.abstract).lower()))


def test_every_paper_has_five_related_papers_and_never_itself(archive_related, archive):
    assert set(archive_related) == {p.id for p in archive}
    for pid, items in archive_related.items():
        assert len(items) == 5
        assert pid not in [item.paper.id for item in items]
        assert len({item.paper.id for item in items}) == 5


def test_noisy_label_papers_find_each_other(archive, archive_related):
    core = [p for p in archive if re.search(r"noisy (labels|annotations)", p.title.lower())]
    assert len(core) == 4
    for item in core:
        found = [r.paper for r in archive_related[item.id]]
        assert sum(mentions_noisy_labels(p) for p in found) >= 2, item.id
    early = "early-learning-regularization-prevents-memorization-of-noisy-labels"
    found = [r.paper for r in archive_related[early]]
    assert sum(mentions_noisy_labels(p) for p in found) >= 3  # mostly noisy-label papers
    assert any("noisy labels" in r.terms for r in archive_related[early])


def test_related_papers_share_topics_far_more_often_than_chance(archive, archive_related):
    by_id = {p.id: p for p in archive}
    pairs = [(pid, r.paper.id) for pid, items in archive_related.items() for r in items]
    rate = sum(bool(set(by_id[a].topic_slugs) & set(by_id[b].topic_slugs))
               for a, b in pairs) / len(pairs)
    everyone = list(itertools.combinations(archive, 2))
    chance = sum(bool(set(a.topic_slugs) & set(b.topic_slugs)) for a, b in everyone) / len(everyone)
    assert rate > 1.5 * chance


def test_hints_are_shared_terms_without_repeated_words(archive_related):
    for items in archive_related.values():
        for item in items:
            assert 1 <= len(item.terms) <= 3
            words = [set(term.split()) for term in item.terms]  # "sequence sequence" is fine
            assert all(not a & b for a, b in itertools.combinations(words, 2)), item.terms


def test_hint_terms_occur_in_both_papers(archive, archive_related):
    by_id = {p.id: p for p in archive}

    def words(item: Paper) -> str:
        return " " + " ".join(re.findall(r"\w\w+", related.paper_text(item).lower())) + " "

    for pid, items in list(archive_related.items())[:60]:
        for item in items:
            for term in item.terms:  # a bigram may span a stop word: check its words
                assert all(f" {w} " in words(by_id[pid]) for w in term.split())
                assert all(f" {w} " in words(item.paper) for w in term.split())


def test_hint_symmetric_for_a_pair(archive_related):
    for pid, items in archive_related.items():
        for item in items:
            back = {r.paper.id: r.terms for r in archive_related[item.paper.id]}
            if pid in back:
                assert back[pid] == item.terms


@pytest.mark.parametrize(("candidates", "expected"), [
    (["labels", "noisy", "learning", "noisy labels", "clean"],
     ("noisy labels", "learning", "clean")),
    (["noisy labels", "noisy", "labels", "clean", "data", "more"],
     ("noisy labels", "clean", "data")),
    (["graph", "graph graph", "nodes"], ("graph graph", "nodes")),
    (["a b", "b c", "c", "d"], ("a b", "c", "d")),
])
def test_pick_hint(candidates, expected):
    named = [(term, tuple(term.split())) for term in candidates]
    assert related.pick_hint(named, 3) == expected


# --- determinism and memory ----------------------------------------------------------------


def test_two_runs_and_any_input_order_give_the_same_answer(archive):
    first = flat(related_papers(archive))
    assert flat(related_papers(list(reversed(archive)))) == first
    assert flat(related_papers(archive)) == first


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_answer_does_not_depend_on_jobs(monkeypatch, jobs):
    """Texts counted by worker processes, blocks of scores by threads: the same answer."""
    monkeypatch.setattr(related, "TEXTS_PER_WORKER", 100)
    monkeypatch.setattr(related, "BLOCK_ROWS", 100)
    papers = synthetic_papers(840, seed=3)
    alone = flat(related_papers(papers, jobs=1))
    assert flat(related_papers(papers, jobs=jobs)) == alone
    assert sum(len(items) for items in alone.values()) > 4 * len(papers)


def test_memory_grows_linearly():
    def peak(count: int) -> int:
        papers = synthetic_papers(count, seed=11)
        tracemalloc.start()
        try:
            related_papers(papers, jobs=1)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1000), peak(3000)
    assert large < 4.5 * small, (small, large)  # three times the papers; N x N would be 9x


def test_adding_papers_never_needs_a_cache(archive):
    """No I/O: the module reads and writes no file (incremental equals clean by design)."""
    source = Path(related.__file__).read_text("utf-8")
    assert not re.search(r"\bopen\(|Path\(|np\.save|np\.load|tempfile", source)
    assert dataclasses.fields(Related)[0].name == "paper"
