"""Replays of unattended daily operation against a simulated Hugging Face API and SMTP server
on 127.0.0.1, with a fake clock (``--now`` / ``SITE_BUILDER_NOW``).

``test_replay_of_the_commands`` runs the real commands (``update``, ``build``,
``email --pending``) for 25 simulated days; ``test_replay_of_the_workflow`` runs the run
steps of ``.github/workflows/pages.yml`` themselves in a git clone, for a shorter stretch.
Both check: no paper lost, no day unmailed or mailed twice, every mail complete, upvotes and
withdrawals of the window current, and every failed run failing."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest
import yaml

from site_builder import importers
from site_builder.cli import main
from site_builder.state import load_state
from tests.hfsim import SmtpServer, World, at, mailed, make_world, start_api
from tests.trees import tree_differences

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BASE_URL = "https://papers.example.org/"
RECIPIENTS = ["ann@example.org", "bob@example.org", "flaky@example.org"]
START = dt.date(2026, 3, 2)  # a Monday
WINDOW = 7
DAYS = 25  # the faults below fall on days 2 to 20; the last days run clean


def site_yaml(api: str) -> str:
    return (f"title: Replay Papers\nbase_url: {BASE_URL}\ndaily:\n  sources:\n"
            f"    - type: hf-api\n      url: {api}\n  window_days: {WINDOW}\n"
            "  close_after_hours: 6\ndigest_size: 5\n")


@dataclass
class Run:
    when: dt.datetime
    faults: dict[str, str] = field(default_factory=dict)
    smtp_down: bool = False
    refuse: set[str] = field(default_factory=set)
    codes: list[int] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def failed(self) -> bool:
        return any(self.codes)


def day(offset: int) -> dt.date:
    return START + dt.timedelta(days=offset)


def schedule(days: int) -> list[Run]:
    """One run a day at 22:43 UTC, with the faults of the issue on chosen days."""
    runs = []
    for offset in range(days):
        d = day(offset)
        if offset in (8, 19, 20):  # skipped scheduled runs (one, then two in a row)
            continue
        if offset == 5:  # Saturday's run delayed past midnight into Sunday
            runs.append(Run(at(d + dt.timedelta(days=1), 0, 57)))
            continue
        if offset == 9:  # several runs on one day: by hand in the morning and at noon
            runs.append(Run(at(d, 9, 0)))
            runs.append(Run(at(d, 13, 0), faults={day(8).isoformat(): "truncated"}))
        faults = {}
        if offset == 2:
            faults = {"*": "500"}  # the API down for the whole run
        elif offset == 4:
            faults = {day(3).isoformat(): "503"}  # the busy day fails, the others do not
        elif offset == 11:
            faults = {day(10).isoformat(): "timeout"}
        runs.append(Run(at(d, 22, 43), faults, smtp_down=offset in (14, 15),
                        refuse={"flaky@example.org"} if offset == 17 else set()))
        if offset == 12:  # a schedule that fires twice
            runs.append(Run(at(d, 22, 43)))
    return runs


def paper_files(content: Path) -> dict[str, dict]:
    found = {}
    for path in (content / "days").glob("*/*.md"):
        text = path.read_text("utf-8")
        meta = yaml.safe_load(text.split("---\n")[1])
        meta["_day"] = dt.date.fromisoformat(path.parent.name)
        found[path.stem] = meta
    return found


def check_outcome(world: World, content: Path, out: Path, sink, runs: list[Run]) -> None:
    """Everything the issue's 'Done when' counts, at the end of a replay."""
    final = runs[-1].when
    files = paper_files(content)
    home = world.home_day()
    lost = sorted(set(home) - set(files))
    assert lost == [], f"papers listed but not on the site: {lost}"
    assert all((out / "papers" / pid / "index.html").is_file() for pid in home)
    assert {pid: files[pid]["_day"] for pid in home} == home  # each on its first listing day

    days_with_papers = sorted(set(home.values()))
    due = [d for d in days_with_papers if at(d + dt.timedelta(days=1), 6) < final]
    messages = mailed(sink)
    for d in due:
        expected = {pid for pid, h in home.items() if h == d}
        for rcpt in RECIPIENTS:
            got = messages.get((rcpt, d), [])
            assert len(got) == 1, f"{d} mailed {len(got)} times to {rcpt}"
            assert got[0] == expected, f"{d} to {rcpt}: missing {sorted(expected - got[0])}"
    assert {d for _rcpt, d in messages} <= set(due)  # nothing mailed before its day closed

    window = {final.date() - dt.timedelta(days=n) for n in range(WINDOW)}
    stale = [p.id for p in world.papers if p.day in window and p.appears <= final
             and (files[p.id].get("upvotes") != p.upvotes(final)
                  or bool(files[p.id].get("withdrawn")) != bool(p.withdrawn_at(final)))]
    assert stale == [], f"stale upvotes or withdrawals in the window: {stale}"
    taken_back = [p for p in world.papers if p.withdrawn and p.withdrawn[0][1]
                  and p.withdrawn[0][1] <= final and p.day in window]
    still = [p for p in world.papers if p.day in window and p.withdrawn_at(final)]
    assert taken_back and still  # the window did see withdrawals both ways

    for run in runs:  # a run is red when something went wrong in it, else green
        if run.served:
            assert run.failed, (run.when, run.served, run.log[-800:])
        elif not run.smtp_down and not run.refuse:
            assert not run.failed, (run.when, run.codes, run.log[-800:])
    assert any(run.failed for run in runs if run.smtp_down)
    assert all(run.failed for run in runs if run.refuse)


