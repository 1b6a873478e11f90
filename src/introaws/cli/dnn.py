"""``introaws dnn``: hands-on 2, a GPU box with Jupyter and PyTorch (textbook ch. 6; background: ch. 5)."""

from __future__ import annotations

import signal
import threading
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py


def _options(
    key: str = typer.Option(None, "--key", help=N_("Key pair to log in with (default: the one introaws made).")),
    instance_type: str = typer.Option(None, "--instance-type", help=N_("Instance type (default g4dn.xlarge).")),
    ssh_from: str = typer.Option(
        None, "--ssh-from", help=N_("Address range SSH is let in from (default: your IP/32).")
    ),
    ami: str = typer.Option(None, "--ami", help=N_("AMI id instead of the region's current Deep Learning AMI.")),
    idle_stop: int = typer.Option(
        None, "--idle-stop", help=N_("Stop the box after this many idle minutes (default 60 on AWS; 0 never).")
    ),
) -> Any:
    from introaws.workflows import dnn

    return dnn.UpRequest(key, instance_type, ssh_from, ami, idle_stop)


def _cost(target: Any, request: Any) -> tuple[float | None, str] | None:
    from introaws.workflows import dnn, ec2

    if not request.given and ec2.already_up(target, request.as_ec2(), dnn.NAME):
        return None
    return dnn.hourly_cost(target, request), dnn.instance_type(request)


def _params(target: Any, request: Any, report: Any) -> dict[str, Any]:
    from introaws.workflows import dnn

    return dnn.params(target, request, report)


def _deploy(target: Any, request: Any, dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import dnn

    return dnn.up(target, request, dry_run=dry_run, wait=wait, report=report)


def _stop_jupyter(target: Any) -> None:
    from introaws.workflows import dnn

    dnn.stop_jupyter(target)


def _status(target: Any) -> dict[str, Any]:
    from introaws.workflows import dnn

    return dnn.status(target)


def _show_status(data: dict[str, Any]) -> None:
    box = data["instance"] or {}
    rows: dict[str, object] = {_("stack"): data["stack"], _("status"): data["status"] or _("not deployed")}
    if box:
        rows.update(
            {
                _("instance"): box["id"],
                _("state"): box["state"],
                _("type"): box["type"],
                _("public ip"): box["public_ip"] or "-",
                _("idle-stop"): _("{minutes} min").format(minutes=box["idle_stop_minutes"])
                if box.get("idle_stop_minutes")
                else _("off"),
                _("age"): _("{minutes} min").format(minutes=box["age_s"] // 60),
            }
        )
        if box.get("cost_so_far_usd") is not None:
            rows[_("cost so far")] = f"${box['cost_so_far_usd']:.2f} (${box['hourly_usd']}/h)"
    render.key_values(rows)


add_lifecycle(
    app,
    "dnn",
    Lifecycle(
        status_help=N_("The stack and its box: state, IP, type, age, idle-stop, cost so far (AWS)."),
        up_help=N_("Deploy stack Ec2ForDl: a GPU instance with the Deep Learning AMI; checks your quota first."),
        options=_options,
        params=_params,
        deploy=_deploy,
        cost=_cost,
        next_step=N_("next: introaws dnn tunnel   (Jupyter in your browser)   ·   introaws dnn train --epochs 5"),
        losing="(the GPU box and its disk)",
        before_down=_stop_jupyter,
        status=_status,
        show_status=_show_status,
    ),
)


@app.command(
    "ssh",
    context_settings={"allow_interspersed_args": False},
    help=N_("Log in to the box, or run one command there: introaws dnn ssh -- nvidia-smi"),
)
def ssh(
    ctx: typer.Context,
    command: list[str] = typer.Argument(None, help=N_("Command to run (after --); none: interactive shell.")),
) -> None:
    from introaws.workflows import dnn, ec2

    target = context.target(ctx)
    with render.progress() as report:
        if command:
            # The framework environment first on PATH, whatever the login's start-up files put there.
            code = ec2.run_command(target, command, render.stream_out, render.stream_err, report, dnn.NAME, dnn.PRELUDE)
        else:
            code = ec2.login(target, *context.terminal(), report, dnn.NAME)
    raise typer.Exit(code)


@app.command("tunnel", help=N_("Start Jupyter on the box if needed and forward localhost:8931 to it until Ctrl-C."))
def tunnel(
    ctx: typer.Context,
    local_port: int = typer.Option(8931, "--local-port", min=1, max=65535, help=N_("Port on this machine.")),
    remote_port: int = typer.Option(8888, "--remote-port", min=1, max=65535, help=N_("Jupyter's port on the box.")),
    open_browser: bool = typer.Option(False, "--open", help=N_("Open the URL in a browser.")),
) -> None:
    from introaws.workflows import dnn

    stop = threading.Event()
    # Ctrl-C, or a polite kill, closes the tunnel; the caller's handlers come back afterwards.
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with render.progress() as report, dnn.tunnel(context.target(ctx), local_port, remote_port, report) as opened:
            render.lines([opened.url, *([opened.notebook_url] if opened.notebook_url else [])])
            if opened.notebook_url:
                render.note(_("the second URL opens the hands-on's MNIST notebook"))
            render.note(_("tunnel open; press Ctrl-C to close it"))
            if open_browser:
                import webbrowser

                webbrowser.open(opened.notebook_url or opened.url)
            stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    render.success(_("tunnel closed"))


@app.command("bench", help=N_("CPU vs GPU matrix multiplication on the box (GPU rows only where CUDA exists)."))
def bench(
    ctx: typer.Context,
    size: int = typer.Option(10000, "--size", help=N_("Multiply two SIZE x SIZE float32 matrices.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import dnn

    with render.progress() as report:
        result = dnn.bench(context.target(ctx), size, report)
    if json_out:
        render.print_json(result)
        return
    rows = [["CPU", f"{result['threads']} threads", f"{result['cpu_s']:.3f}"]]
    if result["gpu_s"] is not None:
        rows.append(["GPU", result["gpu_name"], f"{result['gpu_s']:.3f}"])
    render.table(_("{size} x {size} float32 matmul").format(size=size), [_("device"), _("what"), _("seconds")], rows)
    if result["speedup"]:
        render.note(_("the GPU is {speedup}x faster").format(speedup=result["speedup"]))
    else:
        render.note(_("no CUDA GPU on this box: CPU only"))


@app.command("train", help=N_("Train the textbook's MNIST CNN on the box, epoch by epoch, then test it."))
def train(
    ctx: typer.Context,
    epochs: int = typer.Option(5, "--epochs", min=1, help=N_("Passes over the training data.")),
    lr: float = typer.Option(0.01, "--lr", help=N_("SGD learning rate.")),
    momentum: float = typer.Option(0.5, "--momentum", help=N_("SGD momentum.")),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    data_dir: str = typer.Option(None, "--data-dir", help=N_("MNIST IDX files here (default: introaws's).")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.workflows import dnn

    with render.progress() as report:
        result = dnn.train(
            context.target(ctx),
            epochs=epochs,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            data_dir=data_dir,
            on_line=render.output_line,
            report=report,
        )
    if json_out:
        render.print_json(result)
    else:
        render.success(_("test accuracy {test_accuracy}%").format(test_accuracy=result["test_accuracy"]))
