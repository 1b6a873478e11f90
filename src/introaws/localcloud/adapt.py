"""Every adaptation to moto's gaps, in one place, each small and tested on its own.

Everything runs inside the daemon, live and during journal replay alike (so replayed state
matches), whoever the client is:

* **adjustments of moto's classes**, made once at start (:func:`install`);
* **preparations and fix-ups** just before and after moto answers a request, doing what moto
  leaves undone;
* **template adaptations**: a template a client sends is bent to moto's shape before moto reads
  it (:func:`for_moto`). Stacks and clients stay correct for real AWS; only moto's copy changes.

Each gap has a strict xfail test against released moto (``tests/test_moto_gaps.py``), so an
upgrade of moto shows which of these can go.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlparse
from xml.sax.saxutils import escape

from introaws.localcloud import answers, limits
from introaws.localcloud.requests import Recorded

# The account moto answers as; the local cloud has exactly one.
LOCAL_ACCOUNT = "123456789012"

Template = dict[str, Any]


# --- moto's classes, adjusted once when the daemon starts ---------------------------------


def install() -> None:
    """Adjust moto's classes where a request-level fix cannot reach (idempotent)."""
    make_backend_creation_deterministic()
    replace_instances_on_stack_update()
    refuse_resources_beyond_limits()


class ResourceRefused(Exception):
    """A stack's resource that the service behind it refuses (its message is the event's reason)."""


