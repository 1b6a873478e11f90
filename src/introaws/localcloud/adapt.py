"""Every adaptation to moto's gaps, in one place, each small and tested on its own.

Two kinds live here:

* **fix-ups** run inside the daemon right after moto answered a request (live and during
  journal replay alike, so replayed state matches), repairing what moto leaves undone;
* **template adaptations** rewrite a synthesized template before it is deployed to the local
  cloud. Stacks stay correct for real AWS; only the local copy is bent to moto's shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from introaws.localcloud.requests import Recorded

# The account moto answers as; the local cloud has exactly one.
LOCAL_ACCOUNT = "123456789012"

Template = dict[str, Any]


# --- fix-ups after moto -------------------------------------------------------------------


def after_moto(request: Recorded, status: int, error: str | None = None) -> None:
    """Run the fix-up for this request's operation, if any."""
    key = (request.service, request.action)
    if error is not None:
        on_failure = _FAILURE_FIXUPS.get(key)
        if on_failure is not None:
            on_failure(request, error)
        return
    if status >= 400:
        return
    fixup = _FIXUPS.get(key)
    if fixup is not None:
        fixup(request)


def _form(request: Recorded) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body_text_if_form() or request.query).items()}


def _region(request: Recorded) -> str:
    auth = request.headers.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split(",")[0].split()[1].split("/")[2]
    except IndexError:
        return "us-east-1"


def _change_set_and_stack(request: Recorded) -> tuple[Any, Any] | None:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[LOCAL_ACCOUNT][_region(request)]
    name = _form(request).get("ChangeSetName", "")
    change_set = backend.change_sets.get(name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == name), None
    )
    if change_set is None:
        return None
    return change_set, backend.stacks[change_set.stack_id]


def fail_change_set_execution(request: Recorded, error: str) -> None:
    """moto raises out of a failing change set and leaves the stack "in progress" for ever;
    end it the way CloudFormation would: a failed event with the reason, then rolled back."""
    found = _change_set_and_stack(request)
    if found is None:
        return
    change_set, stack = found
    created = set(stack.resource_map._parsed_resources)
    declared = change_set.template_dict.get("Resources", {})
    failed = next((logical for logical in declared if logical not in created), stack.name)
    _mark_failed(change_set, stack, failed, error)


def fix_change_set_outputs(request: Recorded) -> None:
    """moto applies a change set lazily, never recomputes the stack's outputs and records no
    per-resource events. Create each resource now, in template order, as CloudFormation
    would: an event per resource, the outputs, or a failed event and a rolled-back stack."""
    found = _change_set_and_stack(request)
    if found is None:
        return
    change_set, stack = found
    verb = "CREATE" if change_set.change_set_type == "CREATE" else "UPDATE"
    final = stack.events.pop() if stack.events else None
    declared = change_set.template_dict.get("Resources", {})
    for logical_id, spec in declared.items():
        try:
            resource = stack.resource_map[logical_id]
        except Exception as exc:  # whatever moto raised is the resource's failure reason
            _mark_failed(change_set, stack, logical_id, f"{type(exc).__name__}: {exc}")
            return
        physical = getattr(resource, "physical_resource_id", None) or logical_id
        _event(stack, logical_id, str(physical), spec.get("Type", ""), f"{verb}_COMPLETE")
    stack._parse_template()  # moto keeps the pre-change-set (empty) template parsed
    stack.output_map = stack._create_output_map()
    if final is not None:
        stack.events.append(final)


def _event(stack: Any, logical_id: str, physical_id: str, resource_type: str, status: str,
           reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical_id, resource_type=resource_type, resource_status=status,
        resource_status_reason=reason, resource_properties=None,
    ))


def _mark_failed(change_set: Any, stack: Any, logical_id: str, reason: str) -> None:
    creating = change_set.change_set_type == "CREATE"
    declared = change_set.template_dict.get("Resources", {})
    _event(stack, logical_id, "", declared.get(logical_id, {}).get("Type", ""),
           "CREATE_FAILED" if creating else "UPDATE_FAILED", reason)
    stack.status = "ROLLBACK_COMPLETE" if creating else "UPDATE_ROLLBACK_COMPLETE"
    # Resources never created must not be created later, lazily, by a describe or a delete.
    created = set(stack.resource_map._parsed_resources)
    for pending in [k for k in stack.resource_map._resource_json_map if k not in created]:
        del stack.resource_map._resource_json_map[pending]
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)  # a failed stack has none
    _event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", stack.status)
    change_set.execution_status = "EXECUTE_FAILED"


_FIXUPS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "ExecuteChangeSet"): fix_change_set_outputs,
}
_FAILURE_FIXUPS: dict[tuple[str, str], Callable[[Recorded, str], None]] = {
    ("cloudformation", "ExecuteChangeSet"): fail_change_set_execution,
}


# --- template adaptations before deploy ---------------------------------------------------


def adapt_template(template: Template) -> Template:
    """A copy of ``template`` bent to what moto can deploy."""
    adapted = copy.deepcopy(template)
    for adapt in _TEMPLATE_ADAPTATIONS:
        adapt(adapted)
    return adapted


def drop_cdk_metadata(template: Template) -> None:
    """``AWS::CDK::Metadata`` is an analytics resource moto does not know."""
    resources = template.get("Resources", {})
    for logical_id in [k for k, v in resources.items() if v.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    conditions = template.get("Conditions", {})
    conditions.pop("CDKMetadataAvailable", None)


_TEMPLATE_ADAPTATIONS: list[Callable[[Template], None]] = [drop_cdk_metadata]
