"""``introaws s3``: the S3 hands-on."""

from __future__ import annotations

from pathlib import Path

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py
add_lifecycle(app, "s3")


@app.command("upload", help=N_("Upload FILE to the hands-on's bucket."))
def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help=N_("Local file to upload.")),
    key: str = typer.Option(None, "--key", help=N_("Object key (default: the file's name).")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import s3

    result = s3.upload(context.target(ctx), file, key)
    if json_out:
        render.print_json(result)
    else:
        render.success(
            _("uploaded {file} to s3://{bucket}/{key} ({size:,} bytes)").format(
                file=file, bucket=result["bucket"], key=result["key"], size=result["size"]
            )
        )


@app.command("download", help=N_("Download KEY from the hands-on's bucket."))
def download(
    ctx: typer.Context,
    key: str = typer.Argument(..., help=N_("Object key to download.")),
    to: Path = typer.Option(None, "--to", help=N_("Destination file or folder (default: ./KEY).")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import s3

    result = s3.download(context.target(ctx), key, to)
    if json_out:
        render.print_json(result)
    else:
        render.success(
            _("downloaded s3://{bucket}/{key} to {path} ({size:,} bytes)").format(
                bucket=result["bucket"], key=key, path=result["path"], size=result["size"]
            )
        )


@app.command("ls", help=N_("Objects in the bucket, with size and time."))
def ls(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import s3

    objects = s3.ls(context.target(ctx))
    if json_out:
        render.print_json(objects)
    else:
        render.table(
            _("{objects_count} objects").format(objects_count=len(objects)),
            [_("key"), _("size"), _("last modified")],
            [[o["key"], f"{o['size']:,}", o["last_modified"]] for o in objects],
        )
