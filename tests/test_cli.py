"""The command tree keeps one set of conventions: --json, --wait/--no-wait, --lines, --yes,
up/down/status/template from the one lifecycle helper, click's type names in --help, completion."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer

from conftest import cli_env, run_exe
from introaws.cli import app as root
from introaws.cli import stackcmds
from introaws.stacks import HANDS_ONS

# Commands that hand the terminal over or print a file to paste, instead of a result.
NO_RESULT = {
    "ec2 ssh": "a shell or the remote command's own output",
    "dnn ssh": "a shell or the remote command's own output",
    "dnn tunnel": "a tunnel open until Ctrl-C",
    "ec2 ssh-config": "a Host block for ~/.ssh/config",
    **{f"{name} template": "a CloudFormation template, JSON or YAML by --format" for name in HANDS_ONS},
}
DESTRUCTIVE = ("down", "delete", "clear", "reset")


def commands() -> Iterator[tuple[str, typer.core.TyperCommand]]:
    """Every command as 'group name' (groups loaded as a command line would load them)."""
    group = typer.main.get_command(root.app)
    for name in list(group.commands):
        if name in root.GROUPS:
            group._load(name)
        command = group.commands[name]
        if hasattr(command, "commands"):
            for sub_name, sub in command.commands.items():
                yield f"{name} {sub_name}", sub
        else:
            yield name, command


def options(command: typer.core.TyperCommand) -> dict[str, object]:
    return {opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_command_with_a_result_takes_json():
    missing = [name for name, command in commands() if name not in NO_RESULT and "--json" not in options(command)]
    assert missing == []


def test_waiting_is_wait_or_no_wait():
    for name, command in commands():
        found = options(command)
        if "--wait" in found or "--no-wait" in found:
            assert {"--wait", "--no-wait"} <= set(found) and found["--wait"] is found["--no-wait"], name


def test_log_tails_take_lines():
    for name, command in commands():
        if name.endswith(" logs"):
            assert "--lines" in options(command), name


def test_every_destructive_command_takes_yes():
    destructive = [name for name, _ in commands() if name.split()[-1] in DESTRUCTIVE]
    assert "haiku delete" in destructive and "cloud reset" in destructive
    for name, command in commands():
        if name in destructive:
            assert "--yes" in options(command), name


@pytest.mark.parametrize("hands_on", sorted(HANDS_ONS))
def test_up_down_status_come_from_the_lifecycle_helper(hands_on):
    found = dict(commands())
    for verb in ("up", "down", "status", "template"):
        callback = found[f"{hands_on} {verb}"].callback
        assert callback.__module__ == stackcmds.__name__, f"{hands_on} {verb} is not add_lifecycle's"


def test_help_names_types_as_click_does(cli):
    shown = cli("ddb", "write", "--help")
    assert shown.code == 0
    assert "INTEGER" in shown.out and "COUNT" in shown.out
    assert "<int" not in shown.out and "<bool>" not in shown.out
    sweep = cli("batch", "sweep", "--help").out
    assert "TEXT" in sweep and "--wait" in sweep and "<str>" not in sweep


def test_shell_completion_completes_groups_and_commands(home):
    def complete(words: str) -> str:
        current = len(words.split()) - (0 if words.endswith(" ") else 1)  # the word being completed
        env = cli_env(home, _INTROAWS_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(current))
        return run_exe(home, env=env).out

    assert "ddb" in complete("introaws dd").split()
    assert {"write", "search"} <= set(complete("introaws ddb ").split())
    assert "--install-completion" in run_exe(home, "--help").out
