"""``introaws ec2``: hands-on 1, your first server and SSH into it (textbook ch. 4)."""

from __future__ import annotations

import shlex
from typing import Any

import typer

from introaws.cli import context, render
from introaws.cli.stackcmds import Lifecycle, add_lifecycle
from introaws.i18n import N_, _

app = context.group()  # its help line: GROUPS in cli/app.py


def _options(
    key: str = typer.Option(None, "--key", help=N_("Key pair to log in with (default: the one introaws made).")),
    instance_type: str = typer.Option(None, "--instance-type", help=N_("Instance type (default t2.micro).")),
    ssh_from: str = typer.Option(
        None, "--ssh-from", help=N_("Address range SSH is let in from (default: your public IP/32).")
    ),
    ttl: str = typer.Option(None, "--ttl", help=N_("Terminate the instance after this long, e.g. 2h, 90m.")),
) -> Any:
    from introaws.workflows import ec2

    return ec2.UpRequest(key, instance_type, ssh_from, ttl)


def _cost(target: Any, request: Any) -> tuple[float | None, str] | None:
    from introaws import pricing
    from introaws.workflows import ec2

    if ec2.already_up(target, request):
        return None
    chosen = request.instance_type or ec2.DEFAULT_INSTANCE_TYPE
    return pricing.idle_hourly(target, "ec2", chosen), chosen


def _params(target: Any, request: Any, report: Any) -> dict[str, Any]:
    from introaws.workflows import ec2

    return ec2.params(target, request, report)


def _deploy(target: Any, request: Any, dry_run: bool, wait: bool, report: Any) -> Any:
    from introaws.workflows import ec2

    return ec2.up(target, request, dry_run=dry_run, wait=wait, report=report)


def _status(target: Any) -> dict[str, Any]:
    from introaws.workflows import ec2

    return ec2.status(target)


def _show_status(data: dict[str, Any]) -> None:
    instance = data["instance"] or {}
    rows: dict[str, object] = {}
    if instance:
        rows.update(
            {
                _("instance"): instance["id"],
                _("state"): instance["state"],
                _("type"): instance["type"],
                _("public IP"): instance["public_ip"] or "-",
                _("key pair"): instance["key_name"] or "-",
                _("age"): _duration(instance["age_s"]),
                _("time left"): "-" if instance["ttl_left_s"] is None else _duration(instance["ttl_left_s"]),
            }
        )
        if instance["cost_so_far_usd"] is not None:
            rows[_("cost so far")] = f"${instance['cost_so_far_usd']:.4f} (${instance['hourly_usd']}/hour)"
    render.key_values({_("stack"): data["stack"], _("status"): data["status"] or _("not deployed"), **rows})


add_lifecycle(
    app,
    "ec2",
    Lifecycle(
        status_help=N_("The stack and its instance: state, IP, type, age, time left, cost so far (AWS)."),
        up_help=N_("Deploy stack MyFirstEc2: VPC, security group, one instance; prints its address."),
        options=_options,
        params=_params,
        deploy=_deploy,
        cost=_cost,
        next_step=N_("log in with: introaws ec2 ssh   (or run one command: introaws ec2 ssh -- uname -a)"),
        losing="(instance and VPC)",
        status=_status,
        show_status=_show_status,
    ),
)


@app.command(
    "ssh",
    context_settings={"allow_interspersed_args": False},
    help=N_(
        "Log in to the instance, or run one command there: introaws ec2 ssh -- uname -a\n\n"
        "The command's output is streamed and its exit code becomes introaws's. One argument is a "
        "shell command line as typed ('ls | wc -l'); several are passed as separate words."
    ),
)
def ssh(
    ctx: typer.Context,
    command: list[str] = typer.Argument(None, help=N_("Command to run (after --); none: interactive shell.")),
    stdio: bool = typer.Option(
        False, "--stdio", help=N_("Relay stdin and stdout to the instance's SSH server (ssh-config's ProxyCommand).")
    ),
) -> None:
    from introaws.workflows import ec2

    target = context.target(ctx)
    with render.progress() as report:
        if stdio:
            ec2.proxy(target, *context.terminal(), report)
            return
        if command:
            code = ec2.run_command(target, command, render.stream_out, render.stream_err, report)
        else:
            code = ec2.login(target, *context.terminal(), report)
    raise typer.Exit(code)


@app.command(
    "ssh-config",
    help=N_(
        "Print a Host block for ~/.ssh/config, so plain 'ssh introaws-ec2' works (also after the instance is "
        "replaced: ssh reaches it through 'introaws ec2 ssh --stdio')."
    ),
)
def ssh_config(
    ctx: typer.Context, host: str = typer.Option("introaws-ec2", "--host", help=N_("Name for the Host block."))
) -> None:
    from introaws.workflows import ec2

    proxy = shlex.join([*context.self_command(ctx), "ec2", "ssh", "--stdio"])
    render.lines(ec2.ssh_config(context.target(ctx), proxy, host).splitlines())


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
