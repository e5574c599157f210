"""A deterministic synthetic corpus of papers as JSON Lines (the benchmark's input).

Realistic shape: titles of 6-14 words, abstracts of 150-250 words with inline math, a code
link now and then, 2-12 authors, an organisation for some papers, upvotes with a long tail,
40 topics with keyword rules, ~40 papers per listing day on weekdays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

_WORDS = (
    "learning model models neural network networks training data robust efficient scalable "
    "adaptive sparse deep language vision transformer transformers diffusion generative "
    "representation representations optimization gradient stochastic regularization "
    "contrastive self-supervised reinforcement policy reward agents graph graphs attention "
    "memory retrieval reasoning alignment preference feedback benchmark evaluation inference "
    "latent variational bayesian uncertainty calibration distillation compression pruning "
    "quantization federated privacy fairness causal counterfactual multimodal audio speech "
    "video image segmentation detection tracking embedding embeddings kernel spectral "
    "manifold geometry topology convex nonconvex convergence theory bounds generalization "
    "transfer domain shift adaptation continual lifelong meta few-shot zero-shot prompt "
    "tuning instruction synthetic labels annotation sampling"
).split()
TOPIC_PHRASES = [
    # topic keywords; kept out of the filler words so each paper lands in one or two topics
    "noisy labels", "optimal transport", "data selection", "diffusion models", "reinforcement",
    "contrastive", "federated", "quantization", "pruning", "distillation", "calibration",
    "retrieval", "reasoning", "alignment", "graph", "segmentation", "speech", "video",
    "privacy", "fairness", "causal", "multimodal", "prompt", "meta", "continual", "kernel",
    "bayesian", "convex", "attention", "memory", "benchmark", "curriculum", "active",
    "geometry", "spectral", "tracking", "detection", "compression", "sparse", "transformer",
]
WORDS = [w for w in _WORDS if w not in {p for t in TOPIC_PHRASES for p in t.split()}]
FIRST = ("Ada Alan Grace Yann Fei Andrew Geoffrey Yoshua Daphne Jürgen Kai Li Wei Mina Omar "
         "Sara").split()
LAST = ("Lovelace Turing Hopper LeCun Li Ng Hinton Bengio Koller Schmidhuber Zhang Wang Chen "
        "Park Haddad Rossi").split()
ORGS = [("openbmb", "OpenBMB"), ("google", "Google"), ("meta-llama", "Meta Llama"),
        ("microsoft", "Microsoft"), ("nvidia", "NVIDIA"), ("allenai", "Ai2"),
        ("huggingface", "Hugging Face"), ("deepseek-ai", "DeepSeek")]
MATH = ["$O(n^2)$", "$\\mathcal{L}_{\\text{KL}}$", "$\\epsilon$-greedy", "$\\ell_1$",
        "$x \\in \\mathbb{R}^d$", "$\\sqrt{T}$", "$k$", "$\\alpha = 0.5$"]


def topic_slug(index: int) -> str:
    return "topic-" + TOPIC_PHRASES[index].replace(" ", "-")


def sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.15:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(TOPIC_PHRASES))
    if rng.random() < 0.25:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(MATH))
    return " ".join(chosen).capitalize() + "."


def make_paper(rng: random.Random, number: int, day: dt.date) -> dict:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))).title()
    title = f"{title} {number}"
    abstract = " ".join(sentence(rng, rng.randint(12, 24)) for _ in range(rng.randint(7, 11)))
    if rng.random() < 0.3:
        abstract += f" Code is available at https://github.com/lab{number % 97}/repo{number}."
    paper_id = f"{day.year % 100:02d}{day.month:02d}.{number:05d}"
    paper = {
        "id": paper_id,
        "title": title,
        "listed": day.isoformat(),
        "abstract": abstract,
        "authors": [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(2, 12))],
        "published": (day - dt.timedelta(days=rng.randint(0, 20))).isoformat(),
        "upvotes": int(rng.paretovariate(1.3)) - 1,
        "arxiv": f"https://arxiv.org/abs/{paper_id}",
        "pdf": f"https://arxiv.org/pdf/{paper_id}",
    }
    if rng.random() < 0.4:
        name, fullname = rng.choice(ORGS)
        paper["organization"] = {"name": name, "fullname": fullname}
    if rng.random() < 0.2:
        paper["topics"] = [topic_slug(rng.randrange(len(TOPIC_PHRASES)))]
    if rng.random() < 0.3:
        paper["code"] = f"https://github.com/lab{number % 97}/repo{number}"
        paper["github_stars"] = rng.randint(0, 5000)
    return paper


def listing_days(count: int, first: dt.date = dt.date(2024, 1, 1)) -> list[dt.date]:
    days, current = [], first
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current)
        current += dt.timedelta(days=1)
    return days


def generate(papers: int, per_day: int = 40, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    days = listing_days(max(1, -(-papers // per_day)))
    return [make_paper(rng, n, days[n // per_day]) for n in range(papers)]


def write_topics(content: Path) -> None:
    topics = content / "topics"
    topics.mkdir(parents=True, exist_ok=True)
    for index, phrase in enumerate(TOPIC_PHRASES):
        (topics / f"{topic_slug(index)}.md").write_text(
            f"---\ntitle: {phrase.title()}\nkeywords: [{phrase}]\n---\n\nPapers about {phrase}.\n",
            "utf-8")


def write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--per-day", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None, help="JSONL file (default: stdout)")
    args = parser.parse_args(argv)
    records = generate(args.papers, args.per_day)
    if args.out:
        write_jsonl(records, args.out)
    else:
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
