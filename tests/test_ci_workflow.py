"""The GitHub Actions workflow runs the README's two set-up commands, as written, on Linux and on
macOS (Apple Silicon): the systems this machine cannot test are at least tried somewhere."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT


def readme_commands() -> list[str]:
    setup = (ROOT / "README.md").read_text().split("## Set-up", 1)[1]
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
