"""The benchmark corpus (``benchmarks/corpus.py``, JSON Lines) as content of the Hugo site
beside this file, which builds the same kinds of pages as site-builder: a page per paper,
per listing day, ISO week, month, topic (paginated, with an RSS feed) and organisation.

    python benchmarks/hugo/convert.py corpus.jsonl --site DIR   # DIR/content, DIR/layouts

For the comparison in ``benchmarks/bench.py --compare hugo`` only: nothing in site-builder
uses Hugo. Topics are given as site-builder gives them: a paper's own plus every topic
whose keyword phrase is in its title or abstract.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from benchmarks.corpus import TOPIC_PHRASES, topic_slug  # noqa: E402

SITE = HERE / "site"  # hugo.toml and layouts/


def new_site(folder: Path) -> Path:
    """A Hugo site folder: our config and layouts, the topics' term pages, no papers yet."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(SITE, folder)
    for index, phrase in enumerate(TOPIC_PHRASES):
        term = folder / "content" / "topics" / topic_slug(index)
        term.mkdir(parents=True)
        (term / "_index.md").write_text(
            front_matter({"title": phrase.title(), "outputs": ["html", "rss"]})
            + f"Papers about {phrase}.\n", "utf-8")
    return folder


def paper_topics(record: dict) -> list[str]:
    text = f"{record['title']} {record['abstract']}".lower()
    found = set(record.get("topics") or [])
    found.update(topic_slug(i) for i, phrase in enumerate(TOPIC_PHRASES) if phrase in text)
    return sorted(found)


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def paper_file(record: dict) -> tuple[str, str]:
    """(file name under content/papers/, its text) for one corpus record."""
    day = dt.date.fromisoformat(record["listed"])
    params: dict[str, object] = {
        "title": record["title"], "date": f"{day.isoformat()}T00:00:00Z",
        "authors": record.get("authors") or [], "published": record.get("published", ""),
        "upvotes": record.get("upvotes", 0), "arxiv": record.get("arxiv", ""),
        "pdf": record.get("pdf", ""),
        "days": [day.isoformat()], "weeks": [iso_week(day)], "months": [day.strftime("%Y-%m")],
        "topics": paper_topics(record),
    }
    if record.get("code"):
        params["code"] = record["code"]
    if record.get("organization"):
        params["orgs"] = [record["organization"]["name"]]
    name = record["id"].replace(".", "-") + ".md"
    return name, front_matter(params) + record["abstract"] + "\n"


def front_matter(params: dict) -> str:
    # JSON front matter: Hugo reads it natively, and json.dumps quotes everything right
    return json.dumps(params, ensure_ascii=False, indent=1) + "\n\n"


def add_papers(folder: Path, records: Iterable[dict]) -> int:
    papers = folder / "content" / "papers"
    papers.mkdir(parents=True, exist_ok=True)
    count = 0
    for record in records:
        name, text = paper_file(record)
        (papers / name).write_text(text, "utf-8")
        count += 1
    return count


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", type=Path, nargs="+")
    parser.add_argument("--site", type=Path, required=True, help="the Hugo site folder")
    parser.add_argument("--add", action="store_true",
                        help="add to an existing site instead of making it afresh")
    args = parser.parse_args(argv)
    folder = args.site if args.add else new_site(args.site)
    count = sum(add_papers(folder, read_jsonl(path)) for path in args.jsonl)
    print(f"{count:,} papers written to {folder / 'content' / 'papers'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