def refuse_resources_beyond_limits() -> None:
    """moto's CloudFormation creates resources that AWS's services refuse (a Fargate task
    definition with a size not in the table, a Lambda function with a 901 s timeout); check each
    resource's resolved properties against :mod:`limits` as it is created or updated, so the
    deploy fails on it with the service's message, as on AWS."""
    from moto.cloudformation import parsing

    original = parsing.parse_resource_and_generate_name
    if getattr(original, "introaws_limits", False):
        return

    def checked(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> Any:
        parsed = original(logical_id, resource_json, resources_map)
        if parsed:
            resolved = parsed[1]
            reason = limits.resource_refusal(resolved.get("Type", ""), resolved.get("Properties") or {})
            if reason:
                resources_map.introaws_refused = logical_id  # named by the failed event
                raise ResourceRefused(reason)
        return parsed

    checked.introaws_limits = True  # type: ignore[attr-defined]
    parsing.parse_resource_and_generate_name = checked


def replace_instances_on_stack_update() -> None:
    """moto cannot update an ``AWS::EC2::Instance`` in a stack (it drops it from the stack,
    and outputs that read it fail); replace it instead: a new instance, the old one terminated.
    CloudFormation replaces an instance for some property changes and only restarts it for
    others; on the local cloud a new instance is the closest simple equivalent."""
    from moto.ec2.models.instances import Instance

    if "update_from_cloudformation_json" in Instance.__dict__:
        return

    def update(
        cls: type[Instance],
        original_resource: Instance,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Instance:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.ec2_backend.terminate_instances([original_resource.id])
        return replacement

    Instance.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]


def make_backend_creation_deterministic() -> None:
    """moto creates a region's backend on first use and draws ids for what it holds from the
    start (EC2's default VPC, subnets, groups) from the shared random stream. Whether that first
    use is an unjournaled read before a request (live) or the journaled request itself (replay)
    would shift every id the request makes, so an instance would come back under another id.
    Create each backend from a seed of its own and leave the request's stream untouched."""
    from moto.core.base_backend import AccountSpecificBackend
    from moto.moto_api._internal import mock_random

    original = AccountSpecificBackend.__getitem__
    if getattr(original, "introaws_deterministic", False):
        return

    def getitem(self: AccountSpecificBackend, region_name: str) -> Any:
        if region_name in self.keys() or (region_name == "global" and "aws" in self.keys()):
            return original(self, region_name)
        state = mock_random.getstate()
        mock_random.seed(f"{self.service_name}/{self.account_id}/{region_name}")
        try:
            return original(self, region_name)
        finally:
            mock_random.setstate(state)

    getitem.introaws_deterministic = True  # type: ignore[attr-defined]
    AccountSpecificBackend.__getitem__ = getitem  # type: ignore[method-assign]


# --- preparations before moto ------------------------------------------------------------


def before_moto(request: Recorded) -> None:
    """Prepare moto's state for this request's operation, if it needs it (live and in replay)."""
    prepare = _PREPARATIONS.get((request.service, request.action))
    if prepare is not None:
        prepare(request)


def remove_stack_route_tables(request: Recorded) -> None:
    """moto cannot delete a stack's route tables, so the VPC they belong to refuses to go
    (DependencyViolation); drop them, with their associations, before the stack is deleted."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.route_tables import RouteTable

    stack = _stack(request)
    if stack is None:
        return
    ec2 = ec2_backends[LOCAL_ACCOUNT][_region(request)]
    for _, resource in stack.resource_map.items():
        if isinstance(resource, RouteTable) and resource.main_association_id is None:
            resource._associations.clear()
            ec2.route_tables.pop(resource.id, None)


_PREPARATIONS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "DeleteStack"): remove_stack_route_tables,
}


# --- fix-ups after moto -------------------------------------------------------------------


def after_moto(request: Recorded, status: int, error: str | None = None) -> bool:
    """Run the fix-up for this request's operation, if any. True when moto's failure became the
    state of what the request acted on (a stack rolled back), as AWS reports it: the request
    itself then succeeded."""
    key = (request.service, request.action)
    if error is not None:
        on_failure = _FAILURE_FIXUPS.get(key)
        return on_failure(request, error) if on_failure is not None else False
    if status >= 400:
        return False
    fixup = _FIXUPS.get(key)
    if fixup is not None:
        fixup(request)
    return False


def _region(request: Recorded) -> str:
    return request.region


def _change_set_and_stack(request: Recorded) -> tuple[Any, Any] | None:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[LOCAL_ACCOUNT][_region(request)]
    params = request.params()
    name, stack = params.get("ChangeSetName", ""), params.get("StackName", "")
    change_set = backend.change_sets.get(name) or next(  # an ARN, or a name within the request's stack
        (
            cs
            for cs in backend.change_sets.values()
            if cs.change_set_name == name and stack in (cs.stack_id, backend.stacks[cs.stack_id].name)
        ),
        None,
    )
    if change_set is None:
        return None
    return change_set, backend.stacks[change_set.stack_id]


def fail_change_set_execution(request: Recorded, error: str) -> bool:
    """moto raises out of a failing change set and leaves the stack "in progress" for ever;
    end it the way CloudFormation would: a failed event with the reason, then rolled back."""
    found = _change_set_and_stack(request)
    if found is None:
        return False
    change_set, stack = found
    created = set(stack.resource_map._parsed_resources)
    declared = change_set.template_dict.get("Resources", {})
    refused = vars(stack.resource_map).pop("introaws_refused", None)
    failed = refused or next((logical for logical in declared if logical not in created), stack.name)
    _mark_failed(change_set, stack, failed, error)
    return True


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


def _event(
    stack: Any, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str | None = None
) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _mark_failed(change_set: Any, stack: Any, logical_id: str, reason: str) -> None:
    creating = change_set.change_set_type == "CREATE"
    declared = change_set.template_dict.get("Resources", {})
    _event(
        stack,
        logical_id,
        "",
        declared.get(logical_id, {}).get("Type", ""),
        "CREATE_FAILED" if creating else "UPDATE_FAILED",
        reason,
    )
    stack.status = "ROLLBACK_COMPLETE" if creating else "UPDATE_ROLLBACK_COMPLETE"
    # Resources never created must not be created later, lazily, by a describe or a delete.
    created = set(stack.resource_map._parsed_resources)
    for pending in [k for k in stack.resource_map._resource_json_map if k not in created]:
        del stack.resource_map._resource_json_map[pending]
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)  # a failed stack has none
    _event(stack, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", stack.status)
    change_set.execution_status = "EXECUTE_FAILED"


def keep_key_pair_public_key(request: Recorded) -> None:
    """moto makes a created key pair's keys with the OS's randomness, which replay cannot
    reseed: the replayed pair would get another public key and lock its private key out of
    every instance. Journal the public half (never the private one) and restore it on replay."""
    from moto.ec2.models import ec2_backends

    name = request.params().get("KeyName", "")
    pair = ec2_backends[LOCAL_ACCOUNT][_region(request)].key_pairs.get(name)
    if pair is None:
        return
    kept = request.extra.get("key_pair")
    if kept:  # replay: the pair as it was first made
        pair.material_public = kept["public_key"].encode()
        pair.key_fingerprint = kept["fingerprint"]
        pair.material = b""  # the private key was handed out once and is not kept
    else:
        request.extra["key_pair"] = {"public_key": pair.material_public.decode(), "fingerprint": pair.key_fingerprint}


def keep_launch_times(request: Recorded) -> None:
    """moto stamps an instance with the time it was made, which on replay is the restart:
    journal the launch times the request gave and restore them on replay, so an instance's age
    and time to live survive a restart."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[LOCAL_ACCOUNT][request.region]
    instances = {i.id: i for r in backend.reservations.values() for i in r.instances}
    kept = request.extra.get("launch_times")
    if kept is not None:  # replay
        for instance_id, stamp in kept.items():
            if instance_id in instances:
                instances[instance_id].launch_time = datetime.fromisoformat(stamp)
    else:
        request.extra["launch_times"] = {
            i.id: i.launch_time.isoformat() for i in instances.values() if i.state != "terminated"
        }


def _change_set(request: Recorded) -> Any:
    found = _change_set_and_stack(request)
    return found[0] if found else None


def order_change_set_resources(request: Recorded) -> None:
    """moto adds a change set's resources in template order, ignoring ``DependsOn`` (an API
    Gateway deployment then comes before its methods and fails); put them in dependency order."""
    change_set = _change_set(request)
    if change_set is None:
        return
    resources = change_set.template_dict.get("Resources", {})
    ordered: dict[str, Any] = {}

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if logical_id in ordered or logical_id in path or logical_id not in resources:
            return
        for dependency in sorted(_dependencies(resources[logical_id])):
            visit(dependency, path + (logical_id,))
        ordered[logical_id] = resources[logical_id]

    for logical_id in resources:
        visit(logical_id, ())
    change_set.template_dict["Resources"] = ordered


def _dependencies(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn", [])
    found = {depends} if isinstance(depends, str) else set(depends)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("Ref"), str):
                found.add(node["Ref"])
            if isinstance(node.get("Fn::GetAtt"), list) and node["Fn::GetAtt"]:
                found.add(node["Fn::GetAtt"][0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(resource.get("Properties", {}))
    return found


def create_api_gateway_extras(request: Recorded) -> None:
    """moto's CloudFormation skips ``AWS::ApiGateway::Stage`` and ``GatewayResponse`` and drops
    a method's integration responses (the CORS preflight's headers); create them as API
    Gateway would. A stage's ``Ref`` then resolves to its name, as on AWS."""
    from moto.apigateway.models import apigateway_backends

    deployed = _deployed(request)
    if deployed is None:
        return
    declared, stack = deployed
    backend = apigateway_backends[LOCAL_ACCOUNT][_region(request)]
    resource_map = stack.resource_map
    for logical_id, resource in declared.items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        api_id = _physical(resource_map, props.get("RestApiId"))
        if api_id is None or api_id not in backend.apis:
            continue
        if kind == "AWS::ApiGateway::Stage":
            name = props["StageName"]
            if name not in backend.apis[api_id].stages:
                backend.create_stage(
                    api_id,
                    name,
                    _physical(resource_map, props.get("DeploymentId")) or "",
                    variables=props.get("Variables"),
                )
            resource_map._parsed_resources[logical_id] = name
        elif kind == "AWS::ApiGateway::GatewayResponse":
            backend.put_gateway_response(
                api_id,
                props["ResponseType"],
                props.get("StatusCode"),
                props.get("ResponseParameters", {}),
                props.get("ResponseTemplates", {}),
            )
        elif kind == "AWS::ApiGateway::Method":
            resource_id = _physical(resource_map, props.get("ResourceId")) or ""
            for response in props.get("Integration", {}).get("IntegrationResponses", []):
                backend.put_integration_response(
                    api_id,
                    resource_id,
                    props["HttpMethod"],
                    str(response["StatusCode"]),
                    response.get("SelectionPattern", ""),
                    response.get("ResponseTemplates", {}),
                    response.get("ResponseParameters", {}),
                )


def _physical(resource_map: Any, value: Any) -> str | None:
    """A property (``Ref``, ``Fn::GetAtt``, …) resolved to a physical id among a stack's resources."""
    from moto.cloudformation.parsing import clean_json

    try:
        resolved = clean_json(value, resource_map)
    except KeyError:
        return None
    return resolved if isinstance(resolved, str) or resolved is None else getattr(resolved, "id", None)


def apply_bucket_websites(request: Recorded) -> None:
    """moto's CloudFormation ignores a bucket's ``WebsiteConfiguration``; put it on the bucket."""
    from moto.s3.models import s3_backends

    deployed = _deployed(request)
    if deployed is None:
        return
    declared, stack = deployed
    for logical_id, resource in declared.items():
        website = resource.get("Properties", {}).get("WebsiteConfiguration")
        if resource.get("Type") != "AWS::S3::Bucket" or not website:
            continue
        bucket = _physical(stack.resource_map, {"Ref": logical_id})
        if bucket:
            s3_backends[LOCAL_ACCOUNT]["aws"].put_bucket_website(bucket, _website_xml(website))


def _website_xml(website: dict[str, Any]) -> bytes:
    parts = ['<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    if website.get("IndexDocument"):
        parts.append(f"<IndexDocument><Suffix>{escape(website['IndexDocument'])}</Suffix></IndexDocument>")
    if website.get("ErrorDocument"):
        parts.append(f"<ErrorDocument><Key>{escape(website['ErrorDocument'])}</Key></ErrorDocument>")
    parts.append("</WebsiteConfiguration>")
    return "".join(parts).encode()


def _deployed(request: Recorded) -> tuple[dict[str, Any], Any] | None:
    """(declared resources, stack) of a stack change: an executed change set, or a stack
    created or updated directly."""
    if request.action == "ExecuteChangeSet":
        change_set = _change_set(request)
        return (change_set.template_dict.get("Resources", {}), change_set.stack) if change_set else None
    stack = _stack(request)
    return (stack.template_dict.get("Resources", {}), stack) if stack else None


def _stack(request: Recorded) -> Any:
    """The live stack a request names (by name or id), or None."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[LOCAL_ACCOUNT][_region(request)]
    name = request.params().get("StackName", "")
    return next(
        (s for s in backend.stacks.values() if name in (s.name, s.stack_id) and s.status != "DELETE_COMPLETE"), None
    )


def fix_stack_change(request: Recorded) -> None:
    """A stack created or changed (by change set or directly): what moto left undone."""
    create_api_gateway_extras(request)  # first: a stage's Ref must resolve in the outputs
    apply_bucket_websites(request)
    fix_change_set_outputs(request)
    keep_launch_times(request)
    fix_task_definitions(request)
    deployed = _deployed(request)
    if deployed is not None:
        declared, stack = deployed
        answers.complete_stack_resources(stack, declared)
        change_set = _change_set(request)
        sent = change_set.introaws_client_template if change_set else client_template(request)
        stack.introaws_client_template = sent


def fix_change_set(request: Recorded) -> None:
    """A change set created: resources in dependency order, what it replaces, and the
    template the client sent (for ``GetTemplate``)."""
    order_change_set_resources(request)
    change_set = _change_set(request)
    if change_set is not None:
        answers.describe_replacements(change_set)
        change_set.introaws_client_template = client_template(request)


def fix_task_definitions(request: Recorded) -> None:
    """moto registers a CloudFormation task definition with its containers only (no cpu,
    compatibilities or roles) and, on update, with un-camelCased container definitions;
    re-apply the template's resolved properties, as ECS would hold them. The network mode
    stays moto's: its ``awsvpc`` RunTask path fails (an ENI without ``private_dns_name``)."""
    from moto.cloudformation.parsing import clean_json
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import TaskDefinition

    stack = _stack(request)
    if stack is None:
        return
    declared = stack.template_dict.get("Resources", {})
    for logical_id, resource in declared.items():
        if resource.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        task_definition = stack.resource_map[logical_id]
        if not isinstance(task_definition, TaskDefinition):
            continue
        properties = clean_json(resource.get("Properties", {}), stack.resource_map)
        containers = remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase)
        defaults = {
            "cpu": 0,
            "portMappings": [],
            "essential": True,
            "environment": [],
            "mountPoints": [],
            "volumesFrom": [],
        }
        task_definition.container_definitions = [{**defaults, **c} for c in containers]
        task_definition.cpu = properties.get("Cpu")
        task_definition.memory = properties.get("Memory")
        compatibilities = properties.get("RequiresCompatibilities")
        task_definition.requires_compatibilities = compatibilities
        if compatibilities and "FARGATE" in compatibilities:
            task_definition.compatibilities = ["EC2", "FARGATE"]
        for key, attribute in (("TaskRoleArn", "task_role_arn"), ("ExecutionRoleArn", "execution_role_arn")):
            if properties.get(key):
                setattr(task_definition, attribute, properties[key])


_FIXUPS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "CreateChangeSet"): fix_change_set,
    ("cloudformation", "ExecuteChangeSet"): fix_stack_change,
    ("cloudformation", "CreateStack"): fix_stack_change,
    ("cloudformation", "UpdateStack"): fix_stack_change,
    ("ec2", "RunInstances"): keep_launch_times,
    ("ec2", "CreateKeyPair"): keep_key_pair_public_key,
}
_FAILURE_FIXUPS: dict[tuple[str, str], Callable[[Recorded, str], bool]] = {
    ("cloudformation", "ExecuteChangeSet"): fail_change_set_execution,
}


# --- template adaptations, inside the daemon, before moto reads a template -------------------

# The operations that hand CloudFormation a template (in ``TemplateBody`` or ``TemplateURL``).
TEMPLATE_OPERATIONS = ("CreateChangeSet", "CreateStack", "UpdateStack")


def for_moto(request: Recorded) -> Recorded:
    """The request as moto should see it: a template a client sends (any client: introaws, the
    AWS CLI, boto3) adapted to what moto can deploy, passed inline. The journal keeps the
    client's request; replay adapts it again, the same way."""
    if request.service != "cloudformation" or request.action not in TEMPLATE_OPERATIONS:
        return request
    text = client_template(request)
    if text is None:
        return request
    try:
        from moto.cloudformation.models import Stack

        template = Stack.parse_template(text)
    except ValueError:
        return request  # not a template: moto answers with its own error
    if not isinstance(template, dict):
        return request
    form = [(k, v) for k, v in parse_qsl(request.body_text_if_form(), keep_blank_values=True) if k != "TemplateURL"]
    form = [(k, v) for k, v in form if k != "TemplateBody"] + [("TemplateBody", json.dumps(adapt_template(template)))]
    return dataclasses.replace(request, body=urlencode(form).encode())


def client_template(request: Recorded) -> str | None:
    """The template text a CloudFormation request carries, inline or in this cloud's S3."""
    form = request.params()
    if form.get("TemplateBody"):
        return form["TemplateBody"]
    if not form.get("TemplateURL"):
        return None
    from moto.s3.models import s3_backends

    bucket, key = _s3_location(form["TemplateURL"])
    try:
        found = s3_backends[LOCAL_ACCOUNT]["aws"].get_object(bucket, key)
    except Exception:  # no such bucket: moto answers CloudFormation's error itself
        return None
    return found.value.decode("utf-8") if found is not None else None


def _s3_location(url: str) -> tuple[str, str]:
    """(bucket, key) of an S3 URL: virtual-hosted (``bucket.s3.region.amazonaws.com/key``) or
    path-style (``s3.region.amazonaws.com/bucket/key``, or this cloud's own address)."""
    parts = urlparse(url)
    host, path = parts.hostname or "", unquote(parts.path.lstrip("/"))
    virtual = re.match(r"(.+)\.s3[.-]", host) if host.endswith(".amazonaws.com") else None
    if virtual:
        return virtual.group(1), path
    bucket, _, key = path.partition("/")
    return bucket, key


def adapt_template(template: Template) -> Template:
    """A copy of ``template`` bent to what moto can deploy."""
    adapted = copy.deepcopy(template)
    for adapt in _TEMPLATE_ADAPTATIONS:
        adapt(adapted)
    return adapted


# Zone letters every region moto knows starts with; CDK selects by index from ``Fn::GetAZs``.
_ZONE_LETTERS = ("a", "c", "d")


def zones_of_deploy_region(template: Template) -> None:
    """moto answers ``Fn::GetAZs ""`` with us-east-1's zones whatever the stack's region;
    name the deploy region's zones instead (``${AWS::Region}a``, ...)."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::GetAZs"} and node["Fn::GetAZs"] in ("", {"Ref": "AWS::Region"}):
                return [{"Fn::Sub": f"${{AWS::Region}}{letter}"} for letter in _ZONE_LETTERS]
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(value) for value in node]
        return node

    for section in ("Resources", "Outputs"):
        if section in template:
            template[section] = rewrite(template[section])


# The one public image parameter family moto ships values for (per region).
_MOTO_KNOWN_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def known_image_for_public_ami_parameters(template: Template) -> None:
    """moto ships only the Amazon Linux "latest AMI" parameters; any other public AMI
    parameter (the Deep Learning AMI's) resolves to moto's Amazon Linux image instead. On the
    local cloud the image is only a name: the box is this machine."""
    for parameter in template.get("Parameters", {}).values():
        default = parameter.get("Default")
        if (
            str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>")
            and isinstance(default, str)
            and default.startswith("/aws/service/")
            and not default.startswith("/aws/service/ami-amazon-linux-latest/")
        ):
            parameter["Default"] = _MOTO_KNOWN_AMI_PARAMETER


def upper_case_batch_environment_type(template: Template) -> None:
    """CloudFormation accepts ``Type: managed``; moto's Batch insists on ``MANAGED``."""
    for resource in _resources_of_type(template, "AWS::Batch::ComputeEnvironment"):
        properties = resource.get("Properties", {})
        if isinstance(properties.get("Type"), str):
            properties["Type"] = properties["Type"].upper()


BATCH_SERVICE_ROLE_ID = "IntroawsLocalBatchServiceRole"


def explicit_batch_service_role(template: Template) -> None:
    """AWS uses its service-linked role when ``ServiceRole`` is absent; moto requires one."""
    environments = [
        r
        for r in _resources_of_type(template, "AWS::Batch::ComputeEnvironment")
        if "ServiceRole" not in r.get("Properties", {})
    ]
    if not environments:
        return
    template["Resources"][BATCH_SERVICE_ROLE_ID] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "batch.amazonaws.com"}}
                ],
            }
        },
    }
    for resource in environments:
        resource.setdefault("Properties", {})["ServiceRole"] = {"Fn::GetAtt": [BATCH_SERVICE_ROLE_ID, "Arn"]}


