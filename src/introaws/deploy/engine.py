"""Deploy and destroy a hands-on's stack through CloudFormation change sets.

``deploy``: synth (cached) -> bring the stack to a state that takes a change set (the table in
:mod:`introaws.deploy.states`: follow a running operation, continue a failed rollback, delete a
failed create, remove change sets an interrupted run left) -> compare with what is deployed
(identical: done, nothing created) -> change set (the plan; a dry run shows it and deletes it)
-> publish assets -> execute, streaming this deploy's events -> outputs. ``destroy``: pre-delete
hooks, delete, stream the delete's events until it ends or times out, naming what blocks it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from introaws.deploy import assets, hooks, states, synth
from introaws.deploy.events import EventCursor, describe_event, report_events
from introaws.deploy.stackinfo import StackInfo, describe
from introaws.deploy.states import Action
from introaws.errors import Conflict, DeployFailed
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.stacks import ASSETS_BUCKET, TAG_KEY, HandsOn
from introaws.target import Target

# CloudFormation refuses a TemplateBody over this size; larger ones go through S3.
TEMPLATE_BODY_LIMIT = 51_200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
CHANGE_SET_PREFIX = "introaws-"
# A delete that takes longer is reported with what it waits on (CloudFormation goes on).
DELETE_TIMEOUT_S = 30 * 60
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# What CloudFormation says when a network interface (Lambda, Batch, Fargate) holds a subnet
# or security group: they are released minutes after their owner is gone.
_ENI_MARKERS = ("network interface", "DependencyViolation", "has dependencies")


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


class _TimedOut(Exception):
    """A followed operation did not end in time (CloudFormation goes on with it)."""


class _WouldRecreate(Exception):
    """A dry run met a stack that ``up`` deletes before creating it anew."""


def deploy(
    target: Target,
    hands_on: HandsOn,
    params: dict[str, Any] | None = None,
    *,
    dry_run: bool = False,
    wait: bool = True,
    report: Reporter = silent,
) -> DeployResult:
    """Create or update the hands-on's stack. ``wait=False`` refuses a stack that is busy and
    returns once the change set is executing."""
    report(Event("step", _("synthesizing {stack_name}").format(stack_name=hands_on.stack_name)))
    synthesized = synth.synthesize(hands_on, params)
    report(Event("info", _("template from cache") if synthesized.cache_hit else _("template synthesized")))
    template = synthesized.template

    cfn = target.client("cloudformation")
    try:
        existing = _ready_for_change_set(target, hands_on, dry_run=dry_run, wait=wait, report=report)
    except _WouldRecreate:
        return DeployResult(
            hands_on.stack_name, "DRY_RUN", {}, _planned_create(template), synth_cache_hit=synthesized.cache_hit
        )
    creating = existing is None
    tags = [{"Key": TAG_KEY, "Value": hands_on.name}]

    if (
        not creating
        and existing
        and existing.status.endswith("_COMPLETE")
        and _deployed_matches(target, existing, template)
    ):
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

    change_set_name = f"{CHANGE_SET_PREFIX}{int(time.time() * 1000)}"
    report(Event("step", _("creating change set")))
    created = cfn.create_change_set(
        StackName=hands_on.stack_name,
        ChangeSetName=change_set_name,
        ChangeSetType="CREATE" if creating else "UPDATE",
        Capabilities=CAPABILITIES,
        Tags=tags,
        **template_arg,
    )
    stack_id = created.get("StackId") or hands_on.stack_name
    # By its ARN from here on: a name is unique only within its stack, and moto looks a name up
    # across all stacks (two hands-ons deployed in the same millisecond got each other's).
    change_set = created.get("Id") or change_set_name
    described = _wait_change_set(target, stack_id, change_set)
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
        cfn.delete_change_set(StackName=stack_id, ChangeSetName=change_set)
        if creating:
            _delete_quietly(target, stack_id)
        return DeployResult(hands_on.stack_name, "DRY_RUN", {}, changes, synth_cache_hit=synthesized.cache_hit)

    assets.publish(target, synthesized.assets, report)
    report(
        Event(
            "step",
            _("deploying {stack_name} ({changes_count} changes)").format(
                stack_name=hands_on.stack_name, changes_count=len(changes)
            ),
        )
    )
    cursor = EventCursor.from_now(cfn, stack_id)
    try:
        cfn.execute_change_set(StackName=stack_id, ChangeSetName=change_set)
    except cfn.exceptions.ClientError as exc:
        report_events(cursor.read(), report)
        failed = describe(target, stack_id)
        if failed and ("ROLLBACK" in failed.status or "FAILED" in failed.status):
            raise _failure(failed, cursor, hands_on) from exc
        raise DeployFailed(
            _("deploying {stack_name} failed: {reason}").format(
                stack_name=hands_on.stack_name, reason=exc.response["Error"].get("Message", exc)
            ),
            _("run 'introaws {name} down' to clean up, then try again with --debug").format(name=hands_on.name),
        ) from exc
    if not wait:
        running = describe(target, stack_id)
        report(
            Event(
                "info",
                _("{stack_name} is deploying; see 'introaws {name} status'").format(
                    stack_name=hands_on.stack_name, name=hands_on.name
                ),
            )
        )
        return DeployResult(
            hands_on.stack_name,
            running.status if running else "",
            running.outputs if running else {},
            changes,
            executed=True,
            synth_cache_hit=synthesized.cache_hit,
        )
    final = _follow(target, cursor, report)
    if final is None:
        raise DeployFailed(
            _("stack {stack_name} disappeared while deploying").format(stack_name=hands_on.stack_name),
            _("run up again"),
        )
    if not final.status.endswith("_COMPLETE") or "ROLLBACK" in final.status:
        raise _failure(final, cursor, hands_on)
    return DeployResult(
        final.name, final.status, final.outputs, changes, executed=True, synth_cache_hit=synthesized.cache_hit
    )


def _ready_for_change_set(
    target: Target, hands_on: HandsOn, *, dry_run: bool, wait: bool, report: Reporter
) -> StackInfo | None:
    """Act on the stack's state (the table's ``up`` column) until it takes a change set: the
    stack to update, or None to create one. A dry run that would re-create raises _WouldRecreate."""
    existing = describe(target, hands_on.stack_name)
    while existing is not None:
        action = states.row(existing.status, existing.name).up
        if action is Action.FOLLOW:
            existing = _follow_other(target, existing, hands_on, wait, report)
        elif action is Action.CONTINUE_ROLLBACK:
            existing = _continue_rollback(target, existing, hands_on, dry_run or not wait, report)
        elif action is Action.RECREATE:
            if dry_run:
                report(
                    Event(
                        "warning",
                        _("{name} is {status}: up deletes it, then creates it").format(
                            name=existing.name, status=existing.status
                        ),
                    )
                )
                raise _WouldRecreate
            report(
                Event(
                    "step",
                    _("removing {name} ({status}) before creating it again").format(
                        name=existing.name, status=existing.status
                    ),
                )
            )
            _teardown(target, existing, hands_on, report)
            existing = None
        elif action is Action.REFUSE:
            raise Conflict(
                _("stack {name} is {status}: introaws cannot update it").format(
                    name=existing.name, status=existing.status
                ),
                _("continue or cancel that operation in the CloudFormation console, or 'introaws {name} down'").format(
                    name=hands_on.name
                ),
            )
        else:  # UPDATE
            _remove_stale_change_sets(target.client("cloudformation"), existing.stack_id, report)
            return existing
    return None


def destroy(
    target: Target,
    hands_on: HandsOn,
    report: Reporter = silent,
    *,
    wait: bool = True,
    timeout_s: float = DELETE_TIMEOUT_S,
) -> bool:
    """Delete the hands-on's stack and everything in it; False when there was none.

    ``wait=False`` refuses a stack busy with another operation and returns once the delete
    has started; ``timeout_s`` bounds the wait for the delete (CloudFormation goes on)."""
    existing = describe(target, hands_on.stack_name)
    while existing is not None:
        action = states.row(existing.status, existing.name).down
        if action is Action.NOTHING:
            return False
        if action is Action.FOLLOW and existing.status == "DELETE_IN_PROGRESS":
            report(Event("step", _("{name} is already being deleted").format(name=existing.name)))
            if wait:
                _finish_delete(
                    target,
                    EventCursor.from_now(target.client("cloudformation"), existing.stack_id),
                    existing,
                    hands_on,
                    timeout_s,
                    report,
                )
            return True
        if action is Action.FOLLOW:
            existing = _follow_other(target, existing, hands_on, wait, report)
            continue
        if action is Action.RETRY_DELETE:
            report(
                Event(
                    "warning",
                    _("an earlier delete of {name} failed, leaving {leftovers}; deleting again").format(
                        name=existing.name, leftovers=_leftovers_text(target, existing)
                    ),
                )
            )
        _teardown(target, existing, hands_on, report, wait=wait, timeout_s=timeout_s)
        return True
    return False


def _teardown(
    target: Target,
    info: StackInfo,
    hands_on: HandsOn,
    report: Reporter,
    *,
    wait: bool = True,
    timeout_s: float = DELETE_TIMEOUT_S,
) -> None:
    """Empty what CloudFormation cannot delete while it holds data, delete, follow the delete."""
    cfn = target.client("cloudformation")
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=info.stack_id):
        for resource in page["StackResourceSummaries"]:
            hook = hooks.PRE_DELETE.get(resource["ResourceType"])
            physical = resource.get("PhysicalResourceId")
            if hook and physical and resource["ResourceStatus"] != "DELETE_COMPLETE":
                hook(target, physical, report)
    report(Event("step", _("deleting {name}").format(name=info.name)))
    cursor = EventCursor.from_now(cfn, info.stack_id)
    cfn.delete_stack(StackName=info.stack_id)
    if not wait:
        report(
            Event(
                "info",
                _("{stack} is being deleted; see 'introaws {name} status'").format(stack=info.name, name=hands_on.name),
            )
        )
        return
    _finish_delete(target, cursor, info, hands_on, timeout_s, report)


def _finish_delete(
    target: Target, cursor: EventCursor, info: StackInfo, hands_on: HandsOn, timeout_s: float, report: Reporter
) -> None:
    try:
        final = _follow(target, cursor, report, timeout_s)
    except _TimedOut:
        waiting = ", ".join(
            f"{e['LogicalResourceId']} ({e.get('ResourceType', '')})" for e in cursor.still_in_progress()
        )
        raise DeployFailed(
            _("{name} is still being deleted after {minutes:.0f} min").format(name=info.name, minutes=timeout_s / 60)
            + (_(", waiting on {resources}").format(resources=waiting) if waiting else ""),
            _(
                "CloudFormation goes on by itself: check with 'introaws {name} status' and run 'introaws "
                "{name} down' again later"
            ).format(name=hands_on.name),
        ) from None
    if final is None:
        return
    if final.status == "DELETE_FAILED":
        left = _leftovers(target, final)
        text = "; ".join(left) or final.reason or _("CloudFormation gave no reason")
        eni = any(marker.lower() in text.lower() for marker in _ENI_MARKERS)
        raise DeployFailed(
            _("deleting {name} failed; left: {text}").format(name=final.name, text=text),
            _(
                "a network interface (from Lambda, Batch or Fargate) still holds it; they are released minutes "
                "after their owner is gone: run 'introaws {name} down' again in a few minutes, or delete the "
                "interface in the EC2 console (Network Interfaces)"
            ).format(name=hands_on.name)
            if eni
            else _("remove or fix what is named there, then run 'introaws {name} down' again").format(
                name=hands_on.name
            ),
        )
    raise DeployFailed(
        _("deleting {name} ended {status}").format(name=final.name, status=final.status),
        _("run 'introaws {name} down' again").format(name=hands_on.name),
    )


def _leftovers(target: Target, info: StackInfo) -> list[str]:
    """The resources a failed delete left, each with CloudFormation's reason."""
    cfn = target.client("cloudformation")
    return [
        describe_event(r)
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=info.stack_id)
        for r in page["StackResourceSummaries"]
        if r["ResourceStatus"] == "DELETE_FAILED"
    ]