def check_feed_dates(content: Path, out: Path, tmp_path: Path) -> None:
    """Digest items are dated when the site first published the day, and rebuild
    byte-identical."""
    state = load_state(content)
    feed = feedparser.parse((out / "digest.xml").read_bytes())
    assert feed.entries
    for entry in feed.entries:
        listed = dt.date.fromisoformat(entry.link.rstrip("/").rsplit("/", 1)[1])
        published = dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC)
        assert published == state.days[listed].first_published
    again = tmp_path / "again"
    assert main(["build", "--content", str(content), "--out", str(again), "--base-url",
                 BASE_URL, "--quiet", "--jobs", "1", "--clean"]) == 0
    for name in ("feed.xml", "atom.xml", "feed.json", "digest.xml"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_replay_of_the_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importers, "FETCH_TIMEOUT", 0.5)
    world = make_world(START, DAYS)
    api, url = start_api(world)
    smtp = SmtpServer()
    smtp.start()
    content, out = tmp_path / "content", tmp_path / "output"
    content.mkdir()
    (content / "site.yaml").write_text(site_yaml(url), "utf-8")
    to_file = tmp_path / "recipients.txt"
    to_file.write_text("\n".join(RECIPIENTS) + "\n", "utf-8")
    runs = schedule(DAYS)
    try:
        for run in runs:
            world.now, world.faults, world.served_faults = run.when, run.faults, []
            smtp.stop() if run.smtp_down else smtp.start()
            smtp.sink.refuse = run.refuse
            now = run.when.isoformat()
            run.codes.append(main(["update", "--content", str(content), "--now", now]))
            run.served = list(world.served_faults)
            build_code = main(["build", "--content", str(content), "--out", str(out),
                               "--base-url", BASE_URL, "--quiet", "--jobs", "1"])
            run.codes.append(build_code)
            if build_code == 0:  # the workflow mails only after a deploy
                run.codes.append(main([
                    "email", "--pending", "--feed", str(out / "digest.xml"), "--content",
                    str(content), "--smtp", f"127.0.0.1:{smtp.port}", "--from",
                    "papers@example.org", "--to-file", str(to_file), "--now", now]))
            captured = capsys.readouterr()
            run.log = captured.out + captured.err
            if run.served:  # the log names the day and why
                assert re.search(r"\d{4}-\d{2}-\d{2}: FAILED: .*(HTTP 5|invalid JSON|no answer)",
                                 run.log), run.log
        smtp.start()
        check_outcome(world, content, out, smtp.sink, runs)
        check_feed_dates(content, out, tmp_path)
    finally:
        smtp.stop()
        api.shutdown()
    assert sum(r.failed for r in runs) >= 6  # the faults above really happened


# --- the workflow's own steps ----------------------------------------------------------


WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"


class Context:
    """``steps.x.outcome`` and friends for the ``if:`` expressions: missing names are ''."""

    def __init__(self, values: dict):
        self.values = values

    def __getattr__(self, name):
        value = self.values.get(name, "")
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression: str, names: dict, failed: bool) -> bool:
    """A GitHub Actions ``if:`` (the subset the workflow uses), evaluated in Python."""
    text = expression.strip()
    text = text.removeprefix("${{").removesuffix("}}").strip()
    text = text.replace("!cancelled()", "True").replace("success()", repr(not failed))
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    scope = {key: Context(value) if isinstance(value, dict) else value
             for key, value in names.items()}
    return bool(eval(text, {}, scope))  # noqa: S307 - our own workflow file


def substitute(text: str, names: dict) -> str:
    def value(match: re.Match) -> str:
        result: object = Context(names)
        for part in match.group(1).strip().split("."):
            result = getattr(result, part)
        return str(result)

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, text)


