"""Reading stacks back: status, outputs, tags. Plain data, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from introaws.stacks import TAG_KEY
from introaws.target import Target


@dataclass
class StackInfo:
    name: str
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None
    reason: str | None = None
    stack_id: str = ""  # the ARN: names this stack, not a later one of the same name

    @property
    def hands_on(self) -> str | None:
        return self.tags.get(TAG_KEY)

    @property
    def busy(self) -> bool:
        return self.status.endswith("_IN_PROGRESS") and self.status != "REVIEW_IN_PROGRESS"

    @classmethod
    def from_api(cls, stack: dict[str, Any]) -> StackInfo:
        return cls(
            name=stack["StackName"],
            status=stack["StackStatus"],
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []},
            tags={t["Key"]: t["Value"] for t in stack.get("Tags") or []},
            created=stack.get("CreationTime"),
            reason=stack.get("StackStatusReason"),
            stack_id=stack.get("StackId", ""),
        )


def describe(target: Target, stack_name: str) -> StackInfo | None:
    """The stack (by name, or by id) as CloudFormation sees it, or None when there is none
    (deleted counts as none)."""
    cfn = target.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except cfn.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return StackInfo.from_api(live[0]) if live else None


def introaws_stacks(target: Target) -> list[StackInfo]:
    """Every live stack on the target that introaws created (tagged ``introaws:hands-on``)."""
    found = []
    for page in target.client("cloudformation").get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            info = StackInfo.from_api(stack)
            if info.hands_on and info.status != "DELETE_COMPLETE":
                found.append(info)
    return sorted(found, key=lambda s: s.name)
