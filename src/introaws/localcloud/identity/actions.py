"""Which IAM action a request is, and on which resources — what a policy is held against.

The operation comes from the request itself for the JSON and query protocols (``X-Amz-Target``,
``Action``) and from moto's own router for the REST ones (S3, Lambda, Batch). An operation is
its IAM action of the same name but for the few that IAM names otherwise (S3's ``ListObjectsV2``
is ``s3:ListBucket``, Lambda's ``Invoke`` is ``lambda:InvokeFunction``). API Gateway's
management API is authorized per HTTP method (``apigateway:GET`` on the path's ARN), as AWS does.

Resources are named for the services whose resources the hands-ons' roles are granted
(DynamoDB tables and indexes, S3 buckets and objects, log groups and streams, Lambda functions,
SQS queues, SNS topics). For other operations the resource is not known here (``None``):
a statement then applies by its actions alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from introaws.localcloud.requests import Recorded

# Signing names that are not the IAM prefix / botocore's service name.
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
_BOTOCORE_NAME = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}
_REST_SERVICES = ("s3", "lambda", "batch", "apigateway")
# Operations whose IAM action has another name.
_IAM_NAMES = {
    "s3": {
        "ListObjects": "ListBucket",
        "ListObjectsV2": "ListBucket",
        "HeadBucket": "ListBucket",
        "ListObjectVersions": "ListBucketVersions",
        "ListBuckets": "ListAllMyBuckets",
        "HeadObject": "GetObject",
        "DeleteObjects": "DeleteObject",
        "CopyObject": "PutObject",
        "CreateMultipartUpload": "PutObject",
        "UploadPart": "PutObject",
        "UploadPartCopy": "PutObject",
        "CompleteMultipartUpload": "PutObject",
        "ListMultipartUploads": "ListBucketMultipartUploads",
        "ListParts": "ListMultipartUploadParts",
        "GetBucketCors": "GetBucketCORS",
        "PutBucketCors": "PutBucketCORS",
        "DeleteBucketCors": "PutBucketCORS",
        "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
        "DeleteBucketLifecycle": "PutLifecycleConfiguration",
        "GetBucketEncryption": "GetEncryptionConfiguration",
        "PutBucketEncryption": "PutEncryptionConfiguration",
        "DeleteBucketEncryption": "PutEncryptionConfiguration",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
        "DeleteBucketTagging": "PutBucketTagging",
    },
    "lambda": {"Invoke": "InvokeFunction", "InvokeWithResponseStream": "InvokeFunction"},
}
_S3_BUCKET_ACTIONS = ("ListBucket", "ListBucketVersions", "ListBucketMultipartUploads")


@dataclass(frozen=True)
class Operation:
    action: str  # "dynamodb:PutItem"
    resources: tuple[str, ...] | None  # ARNs; None: not known here (statements apply by action)


def operation(request: Recorded, account: str) -> Operation:
    """The IAM action and resources of an AWS API request signed for ``request.service``."""
    service = request.service
    prefix = _IAM_PREFIX.get(service, service)
    region = request.region
    if service == "apigateway":
        path = urlsplit(request.raw_target or request.path).path
        return Operation(f"apigateway:{request.method}", (f"arn:aws:apigateway:{region}::{path}",))
    name, params = request.action, dict[str, Any]()
    if service in _REST_SERVICES or not name:
        name, params = _routed(request, _BOTOCORE_NAME.get(service, service))
    action = _IAM_NAMES.get(service, {}).get(name, name) or "UnknownOperation"
    arn = _ARNS.get(service)
    resources = arn(request, params, action, region, account) if arn else None
    return Operation(f"{prefix}:{action}", resources)


def _routed(request: Recorded, service: str) -> tuple[str, dict[str, Any]]:
    """moto's router: the operation a REST request is, and its path's parameters."""
    from moto.core.request import Request
    from moto.core.routing import get_service_router
    from werkzeug.exceptions import NotFound

    environ = request.environ()
    environ["RAW_URI"] = request.raw_target or request.path
    try:
        found, params = get_service_router(service).match(Request(environ))
    except (NotFound, NotImplementedError, KeyError, ValueError):
        return "", {}
    return str(found.name), dict(params)


def _json_body(request: Recorded) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _dynamodb(
    request: Recorded, params: dict[str, Any], action: str, region: str, account: str
) -> tuple[str, ...] | None:
    body = _json_body(request)

    def table(name: str, index: str | None = None) -> str:
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if "TableName" in body:
        return (table(body["TableName"], body.get("IndexName")),)
    if isinstance(body.get("RequestItems"), dict):  # BatchGetItem, BatchWriteItem
        return tuple(table(name) for name in body["RequestItems"])
    if isinstance(body.get("TransactItems"), list):
        return tuple(
            table(entry["TableName"])
            for item in body["TransactItems"]
            for entry in item.values()
            if isinstance(entry, dict) and "TableName" in entry
        )
    if "ResourceArn" in body:
        return (body["ResourceArn"],)
    return None


def _s3(request: Recorded, params: dict[str, Any], action: str, region: str, account: str) -> tuple[str, ...] | None:
    bucket, key = params.get("Bucket"), params.get("Key")
    if not bucket:
        return ("*",) if action == "ListAllMyBuckets" else None
    if key and action not in _S3_BUCKET_ACTIONS:
        return (f"arn:aws:s3:::{bucket}/{key}",)
    return (f"arn:aws:s3:::{bucket}",)


def _logs(request: Recorded, params: dict[str, Any], action: str, region: str, account: str) -> tuple[str, ...] | None:
    body = _json_body(request)
    group = body.get("logGroupName") or body.get("logGroupIdentifier")
    if not group:
        return None
    arn = group if group.startswith("arn:") else f"arn:aws:logs:{region}:{account}:log-group:{group}"
    stream = body.get("logStreamName")
    return (f"{arn}:log-stream:{stream}",) if stream else (arn,)


def _lambda(
    request: Recorded, params: dict[str, Any], action: str, region: str, account: str
) -> tuple[str, ...] | None:
    name = str(params.get("FunctionName") or "")
    if not name:
        return None
    if name.startswith("arn:"):
        return (":".join(name.split(":")[:7]),)
    return (f"arn:aws:lambda:{region}:{account}:function:{name.split(':')[0]}",)


def _query_param(request: Recorded, name: str) -> str:
    values = parse_qs(request.body_text_if_form() or request.query).get(name) or [_json_body(request).get(name, "")]
    return str(values[0] or "")


def _sqs(request: Recorded, params: dict[str, Any], action: str, region: str, account: str) -> tuple[str, ...] | None:
    url = _query_param(request, "QueueUrl")
    if not url:
        return None
    owner, _, name = urlsplit(url).path.strip("/").partition("/")
    return (f"arn:aws:sqs:{region}:{owner or account}:{name}",)


def _sns(request: Recorded, params: dict[str, Any], action: str, region: str, account: str) -> tuple[str, ...] | None:
    topic = _query_param(request, "TopicArn")
    return (topic,) if topic else None


_ARNS = {"dynamodb": _dynamodb, "s3": _s3, "logs": _logs, "lambda": _lambda, "sqs": _sqs, "sns": _sns}
