"""Related papers: TF-IDF as scikit-learn defines it, exact top five, hints, cache, memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from site_builder import related
from site_builder.content import Paper, load_content
from site_builder.model import assign_topics
from site_builder.related import Related, related_papers

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from related import synthetic_papers  # noqa: E402  (benchmarks/related.py)

NOISY_RE = re.compile(r"nois\w* (?:label|annotation)|label noise|mislabel")


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


def brute_force(papers: list[Paper], top: int = 5) -> dict[str, list[str]]:
    """The definition, computed the slow way: full TfidfVectorizer, full N x N product."""
    ordered = sorted(papers, key=lambda p: p.id)
    texts = [related.paper_text(p) for p in ordered]
    matrix = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit_transform(texts)
    scores = (matrix @ matrix.T).toarray()
    np.fill_diagonal(scores, -1.0)
    result = {}
    for row, item in enumerate(ordered):
        rounded = np.round(scores[row], related.DECIMALS)
        order = np.lexsort((np.arange(len(ordered)), -rounded))
        result[item.id] = [ordered[c].id for c in order if rounded[c] > 0][:top]
    return result


# --- the definition ----------------------------------------------------------------------


def test_tfidf_matrix_equals_scikit_learns_vectoriser(archive):
    ordered = sorted(archive, key=lambda p: p.id)
    texts = [related.paper_text(p) for p in ordered]
    corpus = related.tokenise(texts, [related.text_hash(t) for t in texts], None)
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), stop_words="english")
    expected = vectoriser.fit_transform(texts).tocsr()
    names = [corpus.term(c) for c in range(corpus.matrix.shape[1])]
    assert sorted(names) == sorted(vectoriser.vocabulary_)
    columns = np.array([vectoriser.vocabulary_[name] for name in names])
    assert np.allclose(corpus.matrix.toarray(), expected[:, columns].toarray(), atol=1e-12)


def test_stop_words_are_scikit_learns():
    assert set(related.STOP_WORDS) == set(ENGLISH_STOP_WORDS)


def test_tokens_are_the_vectorisers_tokens():
    text = "Über-fast l2 x_1 résumé: naïve 3D—models, a b c self-attention 42 φφ ß. x"
    analyse = TfidfVectorizer(stop_words="english").build_analyzer()
    vocabulary = related.new_vocabulary()
    found, lengths = related.word_ids([text], vocabulary)
    assert lengths.tolist() == [len(found)]
    words = list(vocabulary)
    assert [words[i] for i in found] == analyse(text)


def test_urls_and_latex_commands_are_not_terms():
    text = related.paper_text(paper("a", r"We bound $\mathcal{O}(n)$, see https://github.com/x/y."))
    assert "mathcal" not in text and "github" not in text and "bound" in text


def test_top_five_equals_the_brute_force_definition(archive):
    assert ids(related_papers(archive)) == brute_force(archive)


@pytest.mark.parametrize(("cells", "ratio"), [(40_000, 10), (90_000, 1), (10**9, 10**6)])
def test_blocks_and_dense_sparse_split_do_not_change_the_answer(monkeypatch, cells, ratio):
    papers = synthetic_papers(700, seed=3)
    monkeypatch.setattr(related, "CHUNK_CELLS", cells)  # many blocks, or one
    monkeypatch.setattr(related, "DENSE_RATIO", ratio)  # nothing dense, or many columns
    assert ids(related_papers(papers)) == brute_force(papers)


def test_candidate_order_with_and_without_the_integer_key():
    rng = np.random.default_rng(8)
    rows = rng.integers(0, 50, 4000)
    columns = rng.permutation(50 * 80)[:4000] % 80
    keys = np.unique(rows * 80 + columns)
    rows, columns = keys // 80, keys % 80
    values = np.round(rng.choice([0.25, 0.5, 0.125, 1.0], len(rows)) * rng.random(len(rows))
                      .round(1), related.DECIMALS)
    small = related.Candidates(80, 5).order(rows, columns, values)
    huge = related.Candidates(3_000_000, 5).order(rows, columns, values)  # falls back
    assert small.tolist() == huge.tolist()
    assert huge.tolist() == np.lexsort((columns, -values, rows)).tolist()


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
def test_tiny_archives_have_no_related_papers(count, tmp_path):
    papers = [paper("only", "a lonely paper about graphs")][:count]
    assert related_papers(papers, cache_dir=tmp_path) == {p.id: [] for p in papers}


def test_two_papers_relate_to_each_other():
    found = related_papers([paper("x", "sparse attention kernels", title="Kernels"),
                            paper("y", "fast sparse attention", title="Speed")])
    assert ids(found) == {"x": ["y"], "y": ["x"]}
    assert found["x"][0].terms == ("sparse attention",)


def test_papers_without_words_are_fine():
    found = ids(related_papers([paper("a", "", title="The"), paper("b", "graphs", title="On"),
                                paper("c", "graphs and trees", title="Of")]))
    assert found == {"a": [], "b": ["c"], "c": ["b"]}


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


# --- determinism and cache ---------------------------------------------------------------


def test_two_runs_and_any_input_order_give_the_same_answer(archive):
    first = flat(related_papers(archive))
    assert flat(related_papers(list(reversed(archive)))) == first
    assert flat(related_papers(archive)) == first


def test_warm_cache_returns_the_clean_answer(archive, tmp_path):
    clean = flat(related_papers(archive))
    assert flat(related_papers(archive, cache_dir=tmp_path)) == clean
    assert (tmp_path / "related" / "result.json").is_file()
    assert (tmp_path / "related" / "tokens.npz").is_file()
    assert flat(related_papers(archive, cache_dir=tmp_path)) == clean


def test_cached_answer_is_used_when_nothing_changed(archive, tmp_path, monkeypatch):
    clean = flat(related_papers(archive, cache_dir=tmp_path))
    monkeypatch.setattr(related, "nearest", lambda *a, **k: pytest.fail("recomputed"))
    upvoted = [dataclasses.replace(p, upvotes=p.upvotes + 1) for p in archive]  # text same
    again = related_papers(upvoted, cache_dir=tmp_path)
    assert flat(again) == clean
    assert all(item.paper in upvoted for items in again.values() for item in items)


def test_a_new_day_an_edit_and_a_removal_equal_a_clean_build(tmp_path, monkeypatch):
    papers = synthetic_papers(400, seed=5)
    related_papers(papers[:300], cache_dir=tmp_path)
    edited = papers[10]
    changed = [p for p in papers if p.id != papers[20].id]
    changed[10] = dataclasses.replace(edited, abstract=edited.abstract + " quantum graphs")
    tokenised = []
    original = related.word_ids
    monkeypatch.setattr(related, "word_ids",
                        lambda texts, vocabulary: tokenised.extend(texts) or original(
                            texts, vocabulary))
    incremental = flat(related_papers(changed, cache_dir=tmp_path))
    assert len(tokenised) == 101  # 100 new papers and the edited one
    monkeypatch.setattr(related, "word_ids", original)
    assert incremental == flat(related_papers(changed))


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncate", "foreign"])
def test_a_damaged_cache_is_ignored_and_rewritten(archive, tmp_path, damage):
    clean = flat(related_papers(archive))
    related_papers(archive[:100], cache_dir=tmp_path)
    folder = tmp_path / "related"
    for name in ("result.json", "tokens.npz"):
        path = folder / name
        if damage == "garbage":
            path.write_bytes(b"\x00not a cache\xff")
        elif damage == "empty":
            path.write_bytes(b"")
        elif damage == "truncate":
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        elif name == "result.json":
            path.write_text(json.dumps({"fingerprint": "x", "related": {"a": [["b", []]]}}))
        else:
            np.savez(path, version=np.array("other"), words=np.array(["x"]))
    assert flat(related_papers(archive, cache_dir=tmp_path)) == clean
    assert flat(related_papers(archive, cache_dir=tmp_path)) == clean
    assert not list(folder.glob("*.tmp"))


def test_a_forged_result_for_other_papers_is_not_trusted(archive, tmp_path):
    related_papers(archive, cache_dir=tmp_path)
    path = tmp_path / "related" / "result.json"
    data = json.loads(path.read_text())
    data["related"] = {pid: [] for pid in data["related"]}
    data["related"].pop(next(iter(data["related"])))
    path.write_text(json.dumps(data))
    assert flat(related_papers(archive, cache_dir=tmp_path)) == flat(related_papers(archive))


# --- bounded memory ------------------------------------------------------------------------


def product_peak(count: int) -> int:
    """Peak traced memory of the similarity stage for a synthetic archive of ``count``."""
    papers = sorted(synthetic_papers(count, seed=11), key=lambda p: p.id)
    texts = [related.paper_text(p) for p in papers]
    corpus = related.tokenise(texts, [related.text_hash(t) for t in texts], None)
    tracemalloc.start()
    try:
        related.nearest(corpus.matrix)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_far_slower_than_a_dense_n_by_n_matrix(monkeypatch):
    monkeypatch.setattr(related, "CHUNK_CELLS", 1_000_000)
    small, large = product_peak(1500), product_peak(4500)
    assert large < 4500 * 4500 * 4 / 2, f"peak {large / 1e6:.1f} MB"  # half an N x N float32
    assert large < 3.3 * small, (small, large)  # three times the papers: linear 3x, N x N 9x


def test_whole_computation_memory_is_bounded(monkeypatch):
    papers = synthetic_papers(3000, seed=11)
    monkeypatch.setattr(related, "CHUNK_CELLS", 1_000_000)
    tracemalloc.start()
    try:
        related_papers(papers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80e6, f"peak {peak / 1e6:.1f} MB"
