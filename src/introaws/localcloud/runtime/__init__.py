"""The runtime: what makes emulated resources really run on this machine.

One hook, :class:`Runtime`, sits in front of moto. It answers the runtime's own endpoints
(``/_introaws/workers``, ``/_introaws/credentials``), then asks each runtime part in turn (EC2
instances over sshd, ECS tasks, Batch jobs, and the serverless part: Lambda functions, API
Gateway, S3 websites). After a request that can start or remove resources (a stack created,
updated or deleted, a function, cluster or queue deleted, instances started or ended) every
part reconciles what runs with what moto now holds, so nothing keeps running for a resource
that is gone. A stack delete removes its resources inside moto without a request per resource,
and moto leaves some of them in place (ECS clusters, Batch queues and job definitions): so the
stack's resources are read before it is deleted and handed to the parts as :class:`Removed`.

The parts share a :class:`RuntimeContext`: in-process boto3 clients on moto (the one way the
daemon calls moto), the workload executor (starting processes, credentials, limits, logs, the
CPU budget) and each part's state folder under ``state_dir/runtime/``. Parts are built once the
daemon's port is known, after journal replay, and are told to stop when the daemon stops.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from introaws.localcloud.runtime.credentials import CREDENTIALS_PATH, Credentials, CredentialsEndpoint

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.identity.principals import Principals
    from introaws.localcloud.requests import Recorded
    from introaws.localcloud.runtime.executor import Executor

WORKERS_PATH = "/_introaws/workers"
_FOLLOWED = {
    "cloudformation": {"CreateStack", "UpdateStack", "DeleteStack", "ExecuteChangeSet"},
    "ec2": {"RunInstances", "TerminateInstances", "StartInstances", "StopInstances"},
}
_BATCH_REMOVALS = {
    "deletejobqueue",
    "updatejobqueue",
    "deletecomputeenvironment",
    "updatecomputeenvironment",
    "deregisterjobdefinition",
}


class RuntimeContext:
    """What every runtime part shares."""

    def __init__(
        self, state_dir: Path, endpoint: str, forward: Callable[[Recorded], Reply], principals: Principals
    ) -> None:
        from introaws.localcloud.runtime.executor import Executor
        from introaws.localcloud.runtime.inprocess import InProcessClients
        from introaws.localcloud.runtime.logs import LogShipper

        self.state_dir = state_dir  # the daemon's state directory
        self.endpoint = endpoint  # this daemon's own endpoint, for child processes
        self.forward = forward  # moto directly (journaled like any request)
        self.principals = principals  # the keys the daemon knows, workloads' among them
        self.clients = InProcessClients(endpoint, forward)
        self.logs = LogShipper(self.clients)
        self.credentials = CredentialsEndpoint(endpoint, self.workload_credentials, principals.revoke, os.devnull)
        self.executor: Executor = Executor(endpoint, self.credentials, self.logs, self.runtime_dir(""))

    def client(self, service: str, region: str) -> Any:
        """A boto3 client on moto, answered in-process (see :mod:`.inprocess`)."""
        return self.clients.client(service, region)

    def workload_credentials(
        self, role_arn: str, session_name: str, grant: str, lifetime_s: float | None = None, durable: bool = False
    ) -> Credentials:
        """The credentials a workload running as ``role_arn`` gets: the one place that decides
        (ECS task role, Batch job role, Lambda execution role, EC2 instance profile role).
        Keys issued for the role (session ``session_name``), ended with ``grant``."""
        issued = self.principals.issue(role_arn, session_name, grant, lifetime_s=lifetime_s, durable=durable)
        expiration = datetime.fromtimestamp(issued.expires, UTC) if issued.expires else None
        return Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token, expiration, role_arn)

    def runtime_dir(self, name: str) -> Path:
        path = self.state_dir / "runtime" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stop(self) -> None:
        self.executor.stop()
        self.logs.stop()


@dataclass(frozen=True)
class Removed:
    """The physical ids (names or ARNs) of what the request removed, as far as known."""

    ids: frozenset[str] = frozenset()

    def __contains__(self, identifier: object) -> bool:
        text = str(identifier)
        return text in self.ids or text.rsplit("/", 1)[-1] in self.ids


class Part(Protocol):
    """A runtime part. ``handle`` answers a request itself (or returns None to let it through;
    ``forward`` calls moto); ``follow_up`` sees every successful request that can start or
    remove resources, after moto has answered; ``stop`` ends what the part runs."""

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None: ...

    def follow_up(self, request: Recorded, removed: Removed) -> None: ...

    def stop(self) -> None: ...


def changes_resources(request: Recorded) -> bool:
    """Can this request start or remove something a runtime part runs?"""
    service = request.service
    if service in _FOLLOWED:
        return request.action in _FOLLOWED[service]
    if service == "ecs":
        return request.action.startswith(("Delete", "Deregister"))
    if service == "batch":
        return request.path.rstrip("/").rsplit("/", 1)[-1].lower() in _BATCH_REMOVALS
    if service == "lambda":
        return request.method == "DELETE" and request.path.startswith("/2015-03-31/functions/")
    return False


class Runtime:
    """The one hook the front asks (see the module's doc)."""

    def __init__(self, ctx: RuntimeContext, parts: list[Part]) -> None:
        self.ctx, self.parts = ctx, parts

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None:
        if request.path.startswith("/_introaws/"):
            own = self._own_endpoint(request)
            if own is not None:
                return own
        reply = None
        for part in self.parts:
            reply = part.handle(request, forward)
            if reply is not None:
                break
        if not changes_resources(request):
            return reply
        removed = self._stack_resources(request) if reply is None else Removed()
        if reply is None:
            reply = forward(request)
        if reply.status < 400:
            for part in self.parts:
                part.follow_up(request, removed)
        return reply

    def stop(self) -> None:
        for part in self.parts:
            part.stop()
        self.ctx.stop()

    def _stack_resources(self, request: Recorded) -> Removed:
        """For a ``DeleteStack``: the physical ids of the stack's resources, read before moto
        deletes it."""
        if (request.service, request.action) != ("cloudformation", "DeleteStack"):
            return Removed()
        name = (parse_qs(request.body_text_if_form() or request.query).get("StackName") or [""])[0]
        try:
            found = self.ctx.client("cloudformation", request.region).describe_stack_resources(StackName=name)
        except Exception:  # no such stack: moto answers the delete itself
            return Removed()
        return Removed(
            frozenset(r["PhysicalResourceId"] for r in found["StackResources"] if r.get("PhysicalResourceId"))
        )

    def _own_endpoint(self, request: Recorded) -> Reply | None:
        from introaws.localcloud.front import Reply

        if request.path == CREDENTIALS_PATH and request.method == "GET":
            status, body = self.ctx.credentials.answer(request.headers.get("HTTP_AUTHORIZATION", ""))
            return Reply.json(body, status)
        if request.path == WORKERS_PATH and request.method == "GET":
            executor = self.ctx.executor
            return Reply.json({"workers": executor.workers(), "runtime": executor.capabilities()})
        return None


def build_hooks(ctx: RuntimeContext) -> list[Runtime]:
    """The runtime as the front's hooks (each part imported only now: they pull in their own
    dependencies)."""
    from introaws.localcloud.runtime.batch import BatchRuntime
    from introaws.localcloud.runtime.ec2 import Ec2Runtime
    from introaws.localcloud.runtime.ecs import EcsRuntime
    from introaws.localcloud.runtime.serverless import Serverless

    return [Runtime(ctx, [Ec2Runtime(ctx), EcsRuntime(ctx), BatchRuntime(ctx), Serverless(ctx)])]
