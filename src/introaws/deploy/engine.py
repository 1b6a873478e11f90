"""Deploy and destroy a hands-on's stack through CloudFormation change sets.

``deploy``: synth (cached) -> compare with what is deployed (identical: done, nothing
created) -> change set (the plan; a dry run shows it and deletes it) -> publish assets ->
execute, streaming stack events -> outputs. ``destroy``: pre-delete hooks, delete, wait.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from introaws.deploy import assets, hooks, synth
from introaws.deploy.stackinfo import StackInfo, describe
from introaws.errors import Conflict, DeployFailed
from introaws.progress import Event, Reporter, silent
from introaws.stacks import ASSETS_BUCKET, TAG_KEY, HandsOn
from introaws.target import Target

# CloudFormation refuses a TemplateBody over this size; larger ones go through S3.
TEMPLATE_BODY_LIMIT = 51_200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Change:
    action: str  # Add | Modify | Remove
    logical_id: str
    resource_type: str
    replacement: str = ""  # True | False | Conditional, for a Modify

    @property
    def verb(self) -> str:
        """What the change does, as ``cdk diff`` says it: a modification that recreates is a Replace."""
        return "Replace" if self.action == "Modify" and self.replacement == "True" else self.action


@dataclass
class DeployResult:
    stack: str
    status: str
    outputs: dict[str, str]
    changes: list[Change] = field(default_factory=list)
    executed: bool = False
    up_to_date: bool = False
    synth_cache_hit: bool = False


def deploy(
    target: Target,
    hands_on: HandsOn,
    params: dict[str, Any] | None = None,
    *,
    dry_run: bool = False,
    report: Reporter = silent,
) -> DeployResult:
    report(Event("step", f"synthesizing {hands_on.stack_name}"))
    synthesized = synth.synthesize(hands_on, params)
    report(Event("info", "template from cache" if synthesized.cache_hit else "template synthesized"))
    template = synthesized.template

    existing = describe(target, hands_on.stack_name)
    if existing and existing.busy:
        raise Conflict(
            f"stack {existing.name} is busy ({existing.status})",
            "wait for it to finish, then run the command again",
        )
    if existing and existing.status == "ROLLBACK_COMPLETE":
        report(Event("step", f"removing {existing.name}, left over from a failed create"))
        _delete_and_wait(target, existing.name, report)
        existing = None
    creating = existing is None or existing.status == "REVIEW_IN_PROGRESS"
    tags = [{"Key": TAG_KEY, "Value": hands_on.name}]

    if not creating and existing and _deployed_matches(target, existing, template):
        return DeployResult(
            existing.name, existing.status, existing.outputs, up_to_date=True, synth_cache_hit=synthesized.cache_hit
        )

    body = json.dumps(template, sort_keys=True)
    template_arg: dict[str, str]
    if len(body) > TEMPLATE_BODY_LIMIT:
        url = assets.upload_template(
            target,
            ASSETS_BUCKET,
            f"templates/{hands_on.stack_name}-{synth.cache_key(hands_on, params or {})}.json",
            body.encode(),
        )
        template_arg = {"TemplateURL": url}
    else:
        template_arg = {"TemplateBody": body}

    cfn = target.client("cloudformation")
    change_set_name = f"introaws-{int(time.time() * 1000)}"
    report(Event("step", "creating change set"))
    cfn.create_change_set(
        StackName=hands_on.stack_name,
        ChangeSetName=change_set_name,
        ChangeSetType="CREATE" if creating else "UPDATE",
        Capabilities=CAPABILITIES,
        Tags=tags,
        **template_arg,
    )
    described = _wait_change_set(target, hands_on.stack_name, change_set_name)
    if described is None:  # nothing to change
        return DeployResult(
            hands_on.stack_name,
            existing.status if existing else "",
            existing.outputs if existing else {},
            up_to_date=True,
            synth_cache_hit=synthesized.cache_hit,
        )
    changes = [_change(c) for c in described.get("Changes", [])]

    if dry_run:
        cfn.delete_change_set(StackName=hands_on.stack_name, ChangeSetName=change_set_name)
        if creating:
            _delete_and_wait(target, hands_on.stack_name, silent)
        return DeployResult(hands_on.stack_name, "DRY_RUN", {}, changes, synth_cache_hit=synthesized.cache_hit)

    assets.publish(target, synthesized.assets, report)
    report(Event("step", f"deploying {hands_on.stack_name} ({len(changes)} changes)"))
    started = time.time()
    try:
        cfn.execute_change_set(StackName=hands_on.stack_name, ChangeSetName=change_set_name)
    except cfn.exceptions.ClientError as exc:
        failed = describe(target, hands_on.stack_name)
        if failed and ("ROLLBACK" in failed.status or "FAILED" in failed.status):
            raise _failure(target, failed, hands_on) from exc
        raise DeployFailed(
            f"deploying {hands_on.stack_name} failed: {exc.response['Error'].get('Message', exc)}",
            f"run 'introaws {hands_on.name} down' to clean up, then try again with --debug",
        ) from exc
    final = _wait_stack(target, hands_on.stack_name, started, report)
    if not final.status.endswith("_COMPLETE") or "ROLLBACK" in final.status:
        raise _failure(target, final, hands_on)
    return DeployResult(
        final.name, final.status, final.outputs, changes, executed=True, synth_cache_hit=synthesized.cache_hit
    )


def destroy(target: Target, hands_on: HandsOn, report: Reporter = silent) -> bool:
    """Delete the hands-on's stack and everything in it; False when there was none."""
    existing = describe(target, hands_on.stack_name)
    if existing is None:
        return False
    if existing.busy and not existing.status.startswith("DELETE"):
        raise Conflict(f"stack {existing.name} is busy ({existing.status})", "wait, then run down again")
    cfn = target.client("cloudformation")
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=existing.name):
        for resource in page["StackResourceSummaries"]:
            hook = hooks.PRE_DELETE.get(resource["ResourceType"])
            physical = resource.get("PhysicalResourceId")
            if hook and physical and resource["ResourceStatus"] != "DELETE_COMPLETE":
                hook(target, physical, report)
    report(Event("step", f"deleting {existing.name}"))
    _delete_and_wait(target, existing.name, report)
    return True


