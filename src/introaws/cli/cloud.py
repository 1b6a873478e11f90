"""``introaws cloud``: the embedded local cloud daemon."""

from __future__ import annotations

import typer

from introaws.cli import context, render
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py


@app.command("start", help=N_("Start the local cloud (state from earlier runs comes back)."))
def start(json_out: bool = context.JSON_OPTION) -> None:
    from introaws.localcloud import daemon

    status = daemon.start()
    if json_out:
        render.print_json(status.to_dict())
    else:
        render.success(
            _("local cloud running at {endpoint} (pid {pid})").format(endpoint=status.endpoint, pid=status.pid)
        )


@app.command("stop", help=N_("Stop the local cloud; its state is kept for the next start."))
def stop(json_out: bool = context.JSON_OPTION) -> None:
    from introaws.localcloud import daemon

    stopped = daemon.stop()
    if json_out:
        render.print_json({"stopped": stopped})
    elif stopped:
        render.success(_("local cloud stopped (state kept)"))
    else:
        render.note(_("the local cloud was not running"))


@app.command(
    "status", help=N_("Is the local cloud running, where, and which worker processes it holds (with their memory).")
)
def status(json_out: bool = context.JSON_OPTION) -> None:
    from introaws.localcloud import daemon

    current = daemon.status()
    running = daemon.workers()
    if json_out:
        render.print_json({**current.to_dict(), **running})
        return
    render.key_values(
        {
            _("running"): current.running,
            _("endpoint"): current.endpoint or "-",
            _("pid"): current.pid or "-",
            _("state"): current.state_dir,
        }
    )
    workers = running["workers"]
    if workers:
        total = sum(w["rss_mib"] or 0 for w in workers)
        render.table(
            _("worker processes ({total:.0f} MiB resident; idle ones retire after {idle_retire_s:.0f} s)").format(
                total=total, idle_retire_s=running["runtime"]["idle_retire_s"]
            ),
            [_("kind"), _("name"), _("pid"), _("state"), _("idle s"), _("MiB")],
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


@app.command("env", help=N_('Shell lines that point other clients at the local cloud: eval "$(introaws cloud env)".'))
def env(ctx: typer.Context, json_out: bool = context.JSON_OPTION) -> None:
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


@app.command("reset", help=N_("Stop the local cloud and wipe everything it holds."))
def reset(yes: bool = context.YES_OPTION, json_out: bool = context.JSON_OPTION) -> None:
    from introaws.localcloud import daemon

    context.confirm(_("wipe the local cloud (every stack, table, bucket and key pair on it)?"), yes)
    daemon.reset()
    if json_out:
        render.print_json({"reset": True})
    else:
        render.success(_("local cloud wiped"))


@app.command("logs", help=N_("The local cloud's log."))
def logs(
    lines: int = typer.Option(50, "--lines", "-n", min=1, help=N_("How many lines.")),
    json_out: bool = context.JSON_OPTION,
) -> None:
    from introaws.localcloud import daemon

    tail = daemon.log_tail(lines)
    if json_out:
        render.print_json({"lines": tail})
    else:
        render.lines(tail)
