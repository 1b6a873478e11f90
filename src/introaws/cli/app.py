"""The root command: global options, sub-commands, and the one error boundary."""

from __future__ import annotations

import os
import sys

import typer
from typer.exceptions import TyperException

from introaws import __version__
from introaws.cli import batch, cloud, context, data, ddb, dnn, ec2, haiku, keypair, lambda_, qa, render, s3
from introaws.errors import ExitCode, IntroawsError, UsageError

app = typer.Typer(
    name="introaws",
    help="The hands-ons of 'Intro to AWS through code', one command each — on an offline "
    "local cloud (default) or on your AWS account (--cloud aws).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# In the course's order: key pairs and the hands-ons, then the small exercises, data, the cloud.
app.add_typer(keypair.app, name="keypair")
app.add_typer(ec2.app, name="ec2")
app.add_typer(dnn.app, name="dnn")
app.add_typer(qa.app, name="qa")
app.add_typer(batch.app, name="batch")
app.add_typer(haiku.app, name="haiku")
app.add_typer(lambda_.app, name="lambda")
app.add_typer(ddb.app, name="ddb")
app.add_typer(s3.app, name="s3")
app.add_typer(data.app, name="data")
app.add_typer(cloud.app, name="cloud")


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
) -> None:
    """Destroy every stack introaws created on the target (with --all)."""
    from introaws.workflows import overview

    if not all_:
        raise UsageError("say what to destroy", "use 'introaws down --all', or 'introaws <hands-on> down'")
    target = context.target(ctx)
    context.confirm(f"destroy every introaws stack on the {target.cloud} cloud?", yes)
    with render.progress() as report:
        destroyed = overview.down_all(target, report)
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


def main() -> None:
    """Run the CLI; every error becomes one line and an exit code (traceback with --debug)."""
    debug = "--debug" in sys.argv or os.environ.get("INTROAWS_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        code = command.main(args=sys.argv[1:], prog_name="introaws", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except IntroawsError as exc:
        if debug:
            raise
        render.error_line(str(exc))
        sys.exit(exc.exit_code)
    except typer.Abort:
        render.error_line("cancelled")
        sys.exit(ExitCode.ABORTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except TyperException as exc:  # Typer's own (vendored click) usage errors
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        render.error_line(f"{message}{hint}")
        sys.exit(getattr(exc, "exit_code", ExitCode.USAGE))
    except KeyboardInterrupt:
        render.error_line("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # the boundary: anything unexpected, in one line
        if debug:
            raise
        render.error_line(f"{_describe(exc)} (rerun with --debug for details)")
        sys.exit(ExitCode.ERROR)


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
