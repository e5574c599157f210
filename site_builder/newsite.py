"""``site-builder init``: a new site, ready to push to GitHub and publish the same day.

The files come from ``scaffold/`` in the package. Names that packaging tools drop or hide
(dot files) are stored without their dot and renamed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from site_builder import __version__
from site_builder.errors import ContentError, problem

SCAFFOLD_DIR = Path(__file__).resolve().parent / "scaffold"
RENAMED = {"gitignore": ".gitignore", "github": ".github"}  # stored name -> name in the site
DISTRIBUTION = "site-builder"


@dataclass(frozen=True)
class NewFile:
    path: str  # relative to the new site, with '/'
    data: bytes


def scaffold_files() -> list[NewFile]:
    """Every file of a new site, from the scaffold, plus its requirements.txt."""
    files = []
    for source in sorted(SCAFFOLD_DIR.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            parts = source.relative_to(SCAFFOLD_DIR).parts
            target = "/".join((RENAMED.get(parts[0], parts[0]), *parts[1:]))
            files.append(NewFile(target, source.read_bytes()))
    files.append(NewFile("requirements.txt", requirements().encode()))
    return files


def requirements() -> str:
    """What the site's workflow installs: this very site-builder, so a daily run never picks
    up a release nobody tried; from the same git URL when it was installed from one."""
    requirement = f"{DISTRIBUTION}=={__version__}"
    try:
        direct = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        origin = json.loads(direct)
        vcs = origin.get("vcs_info")
        if vcs and str(origin.get("url", "")).startswith("https://"):
            requirement = f"{DISTRIBUTION} @ {vcs['vcs']}+{origin['url']}@{vcs['commit_id']}"
    return ("# What the GitHub Actions workflow installs. Change the version on purpose to "
            "upgrade;\n# to use a fork, write: site-builder @ "
            "git+https://github.com/OWNER/REPO@COMMIT\n" + requirement + "\n")


def create_site(folder: Path) -> list[Path]:
    """Write a new site into ``folder`` (made if missing); refuse to overwrite anything."""
    files = scaffold_files()
    existing = [folder / f.path for f in files if (folder / f.path).exists()
                or (folder / f.path).is_symlink()]
    if existing:
        raise ContentError([problem(path, "already exists; init never overwrites a file "
                                    "(move it away or pick an empty folder)")
                            for path in existing])
    written = []
    for new in files:
        path = folder / new.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as handle:  # 'x': never over a file that appeared meanwhile
            handle.write(new.data)
        written.append(path)
    return written


def next_steps(folder: Path) -> str:
    where = "" if folder == Path(".") else f"cd {folder} && "
    return (f"created a new site in {folder}/ ({len(scaffold_files())} files). Next:\n"
            f"  1. {where}site-builder serve       # look at it on http://127.0.0.1:8000/\n"
            "  2. edit content/site.yaml and content/topics/; make an empty GitHub repository;\n"
            "     git init -b main && git add . && git commit -m 'New site'\n"
            "     git remote add origin https://github.com/YOU/REPO.git\n"
            "     git push -u origin main\n"
            "  3. on GitHub: Settings > Pages > Source: GitHub Actions (the workflow publishes\n"
            "     every push); for the daily import set the repository variable IMPORT_HF_DAILY\n"
            "     to true, and the SMTP secrets for the daily email (see site-builder's README)")