@dataclass
class Job:
    name: str
    result: str = "skipped"
    outputs: dict = field(default_factory=dict)
    log: str = ""


def run_job(name: str, spec: dict, names: dict, workdir: Path, origin: Path, env: dict,
            runner: Path) -> Job:
    """One job: its ``uses:`` steps played by local stand-ins, its ``run:`` steps run with
    bash -e as on GitHub; a failed step makes the job fail (and skips plain steps after)."""
    job = Job(name, "success")
    steps: dict = {}
    names = dict(names, steps=steps)
    failed = False
    for step in spec["steps"]:
        condition = step.get("if")
        if condition is not None and not evaluate(f"${{{{ {condition} }}}}"
                                                  if "${{" not in str(condition)
                                                  else condition, names, failed):
            if "id" in step:
                steps[step["id"]] = {"outcome": "skipped", "outputs": {}}
            continue
        if condition is None and failed:
            continue
        outputs: dict = {}
        ok = play_step(step, names, workdir, origin, env, runner, outputs, job)
        if "id" in step:
            steps[step["id"]] = {"outcome": "success" if ok else "failure", "outputs": outputs}
        failed = failed or not ok
    for key, expression in spec.get("outputs", {}).items():
        job.outputs[key] = substitute(expression, names)
    job.result = "failure" if failed else "success"
    return job


def play_step(step: dict, names: dict, workdir: Path, origin: Path, env: dict, runner: Path,
              outputs: dict, job: Job) -> bool:
    uses = step.get("uses", "")
    if uses.startswith("actions/checkout"):
        shutil.rmtree(workdir, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(origin), str(workdir)], check=True)
        return True
    if uses.startswith("actions/configure-pages"):
        outputs["base_url"] = BASE_URL.rstrip("/")
        return True
    if uses.startswith("actions/upload-pages-artifact"):
        shutil.copytree(workdir / step["with"]["path"], runner / "pages", dirs_exist_ok=True)
        return True
    if uses.startswith("actions/deploy-pages"):
        shutil.copytree(runner / "pages", runner / "deployed", dirs_exist_ok=True)
        return True
    if uses.startswith("actions/upload-artifact"):
        shutil.copy(workdir / step["with"]["path"], runner / "artifact.xml")
        return True
    if uses.startswith("actions/download-artifact"):
        target = workdir / step["with"]["path"]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(runner / "artifact.xml", target / "digest.xml")
        return True
    if uses.startswith("actions/cache/"):
        play_cache(uses, step["with"], workdir, runner.parent / "actions-cache")
        return True
    if uses:
        return True  # setup-python: this interpreter is the one
    script = step["run"]
    if script.strip().startswith("pip install"):
        return True  # installed already (the test's own environment)
    output_file = runner / "github_output"
    output_file.write_text("")
    step_env = dict(env, GITHUB_OUTPUT=str(output_file), RUNNER_TEMP=str(runner))
    for key, value in step.get("env", {}).items():
        step_env[key] = substitute(str(value), names)
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", substitute(script, names)],
                          cwd=workdir, env=step_env, capture_output=True, text=True)
    job.log += done.stdout + done.stderr
    for line in output_file.read_text().splitlines():
        key, _sep, value = line.partition("=")
        outputs[key] = value
    return done.returncode == 0


def play_cache(uses: str, spec: dict, workdir: Path, caches: Path) -> None:
    """actions/cache/save and restore. Every entry here is saved on one branch, so a restore
    key matches them all and the newest comes back, into a fresh checkout. Files are copied
    without their times, as a restored cache never is as the build left it (new inodes, and
    every file of a checkout is new)."""
    paths = spec["path"].split()
    saved = sorted(caches.glob("*")) if caches.is_dir() else []
    if uses.startswith("actions/cache/save"):
        source, target = workdir, caches / f"{len(saved):04d}"
    elif saved:
        source, target = saved[-1], workdir
    else:
        return
    for name in paths:
        if (source / name).exists():
            shutil.copytree(source / name, target / name, copy_function=shutil.copy,
                            dirs_exist_ok=True)


def run_workflow(workflow: dict, names: dict, tmp: Path, origin: Path, env: dict) -> dict:
    """The jobs in order (build, deploy, email), each with its needs and if."""
    runner = tmp / "runner"
    shutil.rmtree(runner, ignore_errors=True)
    runner.mkdir()
    jobs: dict[str, Job] = {}
    for name, spec in workflow["jobs"].items():
        needs = spec.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        context = dict(names, needs={n: {"result": jobs[n].result, "outputs": jobs[n].outputs}
                                     for n in needs})
        condition = spec.get("if")
        upstream_ok = all(jobs[n].result == "success" for n in needs)
        if condition is None:
            run = upstream_ok
        else:
            run = evaluate(condition if "${{" in str(condition) else f"${{{{ {condition} }}}}",
                           context, not upstream_ok)
        if not run:
            jobs[name] = Job(name)
            continue
        if "steps" not in spec or name == "deploy":
            jobs[name] = run_job(name, spec, context, tmp / "work", origin, env, runner) \
                if "steps" in spec else Job(name, "success")
        else:
            jobs[name] = run_job(name, spec, context, tmp / f"work-{name}", origin, env, runner)
    return jobs