def _leftovers_text(target: Target, info: StackInfo) -> str:
    return "; ".join(_leftovers(target, info)) or _("resources CloudFormation did not name")


def _follow_other(target: Target, info: StackInfo, hands_on: HandsOn, wait: bool, report: Reporter) -> StackInfo | None:
    """Another operation is running on the stack: follow it to its end (or refuse, not waiting)."""
    cfn = target.client("cloudformation")
    cursor = EventCursor.from_now(cfn, info.stack_id)
    if not wait:
        latest = cfn.describe_stack_events(StackName=info.stack_id)["StackEvents"][:1]
        last = (
            _("; last event: {resource} {status}").format(
                resource=latest[0]["LogicalResourceId"], status=latest[0]["ResourceStatus"]
            )
            if latest
            else ""
        )
        raise Conflict(
            _("stack {name} is busy: {status}{last}").format(name=info.name, status=info.status, last=last),
            _("wait for it to end (see 'introaws {name} status'), or run without --no-wait to follow it").format(
                name=hands_on.name
            ),
        )
    report(Event("step", _("{name} is {status}: following it to its end").format(name=info.name, status=info.status)))
    return _follow(target, cursor, report)


def _continue_rollback(
    target: Target, info: StackInfo, hands_on: HandsOn, refuse: bool, report: Reporter
) -> StackInfo | None:
    """UPDATE_ROLLBACK_FAILED takes no update until its rollback is continued (and succeeds)."""
    if refuse:
        raise Conflict(
            _("stack {name} is {status}: its last update could not be rolled back").format(
                name=info.name, status=info.status
            ),
            _(
                "run 'introaws {name} up' without --dry-run or --no-wait (it continues the rollback "
                "first), or 'introaws {name} down'"
            ).format(name=hands_on.name),
        )
    cfn = target.client("cloudformation")
    report(Event("step", _("{name} is {status}: continuing its rollback").format(name=info.name, status=info.status)))
    cursor = EventCursor.from_now(cfn, info.stack_id)
    cfn.continue_update_rollback(StackName=info.stack_id)
    final = _follow(target, cursor, report)
    if final is not None and final.status == "UPDATE_ROLLBACK_FAILED":
        failed = cursor.first_failure()
        skip = f" --resources-to-skip {failed['LogicalResourceId']}" if failed else ""
        raise DeployFailed(
            _("the rollback of {name} failed again: {reason}").format(
                name=info.name, reason=describe_event(failed) if failed else final.reason
            ),
            _(
                "fix that cause and run 'introaws {name} up' again; or skip the resource with 'aws "
                "cloudformation continue-update-rollback --stack-name {stack}{skip}'; or remove the stack "
                "with 'introaws {name} down'"
            ).format(name=hands_on.name, stack=info.name, skip=skip),
        )
    return final


