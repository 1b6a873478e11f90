"""The root command: global options, sub-commands, and the one error boundary."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.core import Command
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from introaws import __version__, i18n
from introaws.cli import context, render
from introaws.cli.environment import Environment
from introaws.errors import ExitCode, IntroawsError, UsageError
from introaws.i18n import N_, _

# Each group's module is imported only when that group runs, so `introaws --help` (and every
# command) pays for one group, not all. In the course's order: key pairs and the hands-ons,
# then the small exercises, data, the cloud. The help line of a group lives here only.
GROUPS: dict[str, tuple[str, str]] = {
    "keypair": ("introaws.cli.keypair", N_("SSH key pairs for EC2 (textbook §4.4.3).")),
    "ec2": ("introaws.cli.ec2", N_("EC2 hands-on: a server of your own, reached over SSH (textbook ch. 4).")),
    "dnn": (
        "introaws.cli.dnn",
        N_(
            "GPU hands-on: Deep Learning AMI, Jupyter through an SSH tunnel, PyTorch (textbook ch. 6; background: ch. 5)."
        ),
    ),
    "qa": (
        "introaws.cli.qa",
        N_(
            "QA bot hands-on: questions answered by Fargate tasks, answers in DynamoDB (textbook ch. 8; background: ch. 7)."
        ),
    ),
    "batch": (
        "introaws.cli.batch",
        N_("AWS Batch hands-on: an MNIST hyper-parameter sweep, results as a heat-map (textbook ch. 9)."),
    ),
    "haiku": (
        "introaws.cli.haiku",
        N_("Bashoutter: a haiku SNS on API Gateway + Lambda + DynamoDB + S3 (textbook ch. 13; background: ch. 10–11)."),
    ),
    "lambda": (
        "introaws.cli.lambda_",
        N_("Lambda hands-on: a function that hands out a starter Pokémon (textbook §12.1)."),
    ),
    "ddb": ("introaws.cli.ddb", N_("DynamoDB hands-on: a table of random people (textbook §12.2).")),
    "s3": ("introaws.cli.s3", N_("S3 hands-on: a bucket to upload to and download from (textbook §3.5.3).")),
    "data": ("introaws.cli.data", N_("Data sets and models for the hands-ons (MNIST, the QA model).")),
    "cloud": ("introaws.cli.cloud", N_("Manage the embedded local cloud (started automatically when needed).")),
}


class LazyGroups(TyperGroup):
    """The root command: each group is a placeholder (its name and help line, for the command
    list and completion) until a command line names it; then its module is imported."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.loaded: set[str] = set()
        for name, (_module, help_text) in GROUPS.items():
            self.add_command(TyperGroup(name=name, help=help_text, rich_markup_mode=None), name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in GROUPS:
            self._load(args[0])
        return super().resolve_command(ctx, args)

    def _load(self, name: str) -> None:
        if name in self.loaded:
            return
        module_name, help_text = GROUPS[name]
        group = typer.main.get_group(importlib.import_module(module_name).app)
        group.name, group.help, group.no_args_is_help = name, help_text, True
        translate_help(group)
        self.commands[name] = group
        self.loaded.add(name)


app = typer.Typer(
    name="introaws",
    cls=LazyGroups,
    help=N_(
        "The hands-ons of 'Intro to AWS through code', one command each — on an offline "
        "local cloud (default) or on your AWS account (--cloud aws)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,  # as every group's (context.group)
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"introaws {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    cloud_: str = typer.Option(
        None, "--cloud", envvar="INTROAWS_CLOUD", help=N_("Where to run: local (embedded, offline; default) or aws.")
    ),
    profile: str = typer.Option(None, "--profile", help=N_("AWS profile (with --cloud aws).")),
    region: str = typer.Option(None, "--region", help=N_("Region (local default ap-northeast-1).")),
    debug: bool = typer.Option(False, "--debug", help=N_("Show tracebacks.")),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help=N_("Print the version and exit.")
    ),
) -> None:
    settings = context.settings(ctx)
    settings.cloud, settings.profile, settings.region, settings.debug = cloud_, profile, region, debug
    ctx.call_on_close(settings.close)
    if cloud_ and cloud_.lower() not in ("local", "aws"):
        raise UsageError(_("unknown cloud '{cloud}'").format(cloud=cloud_), _("use --cloud local or --cloud aws"))


