"""The root command: global options, sub-commands, and the one error boundary."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from introaws import __version__
from introaws.cli import context, render
from introaws.cli.environment import Environment
from introaws.errors import ExitCode, IntroawsError, UsageError

# Each group's module is imported only when that group runs, so `introaws --help` (and every
# command) pays for one group, not all. In the course's order: key pairs and the hands-ons,
# then the small exercises, data, the cloud. The help line of a group lives here only.
GROUPS: dict[str, tuple[str, str]] = {
    "keypair": ("introaws.cli.keypair", "SSH key pairs for EC2 (textbook 4.4.3)."),
    "ec2": ("introaws.cli.ec2", "EC2 hands-on: a server of your own, reached over SSH (textbook chapter 4)."),
    "dnn": (
        "introaws.cli.dnn",
        "GPU hands-on: Deep Learning AMI, Jupyter through an SSH tunnel, PyTorch (textbook chapters 5-6).",
    ),
    "qa": (
        "introaws.cli.qa",
        "QA bot hands-on: questions answered by Fargate tasks, answers in DynamoDB (textbook chapter 8).",
    ),
    "batch": (
        "introaws.cli.batch",
        "AWS Batch hands-on: an MNIST hyper-parameter sweep, results as a heat-map (textbook 9).",
    ),
    "haiku": ("introaws.cli.haiku", "Bashoutter: a haiku SNS on API Gateway + Lambda + DynamoDB + S3 (textbook 13)."),
    "lambda": ("introaws.cli.lambda_", "Lambda hands-on: a function that hands out a starter Pokémon (textbook 12.1)."),
    "ddb": ("introaws.cli.ddb", "DynamoDB hands-on: a table of random people (textbook 12.2)."),
    "s3": ("introaws.cli.s3", "S3 hands-on: a bucket to upload to and download from (textbook 3.5.3)."),
    "data": ("introaws.cli.data", "Data sets for the hands-ons (MNIST)."),
    "cloud": ("introaws.cli.cloud", "Manage the embedded local cloud (started automatically when needed)."),
}


class LazyGroups(TyperGroup):
    """The root command: each group is a placeholder (its name and help line, for the command
    list and completion) until a command line names it; then its module is imported."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.loaded: set[str] = set()
        for name, (_, help_text) in GROUPS.items():
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
        self.commands[name] = group
        self.loaded.add(name)


app = typer.Typer(
    name="introaws",
    cls=LazyGroups,
    help="The hands-ons of 'Intro to AWS through code', one command each — on an offline "
    "local cloud (default) or on your AWS account (--cloud aws).",
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
        None, "--cloud", envvar="INTROAWS_CLOUD", help="Where to run: local (embedded, offline; default) or aws."
    ),
    profile: str = typer.Option(None, "--profile", help="AWS profile (with --cloud aws)."),
    region: str = typer.Option(None, "--region", help="Region (local default ap-northeast-1)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    settings = context.settings(ctx)
    settings.cloud, settings.profile, settings.region, settings.debug = cloud_, profile, region, debug
    ctx.call_on_close(settings.close)
    if cloud_ and cloud_.lower() not in ("local", "aws"):
        raise UsageError(f"unknown cloud '{cloud_}'", "use --cloud local or --cloud aws")


@app.command("status")
def status(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Every stack introaws created on the target, with age and estimated cost."""
    from introaws.workflows import overview

    rows = overview.status_all(context.target(ctx))
    if json_out:
        render.print_json(rows)
        return
    if not rows:
        render.note("no introaws stacks on this target")
        return
    render.table(
        None,
        ["hands-on", "stack", "status", "created", "$/hour"],
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


@app.command("down")
def down(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Destroy every introaws stack."),
    yes: bool = context.YES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Destroy every stack introaws created on the target (with --all)."""
    from introaws.workflows import overview

    if not all_:
        raise UsageError("say what to destroy", "use 'introaws down --all', or 'introaws <hands-on> down'")
    target = context.target(ctx)
    context.confirm(f"destroy every introaws stack on the {target.cloud} cloud?", yes)
    with render.progress() as report:
        destroyed = overview.down_all(target, report)
    if json_out:
        render.print_json({"destroyed": destroyed})
        return
    render.success(f"destroyed {len(destroyed)} stacks" if destroyed else "nothing to destroy")


@app.command("doctor")
def doctor(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Check what introaws needs here and say what to install."""
    from introaws.workflows import overview

    settings = context.settings(ctx)
    checks = overview.doctor(settings.cloud, settings.profile, settings.region)
    if json_out:
        render.print_json(checks)
    else:
        render.table(
            None,
            ["check", "ok", "detail", "to fix"],
            [
                [c["check"], "yes" if c["ok"] else ("NO" if c["required"] else "optional"), c["detail"], c["fix"]]
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
    with env.applied():
        render.use(env.stdout, env.stderr)
        return _run(args, debug="--debug" in args or env.debug_requested)


def _run(args: list[str], debug: bool) -> int:
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="introaws", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except IntroawsError as exc:
        if debug:
            raise
        render.error_line(str(exc))
        return exc.exit_code
    except typer.Abort:
        render.error_line("cancelled")
        return ExitCode.ABORTED
    except typer.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelpError as exc:  # a group named alone: its help, as click shows it
        render.help_text(exc.format_message())
        return exc.exit_code
    except ClickException as exc:  # usage errors from Typer's vendored click
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        render.error_line(f"{message}{hint}")
        return getattr(exc, "exit_code", ExitCode.USAGE)
    except KeyboardInterrupt:
        render.error_line("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # the boundary: anything unexpected, in one line
        if debug:
            raise
        render.error_line(f"{_describe(exc)} (rerun with --debug for details)")
        return ExitCode.ERROR


def _describe(exc: Exception) -> str:
    """AWS errors as 'AWS said ...'; others by type and message."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        operation = getattr(exc, "operation_name", "request")
        return f"{operation} failed: {error.get('Code')}: {error.get('Message')}"
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials found; run 'aws configure' or pass --profile"
    return f"{type(exc).__name__}: {exc}"
