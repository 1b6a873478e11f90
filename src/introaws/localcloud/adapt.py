"""Every adaptation to moto's gaps, in one place, each small and tested on its own.

Three kinds live here:

* **fix-ups** run inside the daemon right after moto answered a request (live and during
  journal replay alike, so replayed state matches), repairing what moto leaves undone;
* **template adaptations** rewrite a synthesized template before it is deployed to the local
  cloud. Stacks stay correct for real AWS; only the local copy is bent to moto's shape;
* **speed-ups** of moto hot paths that answer byte-for-byte what moto would, installed once
  when the daemon starts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from introaws.localcloud.requests import Recorded

# The account moto answers as; the local cloud has exactly one.
LOCAL_ACCOUNT = "123456789012"

Template = dict[str, Any]


# --- speed -------------------------------------------------------------------------------


def fast_dynamodb_responses() -> None:
    """moto 5.2.5 writes every DynamoDB answer through its generic, botocore-model-driven
    serializer, which spends ~85% of a 1,000-item ``Scan`` walking shapes. DynamoDB's wire
    format is the JSON of the result itself, so a result made only of JSON types is dumped
    directly (``None`` members dropped, as the serializer does); anything else (binary
    attributes, timestamps, errors) still takes moto's path. Installed once, in the daemon."""
    import json

    from moto.core.responses import ActionResult, PaginatedResult
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.serialized
    if getattr(original, "introaws_fast", False):
        return

    members: dict[str, frozenset[str]] = {}

    def output_members(action: str) -> frozenset[str]:
        if action not in members:
            from moto.core.utils import get_service_model

            shape = get_service_model("dynamodb").operation_model(action).output_shape
            members[action] = frozenset(shape.members) if shape is not None else frozenset()
        return members[action]

    def serialized(self: Any, action_result: ActionResult) -> Any:
        result = action_result.result
        if not isinstance(action_result, PaginatedResult) and isinstance(result, dict):
            wanted = output_members(self._get_action())
            plain = _plain_json({k: v for k, v in result.items() if k in wanted})
            if plain is not None:
                headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
                return 200, headers, json.dumps(plain, separators=(",", ":"))
        return original(self, action_result)

    serialized.introaws_fast = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized


def _plain_json(value: Any) -> Any:
    """``value`` without ``None`` members, or None when it holds anything but JSON types."""
    if isinstance(value, dict):
        plain = {}
        for key, member in value.items():
            if member is None:
                continue
            converted = _plain_json(member)
            if converted is None:
                return None
            plain[key] = converted
        return plain
    if isinstance(value, list):
        items = [_plain_json(v) for v in value]
        return None if any(i is None for i in items) else items
    if isinstance(value, (str, bool, int, float)):
        return value
    return None


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


def request_region(request: Recorded) -> str:
    """The region a signed request was made for."""
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
    backend = cloudformation_backends[LOCAL_ACCOUNT][request_region(request)]
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


def _change_set(request: Recorded) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[LOCAL_ACCOUNT][request_region(request)]
    name = _form(request).get("ChangeSetName", "")
    return backend.change_sets.get(name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == name), None
    )


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

    change_set = _change_set(request)
    if change_set is None:
        return
    stack = change_set.stack
    backend = apigateway_backends[LOCAL_ACCOUNT][request_region(request)]
    resource_map = stack.resource_map
    for logical_id, resource in change_set.template_dict.get("Resources", {}).items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        api_id = _physical(resource_map, props.get("RestApiId"))
        if api_id is None or api_id not in backend.apis:
            continue
        if kind == "AWS::ApiGateway::Stage":
            name = props["StageName"]
            if name not in backend.apis[api_id].stages:
                backend.create_stage(api_id, name, _physical(resource_map, props.get("DeploymentId")) or "",
                                     variables=props.get("Variables"))
            resource_map._parsed_resources[logical_id] = name
        elif kind == "AWS::ApiGateway::GatewayResponse":
            backend.put_gateway_response(
                api_id, props["ResponseType"], props.get("StatusCode"),
                props.get("ResponseParameters", {}), props.get("ResponseTemplates", {}),
            )
        elif kind == "AWS::ApiGateway::Method":
            resource_id = _physical(resource_map, props.get("ResourceId"))
            for response in props.get("Integration", {}).get("IntegrationResponses", []):
                backend.put_integration_response(
                    api_id, resource_id, props["HttpMethod"], str(response["StatusCode"]),
                    response.get("SelectionPattern", ""), response.get("ResponseTemplates", {}),
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

    change_set = _change_set(request)
    if change_set is None:
        return
    for logical_id, resource in change_set.template_dict.get("Resources", {}).items():
        website = resource.get("Properties", {}).get("WebsiteConfiguration")
        if resource.get("Type") != "AWS::S3::Bucket" or not website:
            continue
        bucket = _physical(change_set.stack.resource_map, {"Ref": logical_id})
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


def fix_executed_change_set(request: Recorded) -> None:
    create_api_gateway_extras(request)
    apply_bucket_websites(request)
    fix_change_set_outputs(request)


_FIXUPS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("cloudformation", "CreateChangeSet"): order_change_set_resources,
    ("cloudformation", "ExecuteChangeSet"): fix_executed_change_set,
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


_TEMPLATE_ADAPTATIONS: list[Callable[[Template], None]] = [drop_cdk_metadata, complete_mock_integrations]
