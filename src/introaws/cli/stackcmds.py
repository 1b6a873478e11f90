"""The ``up``/``down``/``status``/``template`` commands every hands-on group shares."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from introaws.cli import context, render
from introaws.i18n import N_, _

if TYPE_CHECKING:
    from introaws.progress import Reporter
    from introaws.target import Target


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
        render.note(_(next_step))


def render_up(name: str, result: Any) -> None:
    """The human form of ``up``'s result."""
    if result.status == "DRY_RUN":
        render.table(
            _("change set for {stack} (dry run, nothing deployed)").format(stack=result.stack),
            [_("action"), _("resource"), _("type"), _("replacement")],
            [[c.verb, c.logical_id, c.resource_type, c.replacement] for c in result.changes],
        )
        for kind, removed, added in _replaced(result.changes):
            render.note(
                _("{kind} {removed} will be replaced by a new one ({added}): what runs on it is lost").format(
                    kind=kind, removed=removed, added=added
                )
            )
        return
    if result.up_to_date:
        render.success(_("{stack} is up to date (no changes)").format(stack=result.stack))
    elif result.status.endswith("_IN_PROGRESS"):
        render.note(
            _("{stack} is deploying ({status}); follow it with: introaws {name} status").format(
                stack=result.stack, status=result.status, name=name
            )
        )
        return
    else:
        render.success(_("{stack} deployed ({status})").format(stack=result.stack, status=result.status))
    if result.outputs:
        render.key_values(result.outputs)
    render.note(_("tear it down with: introaws {name} down").format(name=name))


def _replaced(changes: list[Any]) -> list[tuple[str, str, str]]:
    """Resources a change set replaces under a new logical id (CDK renames an instance whose
    user data changes): one removed and one added of the same type."""
    found = []
    for kind in sorted({c.resource_type for c in changes}):
        removed = [c.logical_id for c in changes if c.resource_type == kind and c.action == "Remove"]
        added = [c.logical_id for c in changes if c.resource_type == kind and c.action == "Add"]
        if len(removed) == 1 and len(added) == 1:
            found.append((kind, removed[0], added[0]))
    return found


def confirm_cost(
    ctx: typer.Context, name: str, yes: bool, hourly: float | None = None, what: str | None = None
) -> None:
    """On AWS, show what a hands-on costs per hour in the target's region while it is up, and
    ask before creating it.

    ``hourly`` overrides the hands-on's idle price (an instance type chosen on the command
    line); ``what`` names it, and an unknown price is said to be unknown."""
    from introaws import pricing

    target = context.target(ctx)
    if not target.kind.bills:
        return
    hourly = pricing.idle_hourly(target, name) if hourly is None and what is None else hourly
    if what and hourly is None:
        render.warning(
            _("this creates paid resources ({what}); introaws does not know its price in {region}").format(
                what=what, region=target.region
            )
        )
    elif not hourly:
        return
    else:
        render.warning(
            _(
                "this creates paid resources: about ${hourly:.3f}/hour in {region}, ${daily:.2f} if forgotten for a day"
            ).format(hourly=hourly, region=target.region, daily=hourly * 24)
        )
    context.confirm(_("create the {name} hands-on on AWS ({region})?").format(name=name, region=target.region), yes)


@dataclass(frozen=True)
class Lifecycle:
    """What a hands-on changes about its ``up``, ``down``, ``status`` and ``template``; the
    defaults suit a stack with no parameters.

    ``options`` and ``status``'s parameters after the target are declared like any Typer
    command's and become the command's own options (or arguments), before the shared ones.
    """

    # up: options(...) -> what deploy takes; deploy(target, that, dry_run, wait, report) -> result
    options: Callable[..., Any] | None = None
    # template: params(target, what options returned, report) -> the stack's parameters, as up
    # chooses them (up's options are template's too)
    params: Callable[[Target, Any, Reporter], dict[str, Any]] | None = None
    deploy: Callable[[Target, Any, bool, bool, Reporter], Any] | None = None
    # check(runs here, that, report): refusals that need no cloud, made before the target is
    # resolved, so that one starts no local cloud
    check: Callable[[bool, Any, Reporter], None] | None = None
    # up must see the stack complete (it uploads a page or pushes an image afterwards): no --no-wait
    up_waits: bool = False
    # (hourly $, what it is) to ask about on AWS, or None when nothing new would be created
    cost: Callable[[Target, Any], tuple[float | None, str | None] | None] | None = None
    next_step: str | None = None  # marked with N_, shown translated
    up_help: str = N_("Deploy the hands-on's stack (no changes when it is already up to date).")
    show_up: Callable[[Any, bool], None] | None = None  # (result, json_out); default: show_up
    # down
    losing: str = N_("and all its data")
    down_help: str = N_("Destroy the hands-on and all its data; buckets and repositories are emptied first.")
    before_down: Callable[[Target], None] | None = None
    # status: status(target, ...) -> data; show_status(data) prints it for people
    status: Callable[..., dict[str, Any]] | None = None
    show_status: Callable[[dict[str, Any]], None] | None = None
    status_help: str = N_("Show the stack's status and outputs.")


