"""``introaws keypair``: SSH key pairs on the target, private keys kept locally at 0600."""

from __future__ import annotations

from pathlib import Path

import typer

from introaws.cli import context, render
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py
DIR_OPTION = typer.Option(None, "--dir", help=N_("Folder for private keys (default: $INTROAWS_SSH_DIR or ~/.ssh)."))


@app.command("create", help=N_("Create key pair NAME and write its private key to DIR/NAME.pem (mode 0600)."))
def create(
    ctx: typer.Context,
    name: str,
    key_type: str = typer.Option("ed25519", "--type", help=N_("ed25519 or rsa.")),
    directory: str = DIR_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import keypair

    result = keypair.create(context.target(ctx), name, key_type, directory)
    if json_out:
        render.print_json(result)
        return
    render.success(
        _("key pair {name} created; private key written to {private_key} (mode 0600)").format(
            name=name, private_key=result["private_key"]
        )
    )


@app.command("import", help=N_("Register an existing public key as key pair NAME."))
def import_(
    ctx: typer.Context,
    name: str,
    public_key: Path = typer.Argument(..., help=N_("Public key file (.pub).")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import keypair

    result = keypair.import_public(context.target(ctx), name, public_key)
    if json_out:
        render.print_json(result)
    else:
        render.success(
            _("key pair {name} imported ({fingerprint})").format(name=name, fingerprint=result["fingerprint"])
        )


@app.command("list", help=N_("Key pairs on the target and whether their private key is here."))
def list_(ctx: typer.Context, directory: str = DIR_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import keypair

    pairs = keypair.list_pairs(context.target(ctx), directory)
    if json_out:
        render.print_json(pairs)
        return
    render.table(
        _("{pairs_count} key pairs").format(pairs_count=len(pairs)),
        [_("name"), _("type"), _("private key"), _("by introaws")],
        [
            [
                p["name"],
                p["type"],
                p["private_key"] or "(not on this machine)",
                "yes" if p["created_by_introaws"] else "no",
            ]
            for p in pairs
        ],
    )


@app.command("delete", help=N_("Delete key pair NAME on the target and its private key file here."))
def delete(
    ctx: typer.Context,
    name: str,
    directory: str = DIR_OPTION,
    yes: bool = context.YES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import keypair

    target = context.target(ctx)
    context.confirm(_("delete key pair {name} and its private key file?").format(name=name), yes)
    result = keypair.delete(target, name, directory)
    if json_out:
        render.print_json(result)
        return
    removed = f" and {result['private_key_removed']}" if result["private_key_removed"] else ""
    render.success(_("key pair {name}{removed} deleted").format(name=name, removed=removed))
