"""README.md and docs/*.md run as written: every shell block on the local cloud, in one reader's
session per page, with what the page tells a reader to use locally (tests/docs_runner.py says
how blocks and lines for AWS, and the ones a reader ends with Ctrl-C or types into, are marked).

Pages run side by side against one local cloud, each reader with a home of their own, except
where a page goes on from another's state (hands-on 2 reuses hands-on 1's key pair): those run
one after the other in one reader's session. The machine stands in for what a reader's laptop
has: the tiny QA model as ``QA_MODEL`` (a reader's would come from the Hugging Face cache) and
no network for the hub.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT, cli_env, run_cli
from docs_runner import blocks, script
from test_qa import build_tiny_model

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = [page for page in PAGES if any(block.runs for block in blocks(page))]
AFTER = {"dnn.md": "ec2.md"}  # page -> the page whose state it goes on from
PAGE_LIMIT_S = 400


def run_page(page: Path, env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    """(exit status, output, seconds) of ``page``'s script, run in ``cwd``."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            ["bash", "-c", script(page)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PAGE_LIMIT_S,
        )
        return done.returncode, done.stdout, time.monotonic() - started
    except subprocess.TimeoutExpired as late:
        return 124, str(late.stdout or ""), time.monotonic() - started


def reader_env(docs_home: Path, reader_home: Path, **extra: str) -> dict[str, str]:
    # BROWSER: what `haiku open` opens the page with (a command that only succeeds here).
    env = cli_env(docs_home, HOME=str(reader_home), HF_HUB_OFFLINE="1", COLUMNS="120", BROWSER="true", **extra)
    env.pop("INTROAWS_SSH_DIR")  # keys go to the reader's ~/.ssh, as the pages say
    env.pop("MNIST_DATA_DIR", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, module_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str, float]]:
    """The pages this session tests (``-k s3`` picks one), each run once, with the pages they go
    on from: page name -> (exit status, output, seconds)."""
    params = [getattr(getattr(item, "callspec", None), "params", {}) for item in request.session.items]
    chosen = {p["page"] for p in params if "page" in p}
    while needed := {p for p in RUNNABLE if p.name in {AFTER.get(c.name) for c in chosen}} - chosen:
        chosen |= needed
    chains = [[page] for page in RUNNABLE if page in chosen and page.name not in AFTER]
    for page in RUNNABLE:
        if page in chosen and page.name in AFTER:
            next(chain for chain in chains if chain[-1].name == AFTER[page.name]).append(page)
    qa = any(page.name == "qa.md" for page in chosen)
    model = build_tiny_model(tmp_path_factory.mktemp("docs-qa-model")) if qa else Path("unused")

    def run_chain(chain: list[Path]) -> dict[str, tuple[int, str, float]]:
        reader = tmp_path_factory.mktemp("reader")
        env = reader_env(module_home, reader, QA_MODEL=str(model))
        clone = reader / "introaws"  # the reader's clone, where the pages' commands are typed
        clone.mkdir()
        (clone / "docs").symlink_to(ROOT / "docs")
        results: dict[str, tuple[int, str, float]] = {}
        for page in chain:
            results[page.name] = run_page(page, env, clone)
            if results[page.name][0] != 0:
                break  # the next page would fail for this one's reason
        return results

    assert run_cli(module_home, "cloud", "start").code == 0
    with ThreadPoolExecutor(max_workers=len(chains)) as pool:
        merged: dict[str, tuple[int, str, float]] = {}
        for results in pool.map(run_chain, chains):
            merged.update(results)
    return merged


def test_every_fence_names_its_language():
    """A fence without a language could hide a command from the docs test."""
    unnamed = [f"{b.page.relative_to(ROOT)}:{b.line}" for page in PAGES for b in blocks(page) if not b.language]
    assert unnamed == []


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_page_runs_as_written(runs, page):
    assert page.name in runs, f"not run: the page it goes on from ({AFTER.get(page.name)}) failed"
    code, output, seconds = runs[page.name]
    print(f"{page.name}: {seconds:.1f} s")
    assert code == 0, f"{page.name} failed (exit {code}) after {seconds:.0f} s:\n{output[-6000:]}"


def test_a_failing_command_fails_its_page_at_that_line(tmp_path):
    """The runner's own check: a block that breaks fails the page, naming where it stopped;
    marked lines and blocks are not run."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- aws-only -->\n```sh\nexit 9\n```\n\n```sh\necho first\nexit 7   # AWS only\n"
        "false\necho never\n```\n\n```text\nexit 5\n```\n"
    )
    env = {**os.environ, "HOME": str(tmp_path)}
    code, output, _ = run_page(page, env, tmp_path)
    assert code == 1
    assert "page.md line 6" in output and "s] $ echo first" in output and "s] $ false" in output
    assert "never" not in output.replace("echo never", "")


def test_one_numbering_of_chapters_and_sections_everywhere():
    """docs/textbook-map.md's numbering: "ch. 8" or "chapter 8", "§12.1" for a section, a
    background chapter named beside its hands-on; never a bare "textbook 9" or "chapters 5-6"."""
    bare = re.compile(r"textbook \d|chapters \d+-\d+|chapters \d+ and \d+")
    files = [*PAGES, ROOT / "pyproject.toml", *sorted((ROOT / "src" / "introaws").rglob("*.py"))]
    found = [
        f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files for m in bare.finditer(p.read_text(encoding="utf-8"))
    ]
    assert found == []
