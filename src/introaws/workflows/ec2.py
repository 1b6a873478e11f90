"""Hands-on 1 (textbook ch. 4): a server of your own, and SSH into it.

``up`` deploys ``MyFirstEc2`` with the key pair, instance type, SSH source range and time to
live; ``status`` reads the instance back; ``endpoint`` says where to log in, as the target's
cloud answers it (the instance's public IP as ``ec2-user`` on AWS; on the local cloud, the
loopback sshd it runs for the instance).
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from introaws import pricing
from introaws.deploy import engine
from introaws.deploy.stackinfo import describe
from introaws.errors import NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.ssh import Endpoint, Sink
from introaws.stacks import IDLE_STOP_TAG, TTL_TAG
from introaws.target import Target
from introaws.workflows import keypair, lifecycle

NAME = "ec2"
DEFAULT_INSTANCE_TYPE = "t2.micro"
MAX_TTL_MINUTES = 7 * 24 * 60
_TTL = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


@dataclass(frozen=True)
class UpRequest:
    key: str | None = None
    instance_type: str | None = None
    ssh_from: str | None = None
    ttl: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.key, self.instance_type, self.ssh_from, self.ttl))


def parse_ttl(text: str) -> int:
    """``2h``, ``90m``, ``1h30m``, ``1d`` -> minutes."""
    match = _TTL.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise UsageError(_("cannot read --ttl '{text}'").format(text=text), _("write it like 45m, 2h, 1h30m or 1d"))
    days, hours, minutes = (int(g or 0) for g in match.groups())
    total = days * 1440 + hours * 60 + minutes
    if not 1 <= total <= MAX_TTL_MINUTES:
        raise UsageError(_("--ttl {text} is out of range").format(text=text), _("give between 1 minute and 7 days"))
    return total


def check_cidr(cidr: str) -> str:
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        raise UsageError(
            _("--ssh-from '{cidr}' is not an IPv4 address range").format(cidr=cidr),
            _("write it like 203.0.113.7/32 (one address) or 0.0.0.0/0 (anyone)"),
        ) from None
    return str(network)


def caller_cidr(target: Target) -> str:
    """The range SSH is let in from by default: on AWS this machine's public address, /32; on
    the local cloud, whose sshds listen on loopback, 127.0.0.1/32."""
    return target.kind.ssh_source()


def choose_key(target: Target, key: str | None) -> str:
    """The given key pair (it must exist), else the one key pair introaws created."""
    pairs = keypair.list_pairs(target)
    if key is not None:
        if not any(p["name"] == key for p in pairs):
            raise NotFound(
                _("no key pair '{key}' on the {cloud} cloud").format(key=key, cloud=target.cloud),
                _("create it with 'introaws keypair create {key}'").format(key=key),
            )
        return key
    ours = [p["name"] for p in pairs if p["created_by_introaws"]]
    if len(ours) == 1:
        return ours[0]
    if not ours:
        raise UsageError(
            _("no key pair made by introaws on the {cloud} cloud").format(cloud=target.cloud),
            _("create one with 'introaws keypair create HirakeGoma', then run up again"),
        )
    raise UsageError(
        _("introaws made several key pairs ({names})").format(names=", ".join(ours)), _("choose one with --key NAME")
    )


def params(target: Target, request: UpRequest, report: Reporter = silent) -> dict[str, Any]:
    """The stack's parameters for ``request``, defaults filled in and checked."""
    ssh_from = check_cidr(request.ssh_from) if request.ssh_from else caller_cidr(target)
    if ipaddress.IPv4Network(ssh_from).prefixlen == 0:
        report(
            Event(
                "warning",
                _("SSH will be open to the whole internet ({ssh_from}); anyone may try to log in").format(
                    ssh_from=ssh_from
                ),
            )
        )
    chosen: dict[str, Any] = {
        "key_name": choose_key(target, request.key),
        "ssh_from": ssh_from,
        "instance_type": request.instance_type or DEFAULT_INSTANCE_TYPE,
    }
    if request.ttl:
        chosen["ttl_minutes"] = parse_ttl(request.ttl)
    return chosen


def already_up(target: Target, request: UpRequest, name: str = NAME) -> engine.DeployResult | None:
    """The deployed stack, when ``up`` with no options finds it up: it is reported, not redeployed."""
    existing = describe(target, lifecycle.hands_on(name).stack_name)
    if (
        existing
        and existing.status.endswith("_COMPLETE")
        and not existing.status.startswith("DELETE")
        and not request.given
    ):
        return engine.DeployResult(existing.name, existing.status, existing.outputs, up_to_date=True)
    return None


def up(
    target: Target, request: UpRequest, *, dry_run: bool = False, wait: bool = True, report: Reporter = silent
) -> engine.DeployResult:
    """Deploy; a stack already up is reported as it is unless options ask for a change."""
    existing = None if dry_run else already_up(target, request)
    if existing:
        return existing
    chosen = params(target, request, report)
    return lifecycle.up(target, NAME, chosen, dry_run=dry_run, wait=wait, report=report)


def instance(target: Target, name: str = NAME) -> dict[str, Any]:
    """The hands-on's instance as EC2 describes it; NotFound says to run ``up``."""
    try:
        instance_id = lifecycle.output(target, name, "InstanceId")
    except NotFound:
        raise NotFound(
            _("no instance: the {name} hands-on is not deployed on the {cloud} cloud").format(
                name=name, cloud=target.cloud
            ),
            _("run 'introaws {name} up' first").format(name=name),
        ) from None
    reservations = target.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    found = [i for r in reservations for i in r["Instances"]]
    if not found:
        raise NotFound(
            _("instance {instance_id} no longer exists").format(instance_id=instance_id),
            _("run 'introaws {name} down', then 'introaws {name} up'").format(name=name),
        )
    return found[0]


