"""``introaws lambda``: the Lambda mini hands-on (textbook §12.1)."""

from __future__ import annotations

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py
add_lifecycle(app, "lambda")


@app.command("invoke", help=N_("Invoke the function once and print what it returned."))
def invoke(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import lambda_

    result = lambda_.invoke(context.target(ctx))
    if json_out:
        render.print_json(result)
    else:
        render.key_values({_("result"): result["result"], _("seconds"): result["seconds"]})


@app.command(
    "invoke-many",
    context_settings={"ignore_unknown_options": True},
    help=N_("Fire COUNT asynchronous invocations; report how many completed and the peak concurrency."),
)
def invoke_many(
    ctx: typer.Context,
    count: int = typer.Argument(100, min=1, help=N_("How many invocations.")),
    wait: bool = typer.Option(True, "--wait/--no-wait", help=N_("Follow them in CloudWatch Logs until they finish.")),
    timeout: float = typer.Option(120.0, "--timeout", min=0, help=N_("Seconds to wait for them to finish.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import lambda_

    with render.progress(total=count, description=_("completed")) as report:
        result = lambda_.invoke_many(context.target(ctx), count, wait_s=timeout if wait else 0, report=report)
    if json_out:
        render.print_json(result)
        return
    render.key_values(
        {
            _("submitted"): result.submitted,
            _("completed"): result.completed,
            _("peak concurrency"): result.peak_concurrency,
            _("seconds"): result.seconds,
        }
    )
    if result.completed < result.submitted and wait:
        render.warning(
            _("{unfinished} did not finish within {timeout:.0f} s").format(
                unfinished=result.submitted - result.completed, timeout=timeout
            )
        )


@app.command("logs", help=N_("A function's log (CloudWatch Logs, /aws/lambda/NAME), oldest first."))
def logs(
    ctx: typer.Context,
    function: str = typer.Option(None, "--function", help=N_("Any function's name [default: the hands-on's].")),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import lambda_

    data = lambda_.logs(context.target(ctx), function, lines)
    if json_out:
        render.print_json(data)
    else:
        render.lines(data["lines"])