@app.command("status", help=N_("Every stack introaws created on the target, with age and estimated cost."))
def status(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import overview

    rows = overview.status_all(context.target(ctx))
    if json_out:
        render.print_json(rows)
        return
    if not rows:
        render.note(_("no introaws stacks on this target"))
        return
    render.table(
        None,
        [_("hands-on"), _("stack"), _("status"), _("created"), _("$/hour")],
        [
            [
                r["hands_on"],
                r["stack"],
                r["status"],
                r["created"],
                "-" if r["hourly_usd"] is None else f"{r['hourly_usd']:.3f}",
            ]
            for r in rows
        ],
    )


@app.command("down", help=N_("Destroy every stack introaws created on the target (with --all)."))
def down(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help=N_("Destroy every introaws stack.")),
    yes: bool = context.YES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import overview

    if not all_:
        raise UsageError(_("say what to destroy"), _("use 'introaws down --all', or 'introaws <hands-on> down'"))
    target = context.target(ctx)
    context.confirm(_("destroy every introaws stack on the {cloud} cloud?").format(cloud=target.cloud), yes)
    with render.progress() as report:
        destroyed = overview.down_all(target, report)
    if json_out:
        render.print_json({"destroyed": destroyed})
        return
    render.success(_("destroyed {count} stacks").format(count=len(destroyed)) if destroyed else _("nothing to destroy"))


@app.command("doctor", help=N_("Check what introaws needs here and say what to install."))
def doctor(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import overview

    settings = context.settings(ctx)
    # The checks' details and advice are made in the run's language; JSON is English always.
    with i18n.speaking(i18n.ENGLISH) if json_out else contextlib.nullcontext():
        checks = overview.doctor(settings.cloud, settings.profile, settings.region)
    if json_out:
        render.print_json(checks)
    else:
        render.table(
            None,
            [_("check"), _("ok"), _("detail"), _("to fix")],
            [
                [
                    _(c["check"]),
                    _("yes") if c["ok"] else (_("NO") if c["required"] else _("optional")),
                    c["detail"],
                    c["fix"],
                ]
                for c in checks
            ],
        )
    if any(c["required"] and not c["ok"] for c in checks):
        raise typer.Exit(ExitCode.MISSING_TOOL)


def main(args: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI on ``args`` (default: the process's) in ``env`` (default: the process's
    streams and variables) and return the exit code; every error becomes one line (a
    traceback with --debug or INTROAWS_DEBUG=1)."""
    env = env or Environment()
    args = list(sys.argv[1:] if args is None else args)
    with env.applied(), i18n.speaking(i18n.language(env.variables)):
        render.use(env.stdout, env.stderr)
        return _run(args, debug="--debug" in args or env.debug_requested)


# Typer's help for the completion options it adds to the root command, translated with ours.
TYPER_HELP = (
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
)


def translate_help(command: Command) -> None:
    """Put the help texts of ``command`` and those below it into this run's language. Typer
    reads them (English, marked with ``N_``) when it builds the click commands, which it does
    anew for every run, so each run translates its own copies."""
    for item in (command, *command.params):
        for attribute in ("help", "short_help"):
            text = getattr(item, attribute, None)
            if text:
                setattr(item, attribute, _(text))
    if isinstance(command, TyperGroup):  # a group LazyGroups loads later is translated then
        for sub in command.commands.values():
            translate_help(sub)


def _run(args: list[str], debug: bool) -> int:
    command = typer.main.get_command(app)
    translate_help(command)
    try:
        code = command.main(args=args, prog_name="introaws", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except IntroawsError as exc:
        if debug:
            raise
        render.error_line(str(exc))
        return exc.exit_code
    except typer.Abort:
        render.error_line(_("cancelled"))
        return ExitCode.ABORTED
    except typer.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelpError as exc:  # a group named alone: its help, as click shows it
        render.help_text(exc.format_message())
        return exc.exit_code
    except ClickException as exc:  # usage errors from Typer's vendored click
        context = getattr(exc, "ctx", None)
        hint = _(" (see '{command} --help')").format(command=context.command_path) if context else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        render.error_line(f"{message}{hint}")
        return getattr(exc, "exit_code", ExitCode.USAGE)
    except KeyboardInterrupt:
        render.error_line(_("interrupted"))
        return ExitCode.INTERRUPTED
    except Exception as exc:  # the boundary: anything unexpected, in one line
        if debug:
            raise
        render.error_line(_("{problem} (rerun with --debug for details)").format(problem=_describe(exc)))
        return ExitCode.ERROR


def _describe(exc: Exception) -> str:
    """AWS errors as 'AWS said ...'; others by type and message."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        operation = getattr(exc, "operation_name", "request")
        return _("{operation} failed: {code}: {message}").format(
            operation=operation, code=error.get("Code"), message=error.get("Message")
        )
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return _("no AWS credentials found; run 'aws configure' or pass --profile")
    return f"{type(exc).__name__}: {exc}"