def status(target: Target, name: str = NAME) -> dict[str, Any]:
    """Stack and instance: state, address, type, age, time left, cost so far (AWS)."""
    stack = lifecycle.status(target, name)
    if not stack["status"]:
        return {**stack, "instance": None}
    try:
        found = instance(target, name)
    except NotFound:
        return {**stack, "instance": None}
    now = datetime.now(UTC)
    launched = found["LaunchTime"]
    launched = launched if launched.tzinfo else launched.replace(tzinfo=UTC)
    hours = max(0.0, (now - launched).total_seconds() / 3600)
    tags = {t["Key"]: t["Value"] for t in found.get("Tags", [])}
    ttl_left = None
    if TTL_TAG in tags:
        ttl_left = max(0, round(launched.timestamp() + int(tags[TTL_TAG]) * 60 - now.timestamp()))
    hourly = pricing.idle_hourly(target, name, found["InstanceType"]) if target.kind.bills else None
    running = found["State"]["Name"] == "running"
    return {
        **stack,
        "instance": {
            "id": found["InstanceId"],
            "state": found["State"]["Name"],
            "type": found["InstanceType"],
            "public_ip": found.get("PublicIpAddress"),
            "public_dns": found.get("PublicDnsName") or None,
            "key_name": found.get("KeyName"),
            "launched": launched.isoformat(),
            "age_s": round(hours * 3600),
            "ttl_left_s": ttl_left if running else None,
            "idle_stop_minutes": int(tags[IDLE_STOP_TAG]) if IDLE_STOP_TAG in tags else None,
            "hourly_usd": None if hourly is None else round(hourly, 4),
            "cost_so_far_usd": None if hourly is None else round(hours * hourly, 4),
        },
    }


def endpoint(target: Target, key_dir: str | None = None, name: str = NAME) -> Endpoint:
    """Where to log in to the hands-on's instance, as whom, with which key."""
    found = instance(target, name)
    state = found["State"]["Name"]
    if state != "running":
        raise NotFound(
            _("instance {instance} is {state}").format(instance=found["InstanceId"], state=state),
            (
                _("run 'introaws {name} down', then 'introaws {name} up'")
                if state in ("terminated", "shutting-down")
                else _("start it, or run 'introaws {name} down' and 'introaws {name} up'")
            ).format(name=name),
        )
    key_name = found.get("KeyName") or ""
    key_file = keypair.key_path(target, key_name, key_dir)
    host, port, user, host_key_alias = target.kind.ssh_address(found)
    return Endpoint(host, port, user, key_file, key_name, host_key_alias)


def ssh_config(
    target: Target, proxy_command: str, host_alias: str = "introaws-ec2", key_dir: str | None = None, name: str = NAME
) -> str:
    """A ``Host`` block for ``~/.ssh/config`` so plain ``ssh`` reaches the instance through
    ``proxy_command`` (``introaws ec2 ssh --stdio``, see :func:`proxy`): it finds the current
    instance each time, so the block outlives a replaced instance or a new local port."""
    where = endpoint(target, key_dir, name)
    return "\n".join(
        [
            f"Host {host_alias}",
            f"    User {where.user}",
            f"    IdentityFile {where.key_file}",
            "    IdentitiesOnly yes",
            f"    ProxyCommand {proxy_command.replace('%', '%%')}",
            f"    HostKeyAlias introaws-{name}",
            f"    UserKnownHostsFile {proxy_known_hosts(name)}",
            "    StrictHostKeyChecking yes",
            "",
        ]
    )


def proxy_known_hosts(name: str = NAME) -> Path:
    """The known-hosts file of ``ssh-config``'s block: the current instance's pinned key only."""
    from introaws import paths

    return paths.data_dir() / f"known_hosts.introaws-{name}"


def proxy(target: Target, stdin_fd: int, stdout_fd: int, report: Reporter = silent, name: str = NAME) -> None:
    """Be OpenSSH's ``ProxyCommand``: check the current instance's host key against introaws's
    pinning, give it to OpenSSH as ``introaws-NAME``'s, then relay the connection."""
    from introaws import ssh

    if stdin_fd < 0 or stdout_fd < 0:
        raise UsageError(
            _("--stdio relays this process's stdin and stdout"), _("let ssh run it (ssh-config's ProxyCommand)")
        )
    where = endpoint(target, name=name)
    key = ssh.host_key(where, report)
    known = proxy_known_hosts(name)
    known.parent.mkdir(parents=True, exist_ok=True)
    staged = known.with_suffix(f".{os.getpid()}")
    staged.write_text(f"introaws-{name} {key.get_name()} {key.get_base64()}\n")
    staged.replace(known)
    ssh.relay(where.host, where.port, stdin_fd, stdout_fd)


def run_command(
    target: Target,
    words: list[str],
    stdout: Sink,
    stderr: Sink,
    report: Reporter = silent,
    name: str = NAME,
    prelude: str = "",
) -> int:
    """Run a command on the instance (after the shell code ``prelude``), streaming its output;
    returns its exit code."""
    from introaws import ssh

    client = ssh.connect(endpoint(target, name=name), report=report)
    try:
        return ssh.run(client, prelude + ssh.command_line(words), stdout, stderr)
    finally:
        client.close()


def login(target: Target, stdin_fd: int, stdout_fd: int, report: Reporter = silent, name: str = NAME) -> int:
    """An interactive shell on the instance; returns the shell's exit code."""
    from introaws import ssh

    client = ssh.connect(endpoint(target, name=name), report=report)
    try:
        return ssh.shell(client, stdin_fd, stdout_fd)
    finally:
        client.close()
