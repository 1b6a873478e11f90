"""Global options, the lazily resolved target, and confirmation rules shared by commands."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import typer

from introaws.errors import Aborted
from introaws.i18n import N_, _

if TYPE_CHECKING:
    from introaws.target import Target


@dataclass
class Settings:
    cloud: str | None = None
    profile: str | None = None
    region: str | None = None
    debug: bool = False
    _target: Target | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._target is not None:
            self._target.close()
            self._target = None

    def target(self) -> Target:  # imported lazily (boto3)
        if self._target is None:
            from introaws import target

            self._target = target.resolve(self.cloud, self.profile, self.region)
        return self._target


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def target(ctx: typer.Context) -> Target:
    return settings(ctx).target()


def self_command(ctx: typer.Context) -> list[str]:
    """The command line that runs this introaws again, on the same target and home, from
    anywhere (another program's child, such as ssh's ProxyCommand)."""
    import os

    chosen = settings(ctx)
    words = ["env", *(f"{n}={os.environ[n]}" for n in ("INTROAWS_HOME", "INTROAWS_SSH_DIR") if os.environ.get(n))]
    words += [sys.executable, "-m", "introaws", "--cloud", target(ctx).cloud, "--region", target(ctx).region]
    return words + (["--profile", chosen.profile] if chosen.profile else [])


def runs_here(ctx: typer.Context) -> bool:
    """Whether the target's workloads run on this machine (the local cloud), known without
    starting it."""
    from introaws import target

    return target.kind_of(settings(ctx).cloud).runs_here


def terminal() -> tuple[int, int]:
    """The descriptors of stdin and stdout for an interactive session; -1 for a stream that has
    none (the CLI run in-process on captured streams), which is no terminal either."""

    def descriptor(stream: TextIO) -> int:
        try:
            return stream.fileno()
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            return -1

    return descriptor(sys.stdin), descriptor(sys.stdout)


def group() -> typer.Typer:
    """A command group's Typer. Help is printed as click prints it: Typer's rich panels import
    rich and markdown-it, which took longer than the rest of `introaws --help` together."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def confirm(question: str, yes: bool) -> None:
    """Go on when ``--yes`` was given or the user agrees; a non-interactive run refuses."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Aborted(
            _("refusing without confirmation: {question}").format(question=question), _("add --yes to confirm")
        )
    if not typer.confirm(question, default=False, err=True):
        raise Aborted(_("cancelled"), _("nothing was changed"))


JSON_OPTION = typer.Option(False, "--json", help=N_("Print machine-readable JSON."))
YES_OPTION = typer.Option(False, "--yes", "-y", help=N_("Do not ask for confirmation."))
LINES_OPTION = typer.Option(None, "--lines", "-n", min=1, help=N_("Only the last N lines."))
