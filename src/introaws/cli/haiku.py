"""``introaws haiku``: Bashoutter, the serverless haiku SNS (textbook ch. 13)."""

from __future__ import annotations

from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle, render_up
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py

COLUMNS = ["item_id", "poem", "username", "likes", "created_at"]


def _deploy(target: Any, request: None, dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import haiku

    return haiku.up(target, dry_run=dry_run, report=report)


def _show_up(deployed: Any, json_out: bool) -> None:
    """The stack, and where its API and web page answer."""
    result, urls = deployed
    if json_out:
        render.print_json(
            {
                "stack": result.stack,
                "status": result.status,
                "outputs": result.outputs,
                "api_endpoint": urls.api if urls else None,
                "website_url": urls.website if urls else None,
            }
        )
        return
    render_up("haiku", result)
    if urls:
        render.key_values({_("API endpoint"): urls.api, _("Web page"): urls.website})


# up waits: the page is uploaded, with the API's address in it, once the stack exists.
add_lifecycle(
    app,
    "haiku",
    Lifecycle(
        up_help=N_("Deploy Bashoutter and upload its web page; prints the API endpoint and the page URL."),
        deploy=_deploy,
        show_up=_show_up,
        up_waits=True,
    ),
)


@app.command("post", help=N_("Post a haiku: three lines and a name."))
def post(
    ctx: typer.Context,
    first: str = typer.Argument(..., help=N_("First line (5 morae).")),
    second: str = typer.Argument(..., help=N_("Second line (7 morae).")),
    third: str = typer.Argument(..., help=N_("Third line (5 morae).")),
    username: str = typer.Option("詠み人知らず", "--username", "-u", help=N_("Who wrote it.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import haiku

    created = haiku.post(context.target(ctx), username, first, second, third)
    if json_out:
        render.print_json(created)
    else:  # the id alone on stdout, for ID=$(introaws haiku post ...)
        render.lines([created["item_id"]])
        render.success(_("posted; like it with: introaws haiku like ID"))


@app.command("list", help=N_("Every haiku, newest first."))
def list_(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import haiku

    items = haiku.list_(context.target(ctx))
    if json_out:
        render.print_json(items)
        return
    render.table(
        _("{items_count} haiku").format(items_count=len(items)),
        COLUMNS,
        [
            [i["item_id"], f"{i['first']} {i['second']} {i['third']}", i["username"], i["likes"], i["created_at"]]
            for i in items
        ],
    )


@app.command("like", help=N_("Add one like to a haiku."))
def like(ctx: typer.Context, item_id: str, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import haiku

    liked = haiku.like(context.target(ctx), item_id)
    if json_out:
        render.print_json(liked)
    else:
        render.success(_("{item_id} now has {likes} likes").format(item_id=item_id, likes=liked["likes"]))


@app.command("delete", help=N_("Delete one haiku."))
def delete(
    ctx: typer.Context, item_id: str, yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION
) -> None:
    from introaws.workflows import haiku

    target = context.target(ctx)
    context.confirm(_("delete haiku {item_id} on the {cloud} cloud?").format(item_id=item_id, cloud=target.cloud), yes)
    haiku.delete(target, item_id)
    if json_out:
        render.print_json({"item_id": item_id, "deleted": True})
    else:
        render.success(_("deleted {item_id}").format(item_id=item_id))


@app.command("clear", help=N_("Delete every haiku (the stack stays)."))
def clear(ctx: typer.Context, yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import haiku

    target = context.target(ctx)
    context.confirm(_("delete every haiku on the {cloud} cloud?").format(cloud=target.cloud), yes)
    with render.progress() as report:
        count = haiku.clear(target, report=report)
    if json_out:
        render.print_json({"deleted": count})
    else:
        render.success(_("deleted {count} haiku").format(count=count))


@app.command("flood", help=N_("Load test: COUNT real HTTP POSTs; prints requests/s, latency percentiles and errors."))
def flood(
    ctx: typer.Context,
    count: int = typer.Argument(300, min=1, help=N_("How many POSTs to send.")),
    concurrency: int = typer.Option(16, "--concurrency", "-c", min=1, help=N_("Clients at once.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import haiku

    target = context.target(ctx)
    with render.progress(total=count, description=_("posting")) as report:
        result = haiku.flood(target, count, concurrency, report=report)
    if json_out:
        render.print_json(result)
        return
    render.key_values(
        {
            _("requests"): _("{requests} ({succeeded} ok, {errors} errors)").format(
                requests=result.requests, succeeded=result.succeeded, errors=result.errors
            ),
            _("concurrency"): result.concurrency,
            _("throughput"): _("{rate} requests/s over {seconds} s").format(
                rate=result.requests_per_s, seconds=result.seconds
            ),
            _("latency ms"): ", ".join(f"{k} {v}" for k, v in result.latency_ms.items()),
            _("status codes"): ", ".join(f"{k}: {v}" for k, v in sorted(result.status_counts.items())),
        }
    )
    if result.errors:
        raise typer.Exit(1)


@app.command("open", help=N_("Open the web page in a browser (and print its URL)."))
def open_(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    import webbrowser

    from introaws.workflows import haiku

    url = haiku.endpoints(context.target(ctx)).website
    opened = webbrowser.open(url)
    if json_out:
        render.print_json({"website_url": url, "opened": opened})
        return
    render.key_values({_("Web page"): url})
    if not opened:
        render.note(_("no browser found here: open the URL above yourself"))


@app.command("logs", help=N_("The API's Lambda functions' logs (CloudWatch Logs), oldest first."))
def logs(
    ctx: typer.Context,
    function: str = typer.Argument(
        None, metavar="[FUNCTION]", help=N_("get, post, patch or delete [default: all four].")
    ),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import haiku

    data = haiku.logs(context.target(ctx), function, lines)
    if json_out:
        render.print_json(data)
    else:
        render.lines(data["lines"])
