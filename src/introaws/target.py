"""Where the work goes: ``--cloud local|aws`` resolved, in one place, into boto3 clients.

Workflows only ever call :meth:`Target.client`; the local cloud and AWS differ in the
endpoint and credentials alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from introaws.errors import UsageError

if TYPE_CHECKING:
    import boto3

CLOUDS = ("local", "aws")
LOCAL_REGION = "ap-northeast-1"
# The local cloud accepts any credentials; fixed ones keep real keys out of its journal.
LOCAL_CREDENTIALS = {"aws_access_key_id": "introaws", "aws_secret_access_key": "introaws-local"}


@dataclass
class Target:
    cloud: str
    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    poll_s: float | None = None  # seconds between polls of long operations (default: by cloud)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.cloud == "local"

    @property
    def poll_interval(self) -> float:
        """How often to ask about a running operation: the local cloud answers at once."""
        if self.poll_s is not None:
            return self.poll_s
        return 0.2 if self.is_local else 3.0

    @cached_property
    def session(self) -> boto3.Session:
        import boto3

        if self.is_local:
            return boto3.Session(region_name=self.region, **LOCAL_CREDENTIALS)
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str, *, region: str | None = None, optional: bool = False) -> Any:
        """A boto3 client on this target's endpoint (one per kind, reused). ``region``: a service
        answered in one region only (the Pricing API); ``optional``: an answer introaws can do
        without, so short time-outs and one try instead of minutes of retries."""
        key = f"{service}@{region or self.region}{'?' if optional else ''}"
        if key not in self._clients:
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": 1 if optional else 5, "mode": "standard"},
                s3={"addressing_style": "path"} if self.is_local else {},
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
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        if self.is_local:
            env.update(
                AWS_ACCESS_KEY_ID=LOCAL_CREDENTIALS["aws_access_key_id"],
                AWS_SECRET_ACCESS_KEY=LOCAL_CREDENTIALS["aws_secret_access_key"],
                AWS_ENDPOINT_URL=self.endpoint_url or "",
            )
        elif self.profile:
            env["AWS_PROFILE"] = self.profile
        return env


def resolve(cloud: str | None, profile: str | None = None, region: str | None = None) -> Target:
    """Turn the global options into a target; starts the local cloud when it is the target."""
    chosen = (cloud or os.environ.get("INTROAWS_CLOUD") or "local").lower()
    if chosen not in CLOUDS:
        raise UsageError(f"unknown cloud '{chosen}'", "use --cloud local or --cloud aws")
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
        raise UsageError(str(exc), "check --profile against ~/.aws/config") from exc
    if not region:
        raise UsageError(
            "no AWS region configured",
            "pass --region (the course uses ap-northeast-1) or run 'aws configure'",
        )
    return region
