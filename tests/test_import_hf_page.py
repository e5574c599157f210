"""The hf-page importer on the four seed pages (copied Hugging Face papers listings)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from site_builder.cli import main
from site_builder.content import load_content
from site_builder.errors import ContentError
from site_builder.frontmatter import read_front_matter
from site_builder.importers import ImportOptions, detect_format, import_sources, parse_sources
from site_builder.importers.hf_page import resolve_date
from site_builder.importers.record import normalise_title
from tests.trees import snapshot

SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"
SEED = {number: next(SEEDS.glob(f"{number:03d}_*.txt")) for number in range(4)}
TODAY = dt.date(2026, 6, 30)  # the reference day for header dates without a year
SEED_3_DAY = dt.date(2026, 6, 29)  # seed 003 has no header date
CHROME = {"new", "Get trending papers in your email inbox!",
          "Get trending papers in your email inbox once a day!", "Subscribe", "Daily Papers",
          "byAK and the research community"}


def parse(number: int, date: dt.date | None = None, today: dt.date = TODAY):
    if number == 3 and date is None:
        date = SEED_3_DAY
    return parse_sources([str(SEED[number])], ImportOptions(date=date, today=today)).papers


def by_title(papers, title: str):
    [paper] = [p for p in papers if p.title == title]
    return paper


def import_seeds(content: Path, today: dt.date = TODAY):
    """All four seeds, as a user would: the three with header dates, then 003 with --date."""
    first = import_sources([str(SEED[n]) for n in range(3)],
                           ImportOptions(content_dir=content, today=today))
    second = import_sources([str(SEED[3])], ImportOptions(content_dir=content, today=today,
                                                          date=SEED_3_DAY))
    return first, second



def paper_files(content: Path) -> list[Path]:
    return sorted(p for p in (content / "days").rglob("*.md") if p.name != "index.md")


@pytest.mark.parametrize(("number", "count", "day"), [
    (0, 41, dt.date(2026, 4, 21)),
    (1, 44, dt.date(2026, 3, 11)),
    (2, 57, dt.date(2026, 6, 26)),
    (3, 119, SEED_3_DAY),
])
def test_every_entry_of_each_seed_is_read(number: int, count: int, day: dt.date) -> None:
    papers = parse(number)
    assert len(papers) == count
    assert {paper.listed for paper in papers} == {day}
    assert len({normalise_title(p.title) for p in papers}) == count  # no duplicates inside


def test_the_seeds_hold_227_distinct_papers_in_261_entries() -> None:
    papers = [paper for number in range(4) for paper in parse(number)]
    assert len(papers) == 261
    assert len({normalise_title(p.title) for p in papers}) == 227


@pytest.mark.parametrize("number", range(4))
def test_seeds_are_detected_as_hf_page(number: int) -> None:
    assert detect_format(SEED[number].read_text("utf-8"), SEED[number].name) == "hf-page"


@pytest.mark.parametrize("number", range(4))
def test_titles_and_abstracts_are_the_seed_text_exactly(number: int) -> None:
    lines = SEED[number].read_text("utf-8").splitlines()
    for paper in parse(number):
        line = int(paper.origin.rsplit(":", 1)[1])
        title_line = lines[line - 1].strip().removeprefix("Subscribe")
        assert paper.title == title_line
        following = [text.strip() for text in lines[line:] if text.strip()]
        assert paper.abstract == following[0]


@pytest.mark.parametrize(("number", "first", "last"), [
    (0, "Overcoming Knowledge Barriers: Online Imitation Learning from Observation with "
        "Pretrained World Models", "Multivariate Density Estimation with Deep Neural Mixture "
                                   "Models"),
    (1, "ConR: Contrastive Regularizer for Deep Imbalanced Regression",
     "Grokking at the Edge of Numerical Stability"),
    (2, "Confucius3-Math: A Lightweight High-Performance Reasoning LLM for Chinese K-12 "
        "Mathematics Learning", "Opening the Blackbox: Accelerating Neural Differential "
                                "Equations by Regularizing Internal Solver Heuristics"),
    (3, "FloWaveNet : A Generative Flow for Raw Audio", "Dual Focal Loss for Calibration"),
])
def test_first_and_last_titles(number: int, first: str, last: str) -> None:
    papers = parse(number)
    assert papers[0].title == first
    assert papers[-1].title == last


def test_known_abstracts_verbatim() -> None:
    first = parse(0)[0]
    assert first.abstract.startswith(
        "Incorporating the successful paradigm of pretraining and finetuning from Computer "
        "Vision and Natural Language Processing into decision-making has become increasingly "
        "popular in recent years.")
    assert first.abstract.endswith("The study contributes valuable insights into resolving "
                                   "knowledge barriers for enhanced decision-making in "
                                   "pretraining-based approaches. Code will be available at "
                                   "https://github.com/argmax-ai/aime-v2.")
    assert first.code == "https://github.com/argmax-ai/aime-v2"
    flowavenet = parse(3)[0]
    assert flowavenet.abstract.startswith("Most modern text-to-speech architectures use a "
                                          "WaveNet vocoder")
    assert flowavenet.abstract.endswith("The code and samples for all models, including our "
                                        "FloWaveNet, are publicly available.")


def test_page_chrome_never_becomes_a_paper() -> None:
    for number in range(4):
        for paper in parse(number):
            assert paper.title not in CHROME
            assert paper.abstract not in CHROME
            assert not paper.title.startswith(("Subscribe", "Get trending papers"))


def test_metadata_lines_are_parsed() -> None:
    papers = parse(0)
    first = papers[0]
    assert first.author_count == 4
    assert first.published == dt.date(2024, 4, 29)
    assert first.upvotes is None
    assert by_title(papers, "Variational Bayes image restoration with compressive "
                            "autoencoders").author_count == 5
    ultra = by_title(papers, "Ultra-FineWeb: Efficient Data Filtering and Verification for "
                             "High-Quality LLM Training Data")
    assert ultra.organization == {"name": "openbmb", "fullname": "OpenBMB"}
    assert ultra.author_count is None
    assert ultra.published == dt.date(2025, 5, 8)
    # every card of seed 000 has the metadata block; the other seeds have none
    assert all(paper.published is not None for paper in papers)
    assert all(paper.published is None and paper.author_count is None
               for number in (1, 2, 3) for paper in parse(number))


def test_upvotes_follow_the_date() -> None:
    papers = parse(0)
    data_filtering = by_title(papers, "Data Filtering Networks")  # "Sep 29, 2023 1"
    assert (data_filtering.published, data_filtering.upvotes) == (dt.date(2023, 9, 29), 1)
    curation = by_title(papers, "Automated Data Curation for Robust Language Model "
                                "Fine-Tuning")  # "Mar 19, 2024 2"
    assert (curation.published, curation.upvotes) == (dt.date(2024, 3, 19), 2)
    diffusion = by_title(papers, "Revisiting Diffusion Model Predictions Through "
                                 "Dimensionality")  # "Jan 29 2": no year, 2 upvotes
    assert (diffusion.published, diffusion.upvotes) == (dt.date(2026, 1, 29), 2)


def test_dates_without_a_year_are_the_latest_not_after_the_listing_day() -> None:
    title = "DSP-Reg: Domain-Sensitive Parameter Regularization for Robust Domain Generalization"
    # listed 2026-04-21 (header "Apr 21", today 2026-06-30): "Jan 27" is 2026-01-27
    assert by_title(parse(0), title).published == dt.date(2026, 1, 27)
    # listed on 2026-01-20 (--date): Jan 27 of 2026 would be after it, so 2025-01-27
    assert by_title(parse(0, date=dt.date(2026, 1, 20)), title).published == dt.date(2025, 1, 27)
    # the header date itself follows the same rule with today as the reference
    assert parse(0, today=dt.date(2026, 4, 20))[0].listed == dt.date(2025, 4, 21)
    assert parse(0, today=dt.date(2026, 4, 21))[0].listed == dt.date(2026, 4, 21)


def test_resolve_date_handles_29_february() -> None:
    assert resolve_date(2, 29, None, dt.date(2027, 3, 1)) == dt.date(2024, 2, 29)
    assert resolve_date(2, 29, None, dt.date(2028, 2, 29)) == dt.date(2028, 2, 29)
    assert resolve_date(4, 29, 2024, dt.date(2020, 1, 1)) == dt.date(2024, 4, 29)


def test_code_link_is_taken_from_the_abstract() -> None:
    with_code = [paper for n in range(4) for paper in parse(n) if paper.code]
    assert with_code, "some seed abstracts link their code on GitHub"
    for paper in with_code:
        assert paper.code.startswith("https://github.com/")
        assert paper.code.split("://", 1)[1] in paper.abstract


def test_import_writes_227_valid_files(tmp_path: Path) -> None:
    content = tmp_path / "content"
    first, second = import_seeds(content)
    files = paper_files(content)
    assert len(files) == 227
    assert first.count("added") + second.count("added") == 227
    assert len(first.changes) + len(second.changes) == 261
    assert sorted(p.name for p in (content / "days").iterdir()) == [
        "2026-03-11", "2026-04-21", "2026-06-26", "2026-06-29"]
    loaded = load_content(content)  # the build's own validation accepts every file
    assert len(loaded.papers) == 227
    assert len({paper.id for paper in loaded.papers}) == 227


def test_written_file_has_stable_key_order_and_the_abstract_as_body(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_seeds(content)
    slug = "ultra-fineweb-efficient-data-filtering-and-verification-for-high-quality-llm"
    path = content / "days" / "2026-04-21" / f"{slug}.md"  # slugs stop at a word, <= 80 chars
    text = path.read_text("utf-8")
    assert text.startswith(
        f"---\nid: {slug}\ntitle: 'Ultra-FineWeb: Efficient Data Filtering and Verification for "
        "High-Quality LLM Training Data'\norganization:\n  name: openbmb\n  fullname: OpenBMB\n"
        "published: 2025-05-08\n---\n\nData quality has become a key factor")
    doc = read_front_matter(path)
    assert doc.body.endswith("validating the effectiveness of our pipeline in enhancing both "
                             "data quality and training efficiency.")


def test_reimport_is_idempotent_byte_for_byte(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_seeds(content)
    before = snapshot(content)
    first, second = import_seeds(content)
    assert snapshot(content) == before
    for summary in (first, second):
        assert summary.count("added") == summary.count("merged") == 0
        assert summary.days_touched == []
    assert first.count("unchanged") + second.count("unchanged") == 261


def test_a_paper_on_several_seeds_is_one_file_on_its_earliest_day(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_seeds(content)
    title = "Early-Learning Regularization Prevents Memorization of Noisy Labels"  # 000-002
    matches = [p for p in paper_files(content) if read_front_matter(p).meta["title"] == title]
    assert len(matches) == 1
    path = matches[0]
    assert path.parent.name == "2026-03-11"  # seed 001, the earliest of Apr 21, Mar 11, Jun 26
    meta = read_front_matter(path).meta
    # the metadata only seed 000 has is kept by the merge
    assert meta["published"] == dt.date(2020, 6, 30)
    assert meta["author_count"] == 4


def test_a_later_import_of_an_earlier_day_moves_the_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import_sources([str(SEED[3])], ImportOptions(content_dir=content, today=TODAY,
                                                  date=SEED_3_DAY))
    title = "Provably Mitigating Overoptimization in RLHF: Your SFT Loss is Implicitly an " \
            "Adversarial Regularizer"  # in 003 (Jun 29) and 001 (Mar 11)
    slug = "provably-mitigating-overoptimization-in-rlhf-your-sft-loss-is-implicitly-an"
    assert (content / "days" / "2026-06-29" / f"{slug}.md").is_file()
    summary = import_sources([str(SEED[1])], ImportOptions(content_dir=content, today=TODAY))
    assert not (content / "days" / "2026-06-29" / f"{slug}.md").exists()
    moved = content / "days" / "2026-03-11" / f"{slug}.md"
    assert read_front_matter(moved).meta["title"] == title
    assert {"2026-03-11", "2026-06-29"} <= set(summary.days_touched)
    assert len(load_content(content).papers) == len(
        {normalise_title(p.title) for n in (1, 3) for p in parse(n)})


def test_topic_option_adds_topics_and_creates_missing_topic_files(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "topics").mkdir(parents=True)
    existing = "---\ntitle: Regularization\nkeywords: [regularization]\n---\n\nHand written.\n"
    (content / "topics" / "regularization.md").write_text(existing, "utf-8")
    summary = import_sources([str(SEED[0])], ImportOptions(
        content_dir=content, today=TODAY, topics=("regularization", "reading-list")))
    assert summary.topics_created == ["reading-list"]
    assert (content / "topics" / "regularization.md").read_text("utf-8") == existing
    created = read_front_matter(content / "topics" / "reading-list.md")
    assert created.meta["title"] == "Reading list"
    for path in paper_files(content):
        assert read_front_matter(path).meta["topics"] == ["regularization", "reading-list"]
    loaded = load_content(content)
    assert set(loaded.topics) == {"regularization", "reading-list"}
    # a second import with another topic unites the topics
    import_sources([str(SEED[0])], ImportOptions(content_dir=content, today=TODAY,
                                                 topics=("favourites",)))
    for path in paper_files(content):
        assert read_front_matter(path).meta["topics"] == [
            "regularization", "reading-list", "favourites"]


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    import_sources([str(SEED[1])], ImportOptions(content_dir=content, today=TODAY))
    before = snapshot(content)
    code = main(["import", str(SEED[0]), str(SEED[2]), "--content", str(content), "--dry-run",
                 "--topic", "brand-new", "--date", "2026-04-21"])
    out = capsys.readouterr().out
    assert code == 0
    assert snapshot(content) == before
    assert "would create topic brand-new" in out
    assert "dry run, nothing written; would import:" in out


def test_cli_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    assert main(["import", str(SEED[0]), "--content", str(content), "--date",
                 "2026-04-21"]) == 0
    assert capsys.readouterr().out.strip() == (
        "imported: 41 added, 0 merged, 0 unchanged, 0 skipped; days touched: 2026-04-21")
    assert main(["import", str(SEED[0]), str(SEED[1]), "--content", str(content), "--date",
                 "2026-04-21", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["unchanged"]) == (44 - 10, 41 + 10)
    assert report["merged"] == 0
    assert report["days_touched"] == ["2026-04-21"]
    assert len(report["papers"]) == 85


def test_a_page_without_a_date_needs_date(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    content = tmp_path / "content"
    code = main(["import", str(SEED[3]), "--content", str(content)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no date header" in err and "--date YYYY-MM-DD" in err
    assert SEED[3].name in err
    assert "Traceback" not in err
    assert not content.exists()


def test_a_failing_page_among_good_ones_changes_nothing(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    content = tmp_path / "content"
    import_sources([str(SEED[1])], ImportOptions(content_dir=content, today=TODAY))
    before = snapshot(content)
    assert main(["import", str(SEED[0]), str(SEED[3]), "--content", str(content)]) == 1
    assert snapshot(content) == before
    assert "no date header" in capsys.readouterr().err


def test_a_title_without_abstract_is_an_error_with_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text("Daily Papers\n\nbyAK and the research community\n\nApr 21\n\n"
                    "A Title\n\nIts abstract.\n\nA dangling title\n", "utf-8")
    with pytest.raises(ContentError) as caught:
        parse_sources([str(page)], ImportOptions(today=TODAY))
    [problem] = caught.value.problems
    assert problem.line == 11
    assert "has no abstract" in problem.message
