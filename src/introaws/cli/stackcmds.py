"""The ``up``/``down``/``status`` commands every hands-on group shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from introaws.cli import context, render

WAIT_OPTION = typer.Option(
    True,
    "--wait/--no-wait",
    help="Follow the stack's operation to its end (--no-wait: refuse a busy stack, return at once).",
)


def show_up(name: str, result: Any, json_out: bool, next_step: str | None = None) -> None:
    """What ``up`` prints: JSON, or the plan for a dry run, or outputs, what to do next and how
    to tear down."""
    if json_out:
        render.print_json(
            {
                "stack": result.stack,
                "status": result.status,
                "outputs": result.outputs,
                "up_to_date": result.up_to_date,
                "changes": [c.__dict__ for c in result.changes],
            }
        )
        return
    render_up(name, result)
    if next_step and result.status != "DRY_RUN":
        render.note(next_step)


def render_up(name: str, result: Any) -> None:
    """The human form of ``up``'s result."""
    if result.status == "DRY_RUN":
        render.table(
            f"change set for {result.stack} (dry run, nothing deployed)",
            ["action", "resource", "type", "replacement"],
            [[c.verb, c.logical_id, c.resource_type, c.replacement] for c in result.changes],
        )
        return
    if result.up_to_date:
        render.success(f"{result.stack} is up to date (no changes)")
    elif result.status.endswith("_IN_PROGRESS"):
        render.note(f"{result.stack} is deploying ({result.status}); follow it with: introaws {name} status")
        return
    else:
        render.success(f"{result.stack} deployed ({result.status})")
    if result.outputs:
        render.key_values(result.outputs)
    render.note(f"tear it down with: introaws {name} down")


def confirm_cost(
    ctx: typer.Context, name: str, yes: bool, hourly: float | None = None, what: str | None = None
) -> None:
    """On AWS, show what a hands-on costs per hour in the target's region while it is up, and
    ask before creating it.

    ``hourly`` overrides the hands-on's idle price (an instance type chosen on the command
    line); ``what`` names it, and an unknown price is said to be unknown."""
    from introaws import pricing

    target = context.target(ctx)
    if target.is_local:
        return
    hourly = pricing.idle_hourly(target, name) if hourly is None and what is None else hourly
    if what and hourly is None:
        render.warning(f"this creates paid resources ({what}); introaws does not know its price in {target.region}")
    elif not hourly:
        return
    else:
        render.warning(
            f"this creates paid resources: about ${hourly:.3f}/hour in {target.region}, "
            f"${hourly * 24:.2f} if forgotten for a day"
        )
    context.confirm(f"create the {name} hands-on on AWS ({target.region})?", yes)


def add_lifecycle(
    app: typer.Typer, name: str, params: Callable[..., dict[str, Any]] | None = None, with_up: bool = True
) -> None:
    """Register ``up`` (unless the group brings its own), ``down`` and ``status`` for ``name``."""

    def up(
        ctx: typer.Context,
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the change set; deploy nothing."),
        wait: bool = WAIT_OPTION,
        yes: bool = context.YES_OPTION,
        json_out: bool = context.JSON_OPTION,
    ) -> None:
        """Deploy the hands-on's stack (no changes when it is already up to date)."""
        from introaws.workflows import lifecycle

        if not dry_run:
            confirm_cost(ctx, name, yes)
        with render.progress() as report:
            result = lifecycle.up(context.target(ctx), name, dry_run=dry_run, wait=wait, report=report)
        show_up(name, result, json_out)

    if with_up:
        app.command("up")(up)

    @app.command("down")
    def down(ctx: typer.Context, wait: bool = WAIT_OPTION, yes: bool = context.YES_OPTION) -> None:
        """Destroy the hands-on's stack and everything in it (buckets are emptied first)."""
        from introaws.workflows import lifecycle

        target = context.target(ctx)
        context.confirm(f"destroy the {name} hands-on and all its data on the {target.cloud} cloud?", yes)
        with render.progress() as report:
            existed = lifecycle.down(target, name, report=report, wait=wait)
        if existed and not wait:
            render.note(f"{lifecycle.hands_on(name).stack_name} is being deleted; see: introaws {name} status")
        elif existed:
            render.success(f"{lifecycle.hands_on(name).stack_name} destroyed")
        else:
            render.note(f"nothing to destroy: the {name} hands-on is not deployed")

    @app.command("status")
    def status(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
        """Show the stack's status and outputs."""
        from introaws.workflows import lifecycle

        data = lifecycle.status(context.target(ctx), name)
        if json_out:
            render.print_json(data)
            return
        render.key_values({"stack": data["stack"], "status": data["status"] or "not deployed", **data["outputs"]})
