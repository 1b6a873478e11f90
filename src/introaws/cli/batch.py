"""``introaws batch``: the AWS Batch hands-on (textbook chapter 9), an MNIST sweep as a heat-map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle, show_stack
from introaws.errors import ExitCode

app = context.group()  # its help line: GROUPS in cli/app.py
JOB_COLUMNS = ["job", "lr", "momentum", "status", "seconds", "reason"]


def _options(
    instance_type: str = typer.Option("g4dn.xlarge", "--instance-type", help="Instances of the compute environment."),
    spot: bool = typer.Option(False, "--spot", help="Use Spot instances (cheaper, may be interrupted)."),
) -> tuple[str, bool]:
    """Deploy SimpleBatch: bucket, VPC, compute environment (max 64 vCPUs), queue, job definition, ECR."""
    return instance_type, spot


def _params(target: Any, request: tuple[str, bool], report: Any) -> dict[str, Any]:
    from introaws.workflows import batch

    return batch.params(target, *request, report)


def _deploy(target: Any, request: tuple[str, bool], dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import batch

    instance_type, spot = request
    return batch.up(target, instance_type, spot, dry_run=dry_run, wait=wait, report=report)


def _status(target: Any, sweep_id: str = typer.Argument(None, help="Sweep (default: the latest).")) -> dict[str, Any]:
    """The stack, and the jobs of a sweep with their states and reasons."""
    from introaws.workflows import batch

    return batch.status(target, sweep_id)


def _show_status(data: dict[str, Any]) -> None:
    show_stack(data)
    if data["sweep"]:
        _jobs_table(f"{data['sweep']['sweep_id']} ({data['sweep']['epochs']} epochs)", data["sweep"]["jobs"])
        _failures(data["sweep"]["jobs"])


add_lifecycle(
    app,
    "batch",
    Lifecycle(
        options=_options,
        params=_params,
        deploy=_deploy,
        losing="(its results and images)",
        status=_status,
        show_status=_show_status,
    ),
)


@app.command("push")
def push(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Build containers/mnist and push it to the stack's ECR repository (AWS; needs Docker)."""
    from introaws.workflows import batch_image

    with render.progress() as report:
        result = batch_image.push(context.target(ctx), report)
    if json_out:
        render.print_json(result)
    elif result.get("skipped"):
        render.note(result["skipped"])
    else:
        render.success(f"pushed {result['image']}")


@app.command("sweep")
def sweep(
    ctx: typer.Context,
    lr: str = typer.Option("0.1,0.01,0.001", "--lr", help="Learning rates, comma-separated."),
    momentum: str = typer.Option("0.5,0.1,0.05", "--momentum", help="Momentums, comma-separated."),
    epochs: int = typer.Option(100, "--epochs", help="Epochs per job (early stopping may end sooner)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Training batch size (payload default 64)."),
    patience: int = typer.Option(None, "--patience", help="Epochs without a better validation loss before stopping."),
    vcpus: int = typer.Option(None, "--vcpus", help="vCPUs per job (job definition: 4; local cloud: 1)."),
    gpus: int = typer.Option(None, "--gpus", help="GPUs per job (job definition: 1)."),
    memory: int = typer.Option(None, "--memory", help="MiB per job (job definition: 12000)."),
    attempts: int = typer.Option(1, "--attempts", help="Tries per job (Batch retry strategy), 1-10."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the jobs until they end."),
    push: bool = typer.Option(False, "--push", help="AWS: build and push the jobs' image first if ECR lacks it."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Submit one job per (lr, momentum) and follow their states in a live table."""
    from introaws.workflows import batch

    target = context.target(ctx)
    lrs, momentums = batch.parse_values(lr, "learning rates"), batch.parse_values(momentum, "momentums")
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
    render.success(f"{submitted['sweep_id']}: {len(submitted['jobs'])} jobs submitted")
    if not wait:
        if json_out:
            render.print_json(submitted)
        render.note(f"follow it with: introaws batch status {submitted['sweep_id']}")
        return
    with render.live_table(submitted["sweep_id"], JOB_COLUMNS) as update:

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
    summary = f"{succeeded} of {len(final)} jobs SUCCEEDED; see 'introaws batch results {submitted['sweep_id']}'"
    if succeeded < len(final):
        render.warning(summary)
        raise typer.Exit(ExitCode.ERROR)
    render.success(summary)


@app.command("results")
def results(
    ctx: typer.Context,
    sweep_id: str = typer.Argument(None, help="Sweep (default: the latest)."),
    plot: Path = typer.Option(None, "--plot", help="Also write the heat-map as this PNG file."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Best validation accuracy per (lr, momentum), the best pair and its test accuracy, as a heat-map."""
    from introaws.workflows import batch, heatmap

    data = batch.results(context.target(ctx), sweep_id)
    if plot is not None:
        data["plot"] = str(heatmap.write_png(data, plot))
    if json_out:
        render.print_json(data)
        return
    render.table(
        f"{data['sweep_id']} ({data['epochs']} epochs)",
        ["lr", "momentum", "best val acc %", "best epoch", "epochs run", "test acc %", "note"],
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
        "best validation accuracy (%)", "lr \\ momentum", [f"{v:g}" for v in lrs], [f"{v:g}" for v in momentums], values
    )
    best = data["best"]
    if best:
        render.success(
            f"best: lr {best['lr']:g}, momentum {best['momentum']:g} — validation "
            f"{best['best_val_accuracy']:.2f}%, test {_num(best.get('test_accuracy'))}% "
            f"(epoch {best['best_epoch']})"
        )
    for point in data["missing"]:
        render.warning(f"lr {point['lr']:g}, momentum {point['momentum']:g}: {point['missing']}")
    if plot is not None:
        render.note(f"heat-map written to {data['plot']}")


@app.command("logs")
def logs(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="Job id, or job name in the sweep (lr0p1_m0p5)."),
    sweep_id: str = typer.Option(None, "--sweep", help="Sweep of the job name (default: the latest)."),
    lines: int = context.LINES_OPTION,
    json_out: bool = context.JSON_OPTION,
) -> None:
    """A job's log from CloudWatch Logs."""
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
        return f"on attempt {len(earlier) + 1} (earlier: {earlier[0]})" if earlier else ""
    return row["reason"] or ""


def _failures(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["status"] == "FAILED":
            exit_code = "" if row["exit_code"] is None else f" (exit code {row['exit_code']})"
            render.warning(
                f"{row['name']} FAILED: {row['reason']}{exit_code}"
                + "".join(f"\n    {line}" for line in row.get("log_tail", []))
            )


def _jobs_table(title: str, rows: list[dict[str, Any]]) -> None:
    render.table(title, JOB_COLUMNS, [_job_cells(row) for row in rows])
