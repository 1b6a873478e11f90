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


# --- preparations before moto ------------------------------------------------------------


def before_moto(request: Recorded) -> None:
    """Prepare moto's state for this request's operation, if it needs it (live and in replay)."""
    prepare = _PREPARATIONS.get((request.service, request.action))
    if prepare is not None:
        prepare(request)


def remove_stack_route_tables(request: Recorded) -> None:
    """moto cannot delete a stack's route tables, so the VPC they belong to refuses to go
    (DependencyViolation); drop them, with their associations, before the stack is deleted."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.route_tables import RouteTable

    name = _form(request).get("StackName", "")
    region = _region(request)
    stacks = cloudformation_backends[LOCAL_ACCOUNT][region].stacks.values()
    stack = next((s for s in stacks if name in (s.name, s.stack_id) and s.status != "DELETE_COMPLETE"), None)
    if stack is None:
        return
    ec2 = ec2_backends[LOCAL_ACCOUNT][region]
    for _, resource in stack.resource_map.items():
        if isinstance(resource, RouteTable) and resource.main_association_id is None:
            resource._associations.clear()
            ec2.route_tables.pop(resource.id, None)


_PREPARATIONS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "DeleteStack"): remove_stack_route_tables,
}


# --- fix-ups after moto -------------------------------------------------------------------


def after_moto(request: Recorded, status: int) -> None:
    """Run the fix-up for this request's operation, if any."""
    if status >= 400:
        return
    fixup = _FIXUPS.get((request.service, request.action))
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


def fix_change_set_outputs(request: Recorded) -> None:
    """moto applies a change set's resources but never recomputes the stack's outputs,
    and records no per-resource events; do both, as CloudFormation would."""
    from moto.cloudformation.models import Event, cloudformation_backends

    params = _form(request)
    backend = cloudformation_backends[LOCAL_ACCOUNT][_region(request)]
    name = params.get("ChangeSetName", "")
    change_set = backend.change_sets.get(name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == name), None
    )
    if change_set is None:
        return
    stack = backend.stacks[change_set.stack_id]
    stack._parse_template()  # moto keeps the pre-change-set (empty) template parsed
    stack.output_map = stack._create_output_map()
    verb = "CREATE" if change_set.change_set_type == "CREATE" else "UPDATE"
    final = stack.events.pop() if stack.events else None
    declared = change_set.template_dict.get("Resources", {})
    for logical_id, resource in stack.resource_map.items():
        physical = getattr(resource, "physical_resource_id", None) or logical_id
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=str(physical),
                resource_type=declared.get(logical_id, {}).get("Type", ""),
                resource_status=f"{verb}_COMPLETE",
                resource_status_reason=None,
                resource_properties=None,
            )
        )
    if final is not None:
        stack.events.append(final)


_FIXUPS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "ExecuteChangeSet"): fix_change_set_outputs,
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


def upper_case_batch_environment_type(template: Template) -> None:
    """CloudFormation accepts ``Type: managed``; moto's Batch insists on ``MANAGED``."""
    for resource in _resources_of_type(template, "AWS::Batch::ComputeEnvironment"):
        properties = resource.get("Properties", {})
        if isinstance(properties.get("Type"), str):
            properties["Type"] = properties["Type"].upper()


BATCH_SERVICE_ROLE_ID = "IntroawsLocalBatchServiceRole"


def explicit_batch_service_role(template: Template) -> None:
    """AWS uses its service-linked role when ``ServiceRole`` is absent; moto requires one."""
    environments = [r for r in _resources_of_type(template, "AWS::Batch::ComputeEnvironment")
                    if "ServiceRole" not in r.get("Properties", {})]
    if not environments:
        return
    template["Resources"][BATCH_SERVICE_ROLE_ID] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "batch.amazonaws.com"}}],
        }},
    }
    for resource in environments:
        resource.setdefault("Properties", {})["ServiceRole"] = {"Fn::GetAtt": [BATCH_SERVICE_ROLE_ID, "Arn"]}


def ref_instead_of_batch_get_att(template: Template) -> None:
    """moto's Batch resources answer no ``Fn::GetAtt``; their ``Ref`` is the same ARN."""
    batch_ids = {k for k, v in template.get("Resources", {}).items()
                 if str(v.get("Type", "")).startswith("AWS::Batch::")}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            get_att = node.get("Fn::GetAtt")
            if len(node) == 1 and isinstance(get_att, list) and get_att and get_att[0] in batch_ids:
                return {"Ref": get_att[0]}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for section in ("Resources", "Outputs"):
        if section in template:
            template[section] = rewrite(template[section])


def lower_case_ecr_repository_name(template: Template) -> None:
    """CloudFormation generates lower-case ECR names; moto generates mixed case and then
    rejects it. Name unnamed repositories after their logical id, lower-cased."""
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::ECR::Repository":
            properties = resource.setdefault("Properties", {})
            properties.setdefault("RepositoryName", f"introaws-{logical_id.lower()}")


def _resources_of_type(template: Template, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template.get("Resources", {}).values() if r.get("Type") == resource_type]


_TEMPLATE_ADAPTATIONS: list[Callable[[Template], None]] = [
    drop_cdk_metadata,
    upper_case_batch_environment_type,
    explicit_batch_service_role,
    ref_instead_of_batch_get_att,
    lower_case_ecr_repository_name,
]
