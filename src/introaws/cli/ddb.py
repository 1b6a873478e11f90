"""``introaws ddb``: the DynamoDB hands-on."""

from __future__ import annotations

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py
add_lifecycle(app, "ddb")

PEOPLE_COLUMNS = ["item_id", "first_name", "last_name", "age"]


def _people(title: str, items: list[dict], json_out: bool) -> None:
    if json_out:
        render.print_json(items)
        return
    render.table(title, PEOPLE_COLUMNS, [[i.get(c) for c in PEOPLE_COLUMNS] for i in items])


@app.command(
    "write",
    context_settings={"ignore_unknown_options": True},
    help=N_("Write COUNT random people {item_id, first_name, last_name, age 1-50} with batch writes."),
)
def write(
    ctx: typer.Context,
    count: int = typer.Argument(..., min=1, help=N_("How many random people to write.")),
    seed: int = typer.Option(None, help=N_("Seed for reproducible people.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import ddb

    target = context.target(ctx)
    with render.progress(total=count, description=_("writing")) as report:
        written = ddb.write(target, count, seed=seed, report=report)
    if json_out:
        render.print_json({"written": written})
    else:
        render.success(_("wrote {written} items").format(written=written))


@app.command("get", help=N_("Read one item by its item_id."))
def get(ctx: typer.Context, item_id: str, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import ddb

    item = ddb.get(context.target(ctx), item_id)
    if json_out:
        render.print_json(item)
    else:
        render.key_values(item)


@app.command("scan", help=N_("Every item in the table (follows pagination to the end)."))
def scan(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import ddb

    items = ddb.scan(context.target(ctx))
    _people(_("{count} items").format(count=len(items)), items, json_out)


@app.command("search", context_settings={"ignore_unknown_options": True}, help=N_("People with age <= --under-age."))
def search(
    ctx: typer.Context,
    under_age: int = typer.Option(..., "--under-age", min=0, help=N_("Find people aged this or younger.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import ddb

    items = ddb.search_under_age(context.target(ctx), under_age)
    _people(_("{count} items with age <= {age}").format(count=len(items), age=under_age), items, json_out)