def _remove_stale_change_sets(cfn: Any, stack_id: str, report: Reporter) -> None:
    """Change sets an interrupted ``up`` left behind (introaws's, not executing) are removed."""
    for page in cfn.get_paginator("list_change_sets").paginate(StackName=stack_id):
        for summary in page.get("Summaries", []):
            if summary["ChangeSetName"].startswith(CHANGE_SET_PREFIX) and (
                summary.get("ExecutionStatus") != "EXECUTE_IN_PROGRESS"
            ):
                cfn.delete_change_set(StackName=stack_id, ChangeSetName=summary["ChangeSetId"])
                report(
                    Event(
                        "info",
                        _("removed change set {change_set}, left by an interrupted run").format(
                            change_set=summary["ChangeSetName"]
                        ),
                    )
                )


def _delete_quietly(target: Target, stack_id: str) -> None:
    """Remove the empty stack a dry run's CREATE change set made."""
    cfn = target.client("cloudformation")
    cfn.delete_stack(StackName=stack_id)
    while (info := describe(target, stack_id)) is not None and info.busy:
        time.sleep(target.poll_interval)


def _planned_create(template: dict[str, Any]) -> list[Change]:
    return [
        Change("Add", logical_id, resource.get("Type", ""))
        for logical_id, resource in template.get("Resources", {}).items()
    ]