def add_lifecycle(app: typer.Typer, name: str, hooks: Lifecycle = Lifecycle()) -> None:
    """Register ``up``, ``down``, ``status`` and ``template`` for hands-on ``name``."""

    def up(ctx: typer.Context, own: dict[str, Any], dry_run: bool, *shared: bool) -> None:
        wait, yes, json_out = (True, *shared) if hooks.up_waits else shared
        from introaws.workflows import lifecycle

        request = hooks.options(**own) if hooks.options else None
        if hooks.check:
            with render.progress() as report:
                hooks.check(context.runs_here(ctx), request, report)
        target = context.target(ctx)
        if not dry_run:
            price = hooks.cost(target, request) if hooks.cost else (None, None)
            if price is not None:
                confirm_cost(ctx, name, yes, hourly=price[0], what=price[1])
        with render.progress() as report:
            if hooks.deploy:
                result = hooks.deploy(target, request, dry_run, wait, report)
            else:
                result = lifecycle.up(target, name, request or {}, dry_run=dry_run, wait=wait, report=report)
        if hooks.show_up:
            hooks.show_up(result, json_out)
        else:
            show_up(name, result, json_out, hooks.next_step)

    def down(ctx: typer.Context, own: dict[str, Any], wait: bool, yes: bool, json_out: bool) -> None:
        from introaws.workflows import lifecycle

        target = context.target(ctx)
        context.confirm(
            _("destroy the {name} hands-on {losing} on the {cloud} cloud?").format(
                name=name, losing=_(hooks.losing), cloud=target.cloud
            ),
            yes,
        )
        if hooks.before_down:
            hooks.before_down(target)
        with render.progress() as report:
            existed = lifecycle.down(target, name, report=report, wait=wait)
        stack = lifecycle.hands_on(name).stack_name
        if json_out:
            render.print_json({"stack": stack, "destroyed": existed and wait, "deleting": existed and not wait})
        elif existed and not wait:
            render.note(_("{stack} is being deleted; see: introaws {name} status").format(stack=stack, name=name))
        elif existed:
            render.success(_("{stack} destroyed").format(stack=stack))
        else:
            render.note(_("nothing to destroy: the {name} hands-on is not deployed").format(name=name))

    def status(ctx: typer.Context, own: dict[str, Any], json_out: bool) -> None:
        from introaws.workflows import lifecycle

        target = context.target(ctx)
        data = hooks.status(target, **own) if hooks.status else lifecycle.status(target, name)
        if json_out:
            render.print_json(data)
        elif hooks.show_status:
            hooks.show_status(data)
        else:
            show_stack(data)

    def template(ctx: typer.Context, own: dict[str, Any], fmt: str, out: Path | None) -> None:
        from introaws.workflows import template as templates

        templates.check_format(fmt)
        params: dict[str, Any] = {}
        if hooks.params:  # the stack's parameters depend on the target (key pairs, zones, images)
            with render.progress() as report:
                params = hooks.params(context.target(ctx), hooks.options(**own) if hooks.options else None, report)
        text = templates.text(name, params, fmt)
        if out is None:
            render.document(text)
        else:
            render.success(_("template written to {path}").format(path=templates.write(text, out)))

    app.command("up", help=hooks.up_help)(
        _command(up, hooks.options, [_DRY_RUN, *([] if hooks.up_waits else [_WAIT]), _YES, _JSON])
    )
    app.command("down", help=hooks.down_help)(_command(down, None, [_WAIT, _YES, _JSON]))
    app.command("status", help=hooks.status_help)(_command(status, hooks.status, [_JSON], skip=1))
    template_help = (
        N_(
            "Print the stack's CloudFormation template as 'up' would deploy it, like 'cdk synth' "
            "(from the template cache when fresh: no Node needed). It takes up's options and chooses what "
            "up would (your key pair, address, a zone that offers the instance type, the current image): "
            "the template up would send now, not the one deployed."
        )
        if hooks.params
        else N_(
            "Print the stack's CloudFormation template as 'up' would deploy it, like 'cdk synth' "
            "(from the template cache when fresh: no Node needed)."
        )
    )
    app.command("template", help=template_help)(
        _command(template, hooks.options if hooks.params else None, [_FORMAT, _OUT])
    )


def show_stack(data: dict[str, Any]) -> None:
    """A stack's status and outputs as key-value lines."""
    render.key_values({_("stack"): data["stack"], _("status"): data["status"] or _("not deployed"), **data["outputs"]})


_CTX = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
_DRY_RUN = inspect.Parameter(
    "dry_run",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option(False, "--dry-run", help=N_("Show the change set; deploy nothing.")),
    annotation=bool,
)
_WAIT = inspect.Parameter(
    "wait",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option(
        True, "--wait/--no-wait", help=N_("Follow the stack's operation to its end (--no-wait: return at once).")
    ),
    annotation=bool,
)
_YES = inspect.Parameter("yes", inspect.Parameter.KEYWORD_ONLY, default=context.YES_OPTION, annotation=bool)
_JSON = inspect.Parameter("json_out", inspect.Parameter.KEYWORD_ONLY, default=context.JSON_OPTION, annotation=bool)
_FORMAT = inspect.Parameter(
    "fmt",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option("json", "--format", help=N_("json or yaml.")),
    annotation=str,
)
_OUT = inspect.Parameter(
    "out",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option(None, "--out", help=N_("Write it to this file instead of printing it.")),
    annotation=Path | None,
)


def _command(
    body: Callable[..., None], own: Callable[..., Any] | None, shared: list[inspect.Parameter], skip: int = 0
) -> Callable[..., None]:
    """A Typer command taking ``own``'s parameters (after the first ``skip``) and ``shared``
    ones, calling ``body(ctx, {own's values}, *shared values)``."""
    own_params = list(inspect.signature(own, eval_str=True).parameters.values())[skip:] if own else []
    own_params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own_params]
    own_names = [p.name for p in own_params]

    def command(ctx: typer.Context, **values: Any) -> None:
        body(ctx, {n: values[n] for n in own_names}, *(values[p.name] for p in shared))

    parameters = [_CTX, *own_params, *shared]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command
