"""The README's two set-up commands are the ones the GitHub Actions workflow runs on Linux and on
macOS (Apple Silicon) — the systems this machine cannot test are at least tried somewhere — and
the ones the Japanese README gives."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT


def readme_commands(name: str = "README.md", section: str = "## Set-up") -> list[str]:
    setup = (ROOT / name).read_text().split(section, 1)[1]
    block = re.search(r"```sh\n(.*?)```", setup, re.S)
    assert block, "README's set-up section has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_workflow_runs_the_readmes_two_commands_on_linux_and_macos():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert {"ubuntu-latest", "macos-14"} <= set(job["strategy"]["matrix"]["os"])
    run = "\n".join(step.get("run", "") for step in job["steps"])
    commands = readme_commands()
    assert len(commands) == 2
    for command in commands:
        assert command in run, f"the workflow does not run: {command}"


def test_the_japanese_readme_gives_the_same_two_commands():
    assert readme_commands("README.ja.md", "## セットアップ") == readme_commands()