def _deployed_matches(target: Target, existing: StackInfo, template: dict[str, Any]) -> bool:
    body = target.client("cloudformation").get_template(StackName=existing.stack_id or existing.name)["TemplateBody"]
    deployed = json.loads(body) if isinstance(body, str) else body
    return json.loads(json.dumps(deployed)) == json.loads(json.dumps(template))


def _wait_change_set(target: Target, stack_id: str, name: str) -> dict[str, Any] | None:
    cfn = target.client("cloudformation")
    while True:
        described = cfn.describe_change_set(StackName=stack_id, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return described
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if any(marker in reason for marker in _NO_CHANGES):
                cfn.delete_change_set(StackName=stack_id, ChangeSetName=name)
                return None
            raise DeployFailed(
                _("the change set for {stack} failed: {reason}").format(
                    stack=described.get("StackName", stack_id), reason=reason
                ),
                _("fix the template parameters and try again"),
            )
        time.sleep(target.poll_interval)


def _follow(target: Target, cursor: EventCursor, report: Reporter, timeout_s: float | None = None) -> StackInfo | None:
    """Report the stack's new events until its operation ends; the final state (None: gone)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        report_events(cursor.read(), report)
        info = describe(target, cursor.stack_id)
        if info is None or not info.busy:
            report_events(cursor.read(), report)  # those written with the final state
            return info
        if deadline is not None and time.monotonic() >= deadline:
            raise _TimedOut
        time.sleep(target.poll_interval)


def _failure(final: StackInfo, cursor: EventCursor, hands_on: HandsOn) -> DeployFailed:
    failed = cursor.first_failure()
    reason = describe_event(failed) if failed else (final.reason or _("no failed resource reported"))
    return DeployFailed(
        _("{name} ended {status}; first failure: {reason}").format(name=final.name, status=final.status, reason=reason),
        _("fix the cause, then run 'introaws {name} up' again (or 'introaws {name} down' to remove it)").format(
            name=hands_on.name
        ),
    )


def _change(raw: dict[str, Any]) -> Change:
    detail = raw.get("ResourceChange", {})
    return Change(
        action=detail.get("Action", ""),
        logical_id=detail.get("LogicalResourceId", ""),
        resource_type=detail.get("ResourceType", ""),
        replacement=detail.get("Replacement", "") or "",
    )