BUILT = re.compile(r"built ([\d,]+) pages \(([\d,]+) rendered")


def check_builds_from_the_cache(runs: list[Run], content: Path, deployed: Path,
                                clean: Path) -> None:
    """Runs after the first start from the build the cache kept: they render only part of
    the site, and what they deploy is what a clean build of the same content makes."""
    for run in runs[1:]:
        built = [(int(a.replace(",", "")), int(b.replace(",", "")))
                 for a, b in BUILT.findall(run.log)]
        up_to_date = "nothing changed: output is up to date" in run.log
        assert built or up_to_date, f"{run.when}: the build printed no summary"
        assert all(rendered < pages for pages, rendered in built), (run.when, built)
    assert main(["build", "--content", str(content), "--out", str(clean), "--base-url",
                 BASE_URL, "--quiet", "--clean"]) == 0
    assert tree_differences(deployed, clean) == []


def test_replay_of_the_workflow(tmp_path):
    world = make_world(START, 9, busy=120)
    api, url = start_api(world)
    smtp = SmtpServer(tls_folder=tmp_path)
    smtp.start()
    origin = tmp_path / "origin.git"
    seed = tmp_path / "seed"
    (seed / "content").mkdir(parents=True)
    (seed / "content" / "site.yaml").write_text(site_yaml(url), "utf-8")
    shutil.copytree(REPO / ".github", seed / ".github")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    subprocess.run([*git, "-C", str(seed), "add", "."], check=True)
    subprocess.run([*git, "-C", str(seed), "commit", "-q", "-m", "seed"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(origin)], check=True)
    workflow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(tmp_path),
               SSL_CERT_FILE=str(smtp.authority))
    (tmp_path / ".gitconfig").write_text("[user]\n\tname = t\n\temail = t@example.org\n")
    secrets = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
               "EMAIL_FROM": "papers@example.org", "EMAIL_TO": "\n".join(RECIPIENTS)}
    runs = [Run(at(day(0), 22, 43)), Run(at(day(1), 22, 43), faults={"*": "503"}),
            Run(at(day(2), 22, 43)), Run(at(day(2), 22, 43)),  # fires twice
            Run(at(day(3), 22, 43), faults={day(3).isoformat(): "truncated"}),
            Run(at(day(4), 22, 43), smtp_down=True),
            Run(at(day(6), 0, 57)),  # Saturday's run delayed; Sunday's skipped
            Run(at(day(7), 22, 43)), Run(at(day(8), 22, 43))]
    try:
        for number, run in enumerate(runs):
            world.now, world.faults, world.served_faults = run.when, run.faults, []
            smtp.stop() if run.smtp_down else smtp.start()
            names = {"vars": {"IMPORT_HF_DAILY": "true"}, "secrets": secrets,
                     "github": {"event_name": "workflow_dispatch" if number % 2 else "schedule",
                                "ref": "refs/heads/main"}}
            run_env = dict(env, SITE_BUILDER_NOW=run.when.isoformat())
            jobs = run_workflow(workflow, names, tmp_path, origin, run_env)
            run.served = list(world.served_faults)
            run.log = "".join(job.log for job in jobs.values())
            run.codes = [0 if job.result in ("success", "skipped") else 1
                         for job in jobs.values()]
            assert jobs["deploy"].result == "success", run.log  # deploys what it could
            if run.served:
                assert re.search(r"\d{4}-\d{2}-\d{2}: FAILED", run.log), run.log
        smtp.start()
        final = tmp_path / "final"
        subprocess.run(["git", "clone", "-q", str(origin), str(final)], check=True)
        deployed = tmp_path / "runner" / "deployed"
        check_outcome(world, final / "content", deployed, smtp.sink, runs)
        check_builds_from_the_cache(runs, final / "content", deployed, tmp_path / "clean")
        log = subprocess.run(["git", "-C", str(final), "log", "--format=%s"],
                             capture_output=True, text=True, check=True).stdout
        assert "seed" in log and len(log.splitlines()) > 3  # the state was committed back
    finally:
        smtp.stop()
        api.shutdown()