def _delete_and_wait(target: Target, stack_name: str, report: Reporter) -> None:
    cfn = target.client("cloudformation")
    started = time.time()
    cfn.delete_stack(StackName=stack_name)
    while True:
        info = describe(target, stack_name)
        if info is None:
            return
        if info.status == "DELETE_FAILED":
            reason = _first_failure(target, stack_name, started)
            raise DeployFailed(
                f"deleting {stack_name} failed: {reason}",
                "remove the resource named there by hand (or fix its cause), then run down again",
            )
        time.sleep(_poll_interval(target))


def _deployed_matches(target: Target, existing: StackInfo, template: dict[str, Any]) -> bool:
    body = target.client("cloudformation").get_template(StackName=existing.name)["TemplateBody"]
    deployed = json.loads(body) if isinstance(body, str) else body
    return json.loads(json.dumps(deployed)) == json.loads(json.dumps(template))


def _wait_change_set(target: Target, stack_name: str, name: str) -> dict[str, Any] | None:
    cfn = target.client("cloudformation")
    while True:
        described = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return described
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if any(marker in reason for marker in _NO_CHANGES):
                cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
                return None
            raise DeployFailed(
                f"the change set for {stack_name} failed: {reason}", "fix the template parameters and try again"
            )
        time.sleep(_poll_interval(target))


def _wait_stack(target: Target, stack_name: str, started: float, report: Reporter) -> StackInfo:
    cfn = target.client("cloudformation")
    seen: set[str] = set()
    while True:
        info = describe(target, stack_name)
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        for event in reversed(events):
            if event["EventId"] in seen or event["Timestamp"].timestamp() < started - 5:
                continue
            seen.add(event["EventId"])
            report(
                Event(
                    "resource",
                    f"{event['LogicalResourceId']} {event['ResourceStatus']}",
                    {
                        "logical_id": event["LogicalResourceId"],
                        "type": event.get("ResourceType", ""),
                        "status": event["ResourceStatus"],
                        "reason": event.get("ResourceStatusReason") or "",
                    },
                )
            )
        if info is None or not info.status.endswith("_IN_PROGRESS"):
            if info is None:
                raise DeployFailed(f"stack {stack_name} disappeared while deploying", "run up again")
            return info
        time.sleep(_poll_interval(target))


def _first_failure(target: Target, stack_name: str, started: float) -> str:
    events = target.client("cloudformation").describe_stack_events(StackName=stack_name)["StackEvents"]
    for event in reversed(events):
        if event["ResourceStatus"].endswith("_FAILED") and event["Timestamp"].timestamp() >= started - 5:
            return (
                f"{event['LogicalResourceId']} ({event.get('ResourceType', '')}): "
                f"{event.get('ResourceStatusReason') or 'no reason given'}"
            )
    return "no failed resource reported"


def _failure(target: Target, final: StackInfo, hands_on: HandsOn) -> DeployFailed:
    reason = _first_failure(target, final.name, 0)
    return DeployFailed(
        f"{final.name} ended {final.status}; first failure: {reason}",
        f"fix the cause, then run 'introaws {hands_on.name} up' again "
        f"(or 'introaws {hands_on.name} down' to remove it)",
    )


def _change(raw: dict[str, Any]) -> Change:
    detail = raw.get("ResourceChange", {})
    return Change(
        action=detail.get("Action", ""),
        logical_id=detail.get("LogicalResourceId", ""),
        resource_type=detail.get("ResourceType", ""),
        replacement=detail.get("Replacement", "") or "",
    )


def _poll_interval(target: Target) -> float:
    return 0.2 if target.is_local else 3.0
