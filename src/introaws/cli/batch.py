"""``introaws batch``: the AWS Batch hands-on (textbook ch. 9), an MNIST sweep as a heat-map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle, show_stack
from introaws.errors import ExitCode
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py
JOB_COLUMNS = [N_("job"), N_("lr"), N_("momentum"), N_("status"), N_("seconds"), N_("reason")]


def _options(
    instance_type: str = typer.Option(
        "g4dn.xlarge", "--instance-type", help=N_("Instances of the compute environment.")
    ),
    spot: bool = typer.Option(False, "--spot", help=N_("Use Spot instances (cheaper, may be interrupted).")),
) -> tuple[str, bool]:
    return instance_type, spot


def _params(target: Any, request: tuple[str, bool], report: Any) -> dict[str, Any]:
    from introaws.workflows import batch

    return batch.params(target, *request, report)


def _deploy(target: Any, request: tuple[str, bool], dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import batch

    instance_type, spot = request
    return batch.up(target, instance_type, spot, dry_run=dry_run, wait=wait, report=report)


def _status(
    target: Any, sweep_id: str = typer.Argument(None, help=N_("Sweep (default: the latest)."))
) -> dict[str, Any]:
    from introaws.workflows import batch

    return batch.status(target, sweep_id)


def _show_status(data: dict[str, Any]) -> None:
    show_stack(data)
    if data["sweep"]:
        _jobs_table(
            _("{sweep} ({epochs} epochs)").format(sweep=data["sweep"]["sweep_id"], epochs=data["sweep"]["epochs"]),
            data["sweep"]["jobs"],
        )
        _failures(data["sweep"]["jobs"])


add_lifecycle(
    app,
    "batch",
    Lifecycle(
        status_help=N_("The stack, and the jobs of a sweep with their states and reasons."),
        up_help=N_("Deploy SimpleBatch: bucket, VPC, compute environment (max 64 vCPUs), queue, job definition, ECR."),
        options=_options,
        params=_params,
        deploy=_deploy,
        losing=N_("(its results and images)"),
        status=_status,
        show_status=_show_status,
    ),
)


@app.command("push", help=N_("Build containers/mnist and push it to the stack's ECR repository (AWS; needs Docker)."))
def push(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.workflows import batch_image

    with render.progress() as report:
        result = batch_image.push(context.target(ctx), report)
    if json_out:
        render.print_json(result)
    elif result.get("skipped"):
        render.note(_(result["skipped"]))  # English in JSON
    else:
        render.success(_("pushed {image}").format(image=result["image"]))


@app.command("sweep", help=N_("Submit one job per (lr, momentum) and follow their states in a live table."))
def sweep(
    ctx: typer.Context,
    lr: str = typer.Option("0.1,0.01,0.001", "--lr", help=N_("Learning rates, comma-separated.")),
    momentum: str = typer.Option("0.5,0.1,0.05", "--momentum", help=N_("Momentums, comma-separated.")),
    epochs: int = typer.Option(100, "--epochs", help=N_("Epochs per job (early stopping may end sooner).")),
    batch_size: int = typer.Option(None, "--batch-size", help=N_("Training batch size (payload default 64).")),
    patience: int = typer.Option(
        None, "--patience", help=N_("Epochs without a better validation loss before stopping.")
    ),
    vcpus: int = typer.Option(None, "--vcpus", help=N_("vCPUs per job (job definition: 4; local cloud: 1).")),
    gpus: int = typer.Option(None, "--gpus", help=N_("GPUs per job (job definition: 1).")),
    memory: int = typer.Option(None, "--memory", help=N_("MiB per job (job definition: 12000).")),
    attempts: int = typer.Option(1, "--attempts", help=N_("Tries per job (Batch retry strategy), 1-10.")),
    wait: bool = typer.Option(True, "--wait/--no-wait", help=N_("Follow the jobs until they end.")),
    push: bool = typer.Option(False, "--push", help=N_("AWS: build and push the jobs' image first if ECR lacks it.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import batch

    target = context.target(ctx)
    lrs, momentums = batch.parse_values(lr, _("learning rates")), batch.parse_values(momentum, _("momentums"))
    with render.progress() as report:
        submitted = batch.sweep(
            target,
            lrs,
            momentums,
            epochs,
            batch_size=batch_size,
            patience=patience,
            vcpus=vcpus,
            gpus=gpus,
            memory=memory,
            attempts=attempts,
            push=push,
            report=report,
        )
    render.success(
        _("{sweep_id}: {jobs_count} jobs submitted").format(
            sweep_id=submitted["sweep_id"], jobs_count=len(submitted["jobs"])
        )
    )
    if not wait:
        if json_out:
            render.print_json(submitted)
        render.note(_("follow it with: introaws batch status {sweep_id}").format(sweep_id=submitted["sweep_id"]))
        return
    with render.live_table(submitted["sweep_id"], [_(c) for c in JOB_COLUMNS]) as update:

        def report(event: Any) -> None:
            if event.kind == "progress":
                update([_job_cells(row) for row in event.data["rows"]])
            elif event.kind == "warning":
                render.warning(event.message)
            else:
                render.note(event.message)

        final = batch.wait(target, submitted, report)
    batch.add_log_tails(target, final)
    _failures(final)
    if json_out:
        render.print_json({**submitted, "jobs": final})
    succeeded = sum(row["status"] == "SUCCEEDED" for row in final)
    summary = _("{succeeded} of {total} jobs SUCCEEDED; see 'introaws batch results {sweep_id}'").format(
        succeeded=succeeded, total=len(final), sweep_id=submitted["sweep_id"]
    )
    if succeeded < len(final):
        render.warning(summary)
        raise typer.Exit(ExitCode.ERROR)
    render.success(summary)


@app.command(
    "results",
    help=N_("Best validation accuracy per (lr, momentum), the best pair and its test accuracy, as a heat-map."),
)
def results(
    ctx: typer.Context,
    sweep_id: str = typer.Argument(None, help=N_("Sweep (default: the latest).")),
    plot: Path = typer.Option(None, "--plot", help=N_("Also write the heat-map as this PNG file.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import batch, heatmap

    data = batch.results(context.target(ctx), sweep_id)
    if plot is not None:
        data["plot"] = str(heatmap.write_png(data, plot))
    if json_out:
        render.print_json(data)
        return
    render.table(
        _("{sweep_id} ({epochs} epochs)").format(sweep_id=data["sweep_id"], epochs=data["epochs"]),
        [_("lr"), _("momentum"), _("best val acc %"), _("best epoch"), _("epochs run"), _("test acc %"), _("note")],
        [
            [
                f"{p['lr']:g}",
                f"{p['momentum']:g}",
                _num(p.get("best_val_accuracy")),
                p.get("best_epoch"),
                p.get("epochs_run"),
                _num(p.get("test_accuracy")),
                p["missing"] or "",
            ]
            for p in data["points"]
        ],
    )
    lrs, momentums, values = heatmap.grid(data)
    render.heatmap(
        _("best validation accuracy (%)"),
        _("lr \\ momentum"),
        [f"{v:g}" for v in lrs],
        [f"{v:g}" for v in momentums],
        values,
    )
    best = data["best"]
    if best:
        render.success(
            _(
                "best: lr {lr:g}, momentum {momentum:g} — validation {best_val_accuracy:.2f}%, test "
                "{test_accuracy}% (epoch {best_epoch})"
            ).format(
                lr=best["lr"],
                momentum=best["momentum"],
                best_val_accuracy=best["best_val_accuracy"],
                test_accuracy=_num(best.get("test_accuracy")),
                best_epoch=best["best_epoch"],
            )
        )
    for point in data["missing"]:
        render.warning(
            _("lr {lr:g}, momentum {momentum:g}: {missing}").format(
                lr=point["lr"], momentum=point["momentum"], missing=point["missing"]
            )
        )
    if plot is not None:
        render.note(_("heat-map written to {plot}").format(plot=data["plot"]))


@app.command("logs", help=N_("A job's log from CloudWatch Logs."))
def logs(
    ctx: typer.Context,
    job: str = typer.Argument(..., help=N_("Job id, or job name in the sweep (lr0p1_m0p5).")),
    sweep_id: str = typer.Option(None, "--sweep", help=N_("Sweep of the job name (default: the latest).")),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import batch

    data = batch.logs(context.target(ctx), job, sweep_id, lines)
    if json_out:
        render.print_json(data)
        return
    render.note(
        f"{data['name']} ({data['job_id']}): {data['status']}" + (f" — {data['reason']}" if data["reason"] else "")
    )
    render.lines(data["lines"])


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _job_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row["name"],
        f"{row['lr']:g}",
        f"{row['momentum']:g}",
        row["status"],
        "" if row["seconds"] is None else f"{row['seconds']:.0f}",
        _reason(row),
    ]


def _reason(row: dict[str, Any]) -> str:
    """Why a job is where it is; a success after a lost attempt says so."""
    earlier = row.get("earlier_attempts") or []
    if row["status"] == "SUCCEEDED":
        return (
            _("on attempt {attempt} (earlier: {earlier})").format(attempt=len(earlier) + 1, earlier=earlier[0])
            if earlier
            else ""
        )
    return row["reason"] or ""


def _failures(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["status"] == "FAILED":
            exit_code = "" if row["exit_code"] is None else _(" (exit code {code})").format(code=row["exit_code"])
            render.warning(
                _("{job} FAILED: {reason}{exit_code}").format(
                    job=row["name"], reason=row["reason"], exit_code=exit_code
                )
                + "".join(f"\n    {line}" for line in row.get("log_tail", []))
            )


def _jobs_table(title: str, rows: list[dict[str, Any]]) -> None:
    render.table(title, [_(c) for c in JOB_COLUMNS], [_job_cells(row) for row in rows])
