"""The runtime: what makes emulated resources really run on this machine.

Each runtime module (ECS tasks, Batch jobs, Lambda functions, API Gateway, S3 websites, EC2
instances over sshd) provides a :class:`~introaws.localcloud.front.Hook` that the front asks
first about every request. A hook reads what was deployed from moto itself (boto3 calls to
``ctx.endpoint``, or ``ctx.forward``) and keeps whatever state of its own it needs under
``ctx.state_dir``. Hooks are built once the daemon's port is known, after journal replay, and
are told to stop when the daemon stops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from introaws.localcloud.front import Hook, Reply
    from introaws.localcloud.requests import Recorded


@dataclass
class RuntimeContext:
    state_dir: Path  # the daemon's state directory; runtimes keep files under state_dir/runtime/
    endpoint: str  # this daemon's own endpoint, for boto3 calls and child processes
    forward: Callable[[Recorded], Reply]  # call moto directly (journaled like any request)

    def call(self, service: str, region: str, target: str, payload: dict[str, Any]) -> Reply:
        """A JSON-protocol AWS call (``target`` like ``Logs_20140328.PutLogEvents``) answered
        in-process: journaled like any request, without boto3's serializing or an HTTP round
        trip, for what the daemon does often (shipping Lambda logs)."""
        from introaws.localcloud.requests import Recorded

        return self.forward(Recorded.json_call(service, region, target, json.dumps(payload).encode()))

    def runtime_dir(self, name: str) -> Path:
        path = self.state_dir / "runtime" / name
        path.mkdir(parents=True, exist_ok=True)
        return path


# Each runtime is imported only when the daemon builds its hooks (they pull in their own
# dependencies). Hands-on runtimes add their constructor to HOOK_FACTORIES.


def _ec2(ctx: RuntimeContext) -> Hook:
    from introaws.localcloud.runtime.ec2 import Ec2Runtime

    return Ec2Runtime(ctx)


def _ecs(ctx: RuntimeContext) -> Hook:
    from introaws.localcloud.runtime.ecs import EcsRuntime

    return EcsRuntime(ctx)


def _batch(ctx: RuntimeContext) -> Hook:
    from introaws.localcloud.runtime.batch import BatchRuntime

    return BatchRuntime(ctx)


def _serverless(ctx: RuntimeContext) -> Hook:
    from introaws.localcloud.runtime.serverless import Serverless

    return Serverless(ctx)


# The order the front asks them in.
HOOK_FACTORIES: list[Callable[[RuntimeContext], Hook]] = [_ec2, _ecs, _batch, _serverless]


def build_hooks(ctx: RuntimeContext) -> list[Hook]:
    return [factory(ctx) for factory in HOOK_FACTORIES]
