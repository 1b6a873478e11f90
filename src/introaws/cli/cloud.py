"""``introaws cloud``: the embedded local cloud daemon."""

from __future__ import annotations

import typer

from introaws.cli import context, render

app = context.group()  # its help line: GROUPS in cli/app.py


@app.command("start")
def start(json_out: bool = context.JSON_OPTION) -> None:
    """Start the local cloud (state from earlier runs comes back)."""
    from introaws.localcloud import daemon

    status = daemon.start()
    if json_out:
        render.print_json(status.to_dict())
    else:
        render.success(f"local cloud running at {status.endpoint} (pid {status.pid})")


@app.command("stop")
def stop(json_out: bool = context.JSON_OPTION) -> None:
    """Stop the local cloud; its state is kept for the next start."""
    from introaws.localcloud import daemon

    stopped = daemon.stop()
    if json_out:
        render.print_json({"stopped": stopped})
    elif stopped:
        render.success("local cloud stopped (state kept)")
    else:
        render.note("the local cloud was not running")


@app.command("status")
def status(json_out: bool = context.JSON_OPTION) -> None:
    """Is the local cloud running, where, and which worker processes it holds (with their memory)."""
    from introaws.localcloud import daemon

    current = daemon.status()
    running = daemon.workers()
    if json_out:
        render.print_json({**current.to_dict(), **running})
        return
    render.key_values(
        {
            "running": current.running,
            "endpoint": current.endpoint or "-",
            "pid": current.pid or "-",
            "state": current.state_dir,
        }
    )
    workers = running["workers"]
    if workers:
        total = sum(w["rss_mib"] or 0 for w in workers)
        render.table(
            f"worker processes ({total:.0f} MiB resident; idle ones retire after "
            f"{running['runtime']['idle_retire_s']:.0f} s)",
            ["kind", "name", "pid", "state", "idle s", "MiB"],
            [
                [
                    w["kind"],
                    w["name"],
                    w["pid"],
                    w["state"],
                    w["idle_s"] if w["idle_s"] is not None else "-",
                    w["rss_mib"],
                ]
                for w in workers
            ],
        )


# What other clients (the AWS CLI, boto3, the textbook's scripts) need to use the local cloud.
ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


@app.command("env")
def env(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
    """Shell lines that point other clients at the local cloud: eval "$(introaws cloud env)"."""
    import shlex

    from introaws.target import resolve

    target = resolve("local", region=context.settings(ctx).region)
    values = {key: target.child_env()[key] for key in ENV_KEYS}
    if json_out:
        render.print_json(values)
        return
    # A session token left from another account would be sent with these keys and refused.
    exports = ["unset AWS_SESSION_TOKEN"] + [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    render.stream_out(("\n".join(exports) + "\n").encode())


@app.command("reset")
def reset(yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    """Stop the local cloud and wipe everything it holds."""
    from introaws.localcloud import daemon

    context.confirm("wipe the local cloud (every stack, table, bucket and key pair on it)?", yes)
    daemon.reset()
    if json_out:
        render.print_json({"reset": True})
    else:
        render.success("local cloud wiped")


@app.command("logs")
def logs(
    lines: int = typer.Option(50, "--lines", "-n", min=1, help="How many lines."), json_out: bool = context.JSON_OPTION
) -> None:
    """The local cloud's log."""
    from introaws.localcloud import daemon

    tail = daemon.log_tail(lines)
    if json_out:
        render.print_json({"lines": tail})
    else:
        render.lines(tail)