def ref_instead_of_batch_get_att(template: Template) -> None:
    """moto's Batch resources answer no ``Fn::GetAtt``; their ``Ref`` is the same ARN."""
    batch_ids = {
        k for k, v in template.get("Resources", {}).items() if str(v.get("Type", "")).startswith("AWS::Batch::")
    }

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


def give_containers_memory(template: Template) -> None:
    """moto sums container memory limits to place a task and fails on a Fargate container
    that has none (the task-level ``Memory`` suffices on AWS): give it the task's."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        properties = resource.get("Properties", {})
        task_memory = properties.get("Memory")
        for container in properties.get("ContainerDefinitions", []):
            if "Memory" not in container and "MemoryReservation" not in container and task_memory:
                container["Memory"] = int(task_memory)


def lower_case_ecr_repository_name(template: Template) -> None:
    """CloudFormation generates lower-case ECR names; moto generates mixed case and then
    rejects it. Name unnamed repositories after their logical id, lower-cased."""
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::ECR::Repository":
            properties = resource.setdefault("Properties", {})
            properties.setdefault("RepositoryName", f"introaws-{logical_id.lower()}")


def _resources_of_type(template: Template, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template.get("Resources", {}).values() if r.get("Type") == resource_type]


def complete_mock_integrations(template: Template) -> None:
    """moto's ``AWS::ApiGateway::Method`` requires ``IntegrationHttpMethod`` and ``Uri``, which a
    ``MOCK`` integration (the CORS preflight) does not have on AWS."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::ApiGateway::Method":
            continue
        integration = resource.get("Properties", {}).get("Integration")
        if integration is not None:
            integration.setdefault("IntegrationHttpMethod", resource["Properties"].get("HttpMethod", "ANY"))
            integration.setdefault("Uri", "")


_TEMPLATE_ADAPTATIONS: list[Callable[[Template], None]] = [
    zones_of_deploy_region,
    give_containers_memory,
    upper_case_batch_environment_type,
    explicit_batch_service_role,
    ref_instead_of_batch_get_att,
    lower_case_ecr_repository_name,
    complete_mock_integrations,
    known_image_for_public_ami_parameters,
]
