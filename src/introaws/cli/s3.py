"""``introaws s3``: the S3 hands-on."""

from __future__ import annotations

from pathlib import Path

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import add_lifecycle

app = context.group()  # its help line: GROUPS in cli/app.py
add_lifecycle(app, "s3")


@app.command("upload")
def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Local file to upload."),
    key: str = typer.Option(None, "--key", help="Object key (default: the file's name)."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Upload FILE to the hands-on's bucket."""
    from introaws.workflows import s3

    result = s3.upload(context.target(ctx), file, key)
    if json_out:
        render.print_json(result)
    else:
        render.success(f"uploaded {file} to s3://{result['bucket']}/{result['key']} ({result['size']:,} bytes)")


@app.command("download")
def download(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Object key to download."),
    to: Path = typer.Option(None, "--to", help="Destination file or folder (default: ./KEY)."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Download KEY from the hands-on's bucket."""
    from introaws.workflows import s3

    result = s3.download(context.target(ctx), key, to)
    if json_out:
        render.print_json(result)
    else:
        render.success(f"downloaded s3://{result['bucket']}/{key} to {result['path']} ({result['size']:,} bytes)")


@app.command("ls")
def ls(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Objects in the bucket, with size and time."""
    from introaws.workflows import s3

    objects = s3.ls(context.target(ctx))
    if json_out:
        render.print_json(objects)
    else:
        render.table(
            f"{len(objects)} objects",
            ["key", "size", "last modified"],
            [[o["key"], f"{o['size']:,}", o["last_modified"]] for o in objects],
        )
