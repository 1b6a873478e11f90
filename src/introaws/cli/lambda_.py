"""``introaws lambda``: the Lambda mini hands-on (textbook 12.1)."""

from __future__ import annotations

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import add_lifecycle

app = context.group()  # its help line: GROUPS in cli/app.py
add_lifecycle(app, "lambda")


@app.command("invoke")
def invoke(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Invoke the function once and print what it returned."""
    from introaws.workflows import lambda_

    result = lambda_.invoke(context.target(ctx))
    if json_out:
        render.print_json(result)
    else:
        render.key_values({"result": result["result"], "seconds": result["seconds"]})


@app.command("invoke-many", context_settings={"ignore_unknown_options": True})
def invoke_many(
    ctx: typer.Context,
    count: int = typer.Argument(100, min=1, help="How many invocations."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow them in CloudWatch Logs until they finish."),
    timeout: float = typer.Option(120.0, "--timeout", min=0, help="Seconds to wait for them to finish."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Fire COUNT asynchronous invocations; report how many completed and the peak concurrency."""
    from introaws.workflows import lambda_

    with render.progress(total=count, description="completed") as report:
        result = lambda_.invoke_many(context.target(ctx), count, wait_s=timeout if wait else 0, report=report)
    if json_out:
        render.print_json(result)
        return
    render.key_values(
        {
            "submitted": result.submitted,
            "completed": result.completed,
            "peak concurrency": result.peak_concurrency,
            "seconds": result.seconds,
        }
    )
    if result.completed < result.submitted and wait:
        render.warning(f"{result.submitted - result.completed} did not finish within {timeout:.0f} s")


@app.command("logs")
def logs(
    ctx: typer.Context,
    function: str = typer.Option(None, "--function", help="Any function's name [default: the hands-on's]."),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    """A function's log (CloudWatch Logs, /aws/lambda/NAME), oldest first."""
    from introaws.workflows import lambda_

    data = lambda_.logs(context.target(ctx), function, lines)
    if json_out:
        render.print_json(data)
    else:
        render.lines(data["lines"])
