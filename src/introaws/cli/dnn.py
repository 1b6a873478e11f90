"""``introaws dnn``: hands-on 2, a GPU box with Jupyter and PyTorch (textbook chapters 5-6)."""

from __future__ import annotations

import signal
import threading
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle

app = context.group()  # its help line: GROUPS in cli/app.py


def _options(
    key: str = typer.Option(None, "--key", help="Key pair to log in with (default: the one introaws made)."),
    instance_type: str = typer.Option(None, "--instance-type", help="Instance type (default g4dn.xlarge)."),
    ssh_from: str = typer.Option(None, "--ssh-from", help="Address range SSH is let in from (default: your IP/32)."),
    ami: str = typer.Option(None, "--ami", help="AMI id instead of the region's current Deep Learning AMI."),
    idle_stop: int = typer.Option(
        None, "--idle-stop", help="Stop the box after this many idle minutes (default 60 on AWS; 0 never)."
    ),
) -> Any:
    """Deploy stack Ec2ForDl: a GPU instance with the Deep Learning AMI; checks your quota first."""
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
    """The stack and its box: state, IP, type, age, idle-stop, cost so far (AWS)."""
    from introaws.workflows import dnn

    return dnn.status(target)


def _show_status(data: dict[str, Any]) -> None:
    box = data["instance"] or {}
    rows: dict[str, object] = {"stack": data["stack"], "status": data["status"] or "not deployed"}
    if box:
        rows.update(
            {
                "instance": box["id"],
                "state": box["state"],
                "type": box["type"],
                "public ip": box["public_ip"] or "-",
                "idle-stop": f"{box['idle_stop_minutes']} min" if box.get("idle_stop_minutes") else "off",
                "age": f"{box['age_s'] // 60} min",
            }
        )
        if box.get("cost_so_far_usd") is not None:
            rows["cost so far"] = f"${box['cost_so_far_usd']:.2f} (${box['hourly_usd']}/h)"
    render.key_values(rows)


add_lifecycle(
    app,
    "dnn",
    Lifecycle(
        options=_options,
        params=_params,
        deploy=_deploy,
        cost=_cost,
        next_step="next: introaws dnn tunnel   (Jupyter in your browser)   ·   introaws dnn train --epochs 5",
        losing="(the GPU box and its disk)",
        before_down=_stop_jupyter,
        status=_status,
        show_status=_show_status,
    ),
)


@app.command("ssh", context_settings={"allow_interspersed_args": False})
def ssh(
    ctx: typer.Context,
    command: list[str] = typer.Argument(None, help="Command to run (after --); none: interactive shell."),
) -> None:
    """Log in to the box, or run one command there: introaws dnn ssh -- nvidia-smi"""
    from introaws.workflows import dnn, ec2

    target = context.target(ctx)
    with render.progress() as report:
        if command:
            code = ec2.run_command(target, command, render.stream_out, render.stream_err, report, dnn.NAME)
        else:
            code = ec2.login(target, *context.terminal(), report, dnn.NAME)
    raise typer.Exit(code)


@app.command("tunnel")
def tunnel(
    ctx: typer.Context,
    local_port: int = typer.Option(8931, "--local-port", min=1, max=65535, help="Port on this machine."),
    remote_port: int = typer.Option(8888, "--remote-port", min=1, max=65535, help="Jupyter's port on the box."),
    open_browser: bool = typer.Option(False, "--open", help="Open the URL in a browser."),
) -> None:
    """Start Jupyter on the box if needed and forward localhost:8931 to it until Ctrl-C."""
    from introaws.workflows import dnn

    stop = threading.Event()
    # Ctrl-C, or a polite kill, closes the tunnel; the caller's handlers come back afterwards.
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with render.progress() as report, dnn.tunnel(context.target(ctx), local_port, remote_port, report) as url:
            render.lines([url])
            render.note("tunnel open; press Ctrl-C to close it")
            if open_browser:
                import webbrowser

                webbrowser.open(url)
            stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    render.success("tunnel closed")


@app.command("bench")
def bench(
    ctx: typer.Context,
    size: int = typer.Option(10000, "--size", help="Multiply two SIZE x SIZE float32 matrices."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """CPU vs GPU matrix multiplication on the box (GPU rows only where CUDA exists)."""
    from introaws.workflows import dnn

    with render.progress() as report:
        result = dnn.bench(context.target(ctx), size, report)
    if json_out:
        render.print_json(result)
        return
    rows = [["CPU", f"{result['threads']} threads", f"{result['cpu_s']:.3f}"]]
    if result["gpu_s"] is not None:
        rows.append(["GPU", result["gpu_name"], f"{result['gpu_s']:.3f}"])
    render.table(f"{size} x {size} float32 matmul", ["device", "what", "seconds"], rows)
    if result["speedup"]:
        render.note(f"the GPU is {result['speedup']}x faster")
    else:
        render.note("no CUDA GPU on this box: CPU only")


@app.command("train")
def train(
    ctx: typer.Context,
    epochs: int = typer.Option(5, "--epochs", min=1, help="Passes over the training data."),
    lr: float = typer.Option(0.01, "--lr", help="SGD learning rate."),
    momentum: float = typer.Option(0.5, "--momentum", help="SGD momentum."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    data_dir: str = typer.Option(None, "--data-dir", help="MNIST IDX files here (default: introaws's)."),
    json_out: bool = context.JSON_OPTION,
) -> None:
    """Train the textbook's MNIST CNN on the box, epoch by epoch, then test it."""
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
        render.success(f"test accuracy {result['test_accuracy']}%")
