"""Answers as complete and usable as AWS's where moto's fall short: CloudFormation's, and
the administrator's identity.

* **Every stack resource has its ids and type** (``DescribeStackResources``,
  ``ListStackResources``): moto gives API Gateway methods, deployments and Lambda permissions
  no physical id, and resources it does not model (a bucket policy, a stage, a gateway
  response) nothing at all.
* **A change set says what it replaces** (``Replacement``, ``Scope``, ``Details`` in
  ``DescribeChangeSet``), from which properties changed and whether the resource type must be
  recreated for them — so a dry run tells the truth.
* **GetTemplate returns the template the client sent**, not the one the daemon adapted for
  moto (clients compare it to decide whether a stack is up to date).
* **Outputs that are AWS URLs answer here** (``DescribeStacks``): a REST API's
  ``https://ID.execute-api.REGION.amazonaws.com/STAGE/`` and a website bucket's
  ``http://BUCKET.s3-website-REGION.amazonaws.com`` become the local cloud's addresses, at the
  host the client reached the daemon by (LocalStack answers the same way).
* **The administrator is the account's root** (``GetCallerIdentity``): moto names the caller of
  a key it did not issue ``user/moto``; the local cloud's administrator signs with such a key.

The first three are fix-ups of moto's state (run by :mod:`adapt` after the request, live and on
replay); the last two rewrite the answer itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from introaws.localcloud import urls

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded

# --- every resource with its ids and type ---------------------------------------------------


class StandIn:
    """A stack resource moto does not model, standing in so that it is listed (and its ``Ref``
    resolves) as CloudFormation would; deleting it is the stack's business only."""

    def __init__(self, logical_id: str, resource_type: str, physical_id: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = physical_id

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing to delete: the resource lives in what it belongs to (a bucket, an API)."""


def complete_stack_resources(stack: Any, declared: dict[str, Any]) -> None:
    """Give every created resource of ``stack`` a physical id, its logical id and its type."""
    from moto.cloudformation.parsing import clean_json

    resource_map = stack.resource_map
    parsed = resource_map._parsed_resources
    for logical_id, spec in declared.items():
        if logical_id not in resource_map._resource_json_map:
            continue  # not part of the stack: a failed deploy never created it
        condition = spec.get("Condition")
        if condition and not resource_map.lazy_condition_map[condition]:
            continue  # not created, as on AWS
        resource_type = spec.get("Type", "")
        resource = parsed.get(logical_id)
        if resource is None or isinstance(resource, str):
            physical = resource or _physical_of_unmodelled(resource_type, spec, resource_map, clean_json)
            parsed[logical_id] = StandIn(logical_id, resource_type, physical or _generated_id(stack, logical_id))
        elif not hasattr(resource, "physical_resource_id"):
            # A deployment is known by its id; other unnamed resources get a generated name.
            deployment_id = getattr(resource, "id", None) if resource_type == "AWS::ApiGateway::Deployment" else None
            resource.physical_resource_id = deployment_id or _generated_id(stack, logical_id)


def _physical_of_unmodelled(resource_type: str, spec: dict[str, Any], resource_map: Any, clean: Callable) -> str:
    """AWS's physical id for the types moto does not create: a bucket policy is its bucket's."""
    if resource_type == "AWS::S3::BucketPolicy":
        try:
            bucket = clean(spec.get("Properties", {}).get("Bucket"), resource_map)
        except KeyError:
            return ""
        return bucket if isinstance(bucket, str) else ""
    return ""


def _generated_id(stack: Any, logical_id: str) -> str:
    """A name shaped like CloudFormation's (``Stack-LogicalId-SUFFIX``), the same on replay."""
    digest = hashlib.sha256(f"{stack.stack_id}/{logical_id}".encode()).digest()
    suffix = base64.b32encode(digest).decode()[:12]
    return f"{stack.name}-{logical_id}-{suffix}"


# --- what a change set replaces ----------------------------------------------------------------

_ANY = frozenset({"*"})
# Properties whose change makes CloudFormation recreate the resource ("Update requires:
# Replacement" in its reference), for the types the hands-ons deploy. ``_ANY``: every change
# does — task and job definitions are immutable revisions, and the local cloud replaces an
# instance on any update (see adapt.replace_instances_on_stack_update).
REPLACING_PROPERTIES: dict[str, frozenset[str]] = {
    "AWS::EC2::Instance": _ANY,
    "AWS::ECS::TaskDefinition": _ANY,
    "AWS::Batch::JobDefinition": _ANY,
    "AWS::Lambda::Permission": _ANY,
    "AWS::DynamoDB::Table": frozenset({"TableName", "KeySchema"}),
    "AWS::S3::Bucket": frozenset({"BucketName", "ObjectLockEnabled"}),
    "AWS::S3::BucketPolicy": frozenset({"Bucket"}),
    "AWS::Lambda::Function": frozenset({"FunctionName", "PackageType"}),
    "AWS::IAM::Role": frozenset({"RoleName", "Path"}),
    "AWS::ECS::Cluster": frozenset({"ClusterName"}),
    "AWS::ECR::Repository": frozenset({"RepositoryName"}),
    "AWS::Logs::LogGroup": frozenset({"LogGroupName"}),
    "AWS::Batch::ComputeEnvironment": frozenset({"ComputeEnvironmentName", "Type"}),
    "AWS::Batch::JobQueue": frozenset({"JobQueueName"}),
    "AWS::EC2::VPC": frozenset({"CidrBlock"}),
    "AWS::EC2::Subnet": frozenset({"AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "VpcId"}),
    "AWS::EC2::SecurityGroup": frozenset({"GroupDescription", "GroupName", "VpcId"}),
    "AWS::EC2::RouteTable": frozenset({"VpcId"}),
    "AWS::EC2::Route": frozenset({"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock"}),
    "AWS::EC2::SubnetRouteTableAssociation": frozenset({"SubnetId"}),
    "AWS::EC2::LaunchTemplate": frozenset({"LaunchTemplateName"}),
    "AWS::EC2::KeyPair": _ANY,
    "AWS::ApiGateway::Resource": frozenset({"ParentId", "PathPart", "RestApiId"}),
    "AWS::ApiGateway::Method": frozenset({"ResourceId", "RestApiId"}),
    "AWS::ApiGateway::Deployment": frozenset({"RestApiId", "DeploymentCanarySettings"}),
    "AWS::ApiGateway::Stage": frozenset({"StageName", "RestApiId"}),
    "AWS::ApiGateway::GatewayResponse": frozenset({"ResponseType", "RestApiId"}),
}


def describe_replacements(change_set: Any) -> None:
    """Fill each ``Modify`` change's ``Replacement``, ``Scope`` and ``Details`` (and every
    change's physical id) as CloudFormation's change set does."""
    stack = change_set.stack
    before = stack.resource_map._resource_json_map
    after = change_set.template_dict.get("Resources", {})
    for change in change_set.changes:
        logical_id = change.logical_resource_id
        resource = stack.resource_map._parsed_resources.get(logical_id)
        change.physical_resource_id = getattr(resource, "physical_resource_id", None)
        if change.action != "Modify":
            continue
        old, new = before.get(logical_id, {}), after.get(logical_id, {})
        replacing = REPLACING_PROPERTIES.get(change.resource_type, frozenset())
        details: list[dict[str, Any]] = []
        for name in _changed_properties(old.get("Properties", {}), new.get("Properties", {})):
            recreate = "Always" if replacing is _ANY or name in replacing else "Never"
            attribute = "Tags" if name == "Tags" else "Properties"
            target: dict[str, str] = {"Attribute": attribute, "RequiresRecreation": recreate}
            if attribute == "Properties":
                target["Name"] = name
            details.append({"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"})
        if not details and replacing is _ANY:  # changed outside Properties (Metadata, DependsOn)
            details.append({"Target": {"Attribute": "Metadata", "RequiresRecreation": "Always"}})
        change.details = details
        change.scope = sorted({d["Target"]["Attribute"] for d in details})
        change.replacement = "True" if any(d["Target"]["RequiresRecreation"] == "Always" for d in details) else "False"


def _changed_properties(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


# --- the answers themselves ---------------------------------------------------------------------


def complete(request: Recorded, reply: Reply) -> Reply:
    """moto's answer to a read, completed where it falls short of AWS's."""
    if reply.status >= 400:
        return reply
    rewrite = _REWRITES.get((request.service, request.action))
    return rewrite(request, reply) if rewrite is not None else reply


def client_template_answer(request: Recorded, reply: Reply) -> Reply:
    """``GetTemplate``: the template the client sent (moto holds the adapted one)."""
    from moto.cloudformation.models import cloudformation_backends

    from introaws.localcloud.adapt import LOCAL_ACCOUNT

    params = request.params()
    backend = cloudformation_backends[LOCAL_ACCOUNT][request.region]
    holder: Any = None
    if params.get("ChangeSetName"):
        name = params["ChangeSetName"]
        holder = backend.change_sets.get(name) or next(
            (cs for cs in backend.change_sets.values() if cs.change_set_name == name), None
        )
    else:
        try:
            holder = backend.get_stack(params.get("StackName", ""))
        except Exception:
            return reply
    sent = getattr(holder, "introaws_client_template", None)
    if sent is None:
        return reply
    body = re.sub(
        rb"<TemplateBody>.*?</TemplateBody>",
        lambda _: b"<TemplateBody>" + escape(sent).encode() + b"</TemplateBody>",
        reply.body,
        count=1,
        flags=re.DOTALL,
    )
    return _with_body(reply, body)


def local_output_urls(request: Recorded, reply: Reply) -> Reply:
    """``DescribeStacks``: output values that are AWS URLs become the local cloud's."""
    endpoint = f"http://{request.headers.get('HTTP_HOST', '127.0.0.1')}"
    body = re.sub(
        rb"<OutputValue>(.*?)</OutputValue>",
        lambda m: b"<OutputValue>" + urls.localize(m.group(1).decode(), endpoint).encode() + b"</OutputValue>",
        reply.body,
        flags=re.DOTALL,
    )
    return _with_body(reply, body)


def administrator_identity(request: Recorded, reply: Reply) -> Reply:
    """``GetCallerIdentity``: moto names a key it did not issue ``user/moto``; the only such key
    that reaches it is the local cloud's administrator, the account's owner (its root)."""
    body = re.sub(
        rb"<UserId>[^<]*</UserId>(\s*)<Account>(\d+)</Account>(\s*)<Arn>arn:aws:sts::\d+:user/moto</Arn>",
        rb"<UserId>\2</UserId>\1<Account>\2</Account>\3<Arn>arn:aws:iam::\2:root</Arn>",
        reply.body,
    )
    return _with_body(reply, body)


def _with_body(reply: Reply, body: bytes) -> Reply:
    if body == reply.body:
        return reply
    headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
    return type(reply)(reply.status, [*headers, ("Content-Length", str(len(body)))], body)


_REWRITES: dict[tuple[str, str], Callable[[Recorded, Reply], Reply]] = {
    ("cloudformation", "GetTemplate"): client_template_answer,
    ("cloudformation", "DescribeStacks"): local_output_urls,
    ("sts", "GetCallerIdentity"): administrator_identity,
}
