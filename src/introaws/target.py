"""Where the work goes: ``--cloud local|aws`` resolved, in one place, into boto3 clients.

Workflows talk to either cloud through :meth:`Target.client`. What else differs between the
two (how often to poll, where SSH goes, whether anything costs money, which checks of the
account to run first, whether workloads run here or from images) is asked of the target's
:attr:`Target.kind`, one :class:`Cloud` subclass per cloud (SkyPilot's per-cloud classes are
the model), so a workflow reads the same for both.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, NamedTuple, ParamSpec, TypeVar

from introaws.errors import MissingTool, NotFound, UsageError
from introaws.i18n import N_, _

if TYPE_CHECKING:
    import boto3

P = ParamSpec("P")
R = TypeVar("R")
CLOUDS = ("local", "aws")
LOCAL_REGION = "ap-northeast-1"
CHECKIP_URL = "https://checkip.amazonaws.com"
AWS_USER = "ec2-user"  # Amazon Linux's login user


@dataclass
class Target:
    cloud: str
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    poll_s: float | None = None  # seconds between polls of long operations (default: by cloud)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    # What this target's cloud does its own way; made with the target, so that a local cloud's
    # kind belongs to the INTROAWS_HOME of the moment (whose daemon, whose keys).
    kind: Cloud = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.kind = _KINDS[self.cloud](self)

    @property
    def poll_interval(self) -> float:
        """How often to ask about a running operation."""
        return self.poll_s if self.poll_s is not None else self.kind.poll_s

    @cached_property
    def session(self) -> boto3.Session:
        return self.kind.session()

    def client(self, service: str, *, region: str | None = None, optional: bool = False) -> Any:
        """A boto3 client on this target's endpoint (one per kind, reused). ``region``: a service
        answered in one region only (the Pricing API); ``optional``: an answer introaws can do
        without, so short time-outs and one try instead of minutes of retries."""
        key = f"{service}@{region or self.region}{'?' if optional else ''}"
        if key not in self._clients:
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": 1 if optional else 5, "mode": "standard"},
                s3=dict(self.kind.s3_config),
                max_pool_connections=32,
                **({"connect_timeout": 3, "read_timeout": 10} if optional else {}),
            )
            self._clients[key] = self.session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[key]

    def close(self) -> None:
        """Close the clients' connections now rather than when they are collected: a caller
        that goes on running (the CLI run in-process) must not keep the local cloud's port in
        use after the daemon stops."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def resource(self, service: str) -> Any:
        """A boto3 resource (DynamoDB tables) on the same endpoint as :meth:`client`."""
        return self.session.resource(service, endpoint_url=self.endpoint_url)

    @cached_property
    def account_id(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def child_env(self) -> dict[str, str]:
        """Environment for processes that must talk to this target (task payloads)."""
        return {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, **self.kind.child_env()}


class SshAddress(NamedTuple):
    """Where an instance's sshd answers, as whom, and the name its host key is pinned under."""

    host: str
    port: int
    user: str
    host_key_alias: str


class Cloud(ABC):
    """What differs between the clouds a target can be; one subclass each, bound to its target."""

    name: ClassVar[str]
    poll_s: ClassVar[float]  # between polls of a stack's or a task's progress
    job_poll_s: ClassVar[float]  # between polls of a sweep's jobs
    capacity_wait_s: ClassVar[float]  # a job RUNNABLE for longer is diagnosed
    capacity: ClassVar[str]  # what a job waits for when nothing else blocks it
    # Workloads (tasks, jobs, the GPU box) run on this machine from the installed payloads and
    # its files: no images to build or push, no instance to stop when idle.
    runs_here: ClassVar[bool]
    bills: ClassVar[bool]  # what it runs costs money: prices, cost prompts
    s3_config: ClassVar[dict[str, str]] = {}  # botocore's ``s3`` settings

    def __init__(self, target: Target) -> None:
        self.target = target

    @abstractmethod
    def session(self) -> boto3.Session: ...

    @abstractmethod
    def child_env(self) -> dict[str, str]:
        """Credentials (and endpoint) for a process that talks to this cloud."""

    @abstractmethod
    def check_account(self, check: Callable[Concatenate[Target, P], R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """``check(target, ...)``'s answer about the account (a quota, a setting, an image in
        ECR), usually a refusal before something would cost money or fail later; None where
        there is no account to check."""

    @abstractmethod
    def ssh_source(self) -> str:
        """The address range SSH to an instance is let in from when the user names none."""

    @abstractmethod
    def ssh_address(self, instance: dict[str, Any]) -> SshAddress:
        """Where to reach a running instance (as EC2 describes it) over SSH."""


class LocalCloud(Cloud):
    """The embedded cloud on this machine: it answers at once and charges nothing."""

    name = "local"
    poll_s = 0.2
    job_poll_s = 0.5
    capacity_wait_s = 30.0
    capacity = N_("this machine's cores")  # shown with _()
    runs_here = True
    bills = False
    s3_config = {"addressing_style": "path"}

    def __init__(self, target: Target) -> None:
        from introaws.localcloud import daemon

        super().__init__(target)
        self.state_dir = daemon.state_dir()  # the home whose daemon answers at the endpoint

    @cached_property
    def _keys(self) -> dict[str, str]:
        from introaws.localcloud.identity import admin

        return admin.credentials(self.state_dir).boto3_kwargs()

    def credentials(self) -> dict[str, str]:
        """The local cloud's administrator keys (boto3's ``aws_access_key_id``/``…secret…``):
        random for its INTROAWS_HOME, readable by its owner only; the daemon refuses every
        other key, so no real keys reach its journal either."""
        return dict(self._keys)

    def session(self) -> boto3.Session:
        import boto3

        return boto3.Session(region_name=self.target.region, **self.credentials())

    def child_env(self) -> dict[str, str]:
        keys = self.credentials()
        return {
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "AWS_ENDPOINT_URL": self.target.endpoint_url or "",
        }

    def check_account(self, check: Callable[Concatenate[Target, P], R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        """Skipped: the local cloud has no quotas or account settings, and runs no images."""
        return None

    def ssh_source(self) -> str:
        return "127.0.0.1/32"  # its sshds listen on loopback

    def ssh_address(self, instance: dict[str, Any]) -> SshAddress:
        """Ask the local cloud where the instance's sshd listens."""
        import json
        import urllib.error
        import urllib.request

        instance_id = instance["InstanceId"]
        url = f"{self.target.endpoint_url}/_introaws/ec2/instances/{instance_id}/ssh"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        try:
            with opener.open(url, timeout=60) as reply:
                where = json.load(reply)
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
            if answer.get("missing_sshd"):
                raise MissingTool(
                    _("OpenSSH's sshd is not installed, so local instances cannot accept SSH"),
                    _(
                        "install it (Debian/Ubuntu: apt-get install openssh-server), then run 'introaws cloud "
                        "stop' and try again"
                    ),
                ) from None
            raise NotFound(
                answer.get("message") or _("instance {instance_id} has no SSH server").format(instance_id=instance_id),
                _("see 'introaws cloud logs'"),
            ) from None
        return SshAddress(where["host"], int(where["port"]), where["user"], where["host_key_alias"])


class AwsCloud(Cloud):
    """The reader's AWS account: operations take minutes, and everything costs money."""

    name = "aws"
    poll_s = 3.0
    job_poll_s = 10.0
    capacity_wait_s = 180.0
    capacity = N_("instances take a few minutes to start")  # shown with _()
    runs_here = False
    bills = True

    def session(self) -> boto3.Session:
        import boto3

        return boto3.Session(profile_name=self.target.profile, region_name=self.target.region)

    def child_env(self) -> dict[str, str]:
        return {"AWS_PROFILE": self.target.profile} if self.target.profile else {}

    def check_account(self, check: Callable[Concatenate[Target, P], R], *args: P.args, **kwargs: P.kwargs) -> R | None:
        return check(self.target, *args, **kwargs)

    def ssh_source(self) -> str:
        """This machine's public address, /32."""
        import ipaddress
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(CHECKIP_URL, timeout=10) as reply:
                address = reply.read().decode().strip()
            return str(ipaddress.IPv4Network(f"{address}/32"))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise UsageError(
                _("could not look up your public IP address at {url} ({error})").format(url=CHECKIP_URL, error=exc),
                _("pass the range to let SSH in from, e.g. --ssh-from 203.0.113.7/32"),
            ) from exc

    def ssh_address(self, instance: dict[str, Any]) -> SshAddress:
        address = instance.get("PublicIpAddress")
        if not address:
            raise NotFound(
                _("instance {instance} has no public IP yet").format(instance=instance["InstanceId"]),
                _("wait a moment and try again"),
            )
        return SshAddress(address, 22, AWS_USER, instance["InstanceId"])


_KINDS: dict[str, type[Cloud]] = {kind.name: kind for kind in (LocalCloud, AwsCloud)}


def kind_of(cloud: str | None) -> type[Cloud]:
    """The kind of the cloud ``--cloud`` (else ``$INTROAWS_CLOUD``, else ``local``) names,
    known without starting anything."""
    return _KINDS[cloud_name(cloud)]


def cloud_name(cloud: str | None) -> str:
    """``--cloud``, else ``$INTROAWS_CLOUD``, else ``local``."""
    chosen = (cloud or os.environ.get("INTROAWS_CLOUD") or "local").lower()
    if chosen not in CLOUDS:
        raise UsageError(_("unknown cloud '{chosen}'").format(chosen=chosen), _("use --cloud local or --cloud aws"))
    return chosen


def resolve(cloud: str | None, profile: str | None = None, region: str | None = None) -> Target:
    """Turn the global options into a target; starts the local cloud when it is the target."""
    chosen = cloud_name(cloud)
    if chosen == "local":
        from introaws.localcloud import daemon

        return Target("local", region or LOCAL_REGION, endpoint_url=daemon.ensure_running())
    return Target("aws", region or _aws_default_region(profile), profile=profile)


def _aws_default_region(profile: str | None) -> str:
    import boto3
    import botocore.exceptions

    try:
        region = boto3.Session(profile_name=profile).region_name
    except botocore.exceptions.ProfileNotFound as exc:
        raise UsageError(str(exc), _("check --profile against ~/.aws/config")) from exc
    if not region:
        raise UsageError(
            _("no AWS region configured"),
            _("pass --region (the course uses ap-northeast-1) or run 'aws configure'"),
        )
    return region
