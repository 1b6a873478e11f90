"""AWS's limits where moto has none, as one table of rules the front asks before moto.

moto accepts task definitions, functions, payloads and names that AWS refuses, which would let
"it works locally" hide the first error a reader meets on AWS. Each rule reads one operation's
parameters and returns AWS's error (code, HTTP status, message) or None. The same checks serve
CloudFormation: a resource whose properties break a rule fails its stack's deploy with the
message the service would give (see :func:`resource_refusal`).

Parameter names are looked up case-insensitively, so one check reads both an API call
(``cpu``, ``MemorySize``) and a CloudFormation resource's properties (``Cpu``, ``MemorySize``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from introaws.localcloud.requests import Recorded

# Fargate's task sizes: CPU units -> the memory (MiB) allowed with it (AWS's published table).
FARGATE_SIZES: dict[int, Collection[int]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
LAMBDA_MEMORY_MB = (128, 10_240)
LAMBDA_TIMEOUT_S = 900
LAMBDA_SYNC_PAYLOAD = 6_291_456  # 6 MB, request and response of a synchronous Invoke
LAMBDA_ASYNC_PAYLOAD = 262_144  # 256 KB, an asynchronous (Event) Invoke
RUN_TASK_OVERRIDES = 8_192  # bytes of RunTask's overrides, as JSON
BATCH_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
LAMBDA_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
LAMBDA_FUNCTION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]+))?"
)


@dataclass(frozen=True)
class Refusal:
    """AWS's error for a request that breaks a limit."""

    code: str
    message: str
    status: int = 400


Params = Mapping[str, Any]
Check = Callable[[Params], Refusal | None]


def _get(params: Params, name: str) -> Any:
    """``params[name]`` whatever the case of its first letter (API vs CloudFormation names)."""
    for key in (name, name[:1].upper() + name[1:], name[:1].lower() + name[1:]):
        if key in params:
            return params[key]
    return None


# --- the checks ----------------------------------------------------------------------------


def _units(value: Any, unit: str, per_unit: int) -> int | None:
    """CPU units / MiB from ``"256"``, ``1024``, ``"0.25 vCPU"`` or ``"2 GB"``; None if unreadable."""
    text = str(value).strip()
    match = re.fullmatch(rf"(\d+(?:\.\d+)?)\s*{unit}", text, re.IGNORECASE)
    try:
        return round(float(match.group(1)) * per_unit) if match else int(text)
    except ValueError:
        return None


def fargate_size(params: Params) -> Refusal | None:
    """A Fargate task definition names a cpu/memory pair from AWS's table."""
    if "FARGATE" not in (_get(params, "requiresCompatibilities") or []):
        return None
    cpu_value, memory_value = _get(params, "cpu"), _get(params, "memory")
    if cpu_value is None:
        return Refusal("ClientException", "Fargate requires that 'cpu' be defined at the task level.")
    if memory_value is None:
        return Refusal("ClientException", "Fargate requires that 'memory' be defined at the task level.")
    cpu, memory = _units(cpu_value, "vcpu", 1024), _units(memory_value, "gb", 1024)
    if cpu in FARGATE_SIZES and memory in FARGATE_SIZES[cpu]:
        return None
    return Refusal(
        "ClientException",
        f"No Fargate configuration exists for given values: {cpu_value} CPU, {memory_value} memory. "
        "See the Amazon ECS documentation for the possible values.",
    )


def _lambda_validation(value: Any, field: str, constraint: str) -> Refusal:
    return Refusal(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}",
    )


def _in_range(params: Params, name: str, field: str, low: int, high: int) -> Refusal | None:
    value = _get(params, name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None  # absent, or not a number: moto answers that
    if number < low:
        return _lambda_validation(value, field, f"Member must have value greater than or equal to {low}")
    if number > high:
        return _lambda_validation(value, field, f"Member must have value less than or equal to {high}")
    return None


def lambda_memory(params: Params) -> Refusal | None:
    return _in_range(params, "MemorySize", "memorySize", *LAMBDA_MEMORY_MB)


def lambda_timeout(params: Params) -> Refusal | None:
    return _in_range(params, "Timeout", "timeout", 1, LAMBDA_TIMEOUT_S)


def lambda_function_name(params: Params) -> Refusal | None:
    name = _get(params, "FunctionName")
    if name is None or LAMBDA_FUNCTION_NAME.fullmatch(name) or LAMBDA_FUNCTION_ARN.fullmatch(name):
        return None
    return _lambda_validation(
        name,
        "functionName",
        "Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
        "([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))? and length 1 to 64",
    )


def invoke_payload(params: Params) -> Refusal | None:
    """Invoke's payload: 6 MB synchronous, 256 KB asynchronous."""
    size = len(params["Payload"])
    limit = LAMBDA_ASYNC_PAYLOAD if params["InvocationType"] == "Event" else LAMBDA_SYNC_PAYLOAD
    if size <= limit:
        return None
    return Refusal(
        "RequestEntityTooLargeException",
        f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        413,
    )


def run_task_overrides(params: Params) -> Refusal | None:
    overrides = _get(params, "overrides")
    if overrides is None or len(json.dumps(overrides, separators=(",", ":"))) <= RUN_TASK_OVERRIDES:
        return None
    return Refusal("InvalidParameterException", f"Container Overrides length must be at most {RUN_TASK_OVERRIDES}")


def batch_job_name(params: Params) -> Refusal | None:
    name = _get(params, "jobName")
    if name is None or BATCH_JOB_NAME.fullmatch(name):
        return None
    return Refusal(
        "ClientException",
        f"Error executing request, Exception : Job name '{name}' is invalid: up to 128 letters (uppercase "
        "and lowercase), numbers, hyphens, and underscores are allowed, and it must start with a letter or number.",
    )


# --- which checks apply where ---------------------------------------------------------------

API_RULES: dict[tuple[str, str], tuple[Check, ...]] = {
    ("ecs", "RegisterTaskDefinition"): (fargate_size,),
    ("ecs", "RunTask"): (run_task_overrides,),
    ("lambda", "CreateFunction"): (lambda_function_name, lambda_memory, lambda_timeout),
    ("lambda", "UpdateFunctionConfiguration"): (lambda_memory, lambda_timeout),
    ("lambda", "Invoke"): (invoke_payload,),
    ("batch", "SubmitJob"): (batch_job_name,),
}
RESOURCE_RULES: dict[str, tuple[Check, ...]] = {
    "AWS::ECS::TaskDefinition": (fargate_size,),
    "AWS::Lambda::Function": (lambda_function_name, lambda_memory, lambda_timeout),
}

# REST operations (no ``Action``/``X-Amz-Target``): (service, method, path) -> operation name.
_REST_OPERATIONS: tuple[tuple[str, str, re.Pattern[str], str], ...] = (
    ("lambda", "POST", re.compile(r"/2015-03-31/functions/?"), "CreateFunction"),
    ("lambda", "PUT", re.compile(r"/2015-03-31/functions/[^/]+/configuration/?"), "UpdateFunctionConfiguration"),
    ("lambda", "POST", re.compile(r"/2015-03-31/functions/[^/]+/invocations/?"), "Invoke"),
    ("batch", "POST", re.compile(r"/v1/submitjob/?"), "SubmitJob"),
)
_SERVICES = {service for service, _ in API_RULES}


def refusal(request: Recorded) -> Refusal | None:
    """AWS's error for a request that breaks one of its limits; None when it may go on."""
    service = request.service
    if service not in _SERVICES:
        return None
    operation = _operation(request, service)
    checks = API_RULES.get((service, operation), ())
    if not checks:
        return None
    params = _params(request, operation)
    if params is None:
        return None  # unreadable: moto answers with its own error
    for check in checks:
        found = check(params)
        if found is not None:
            return found
    return None


def resource_refusal(resource_type: str, properties: Params) -> str | None:
    """Why CloudFormation fails to create a resource of this type with these (resolved)
    properties, worded as its events say it; None when the service would accept them."""
    for check in RESOURCE_RULES.get(resource_type, ()):
        found = check(properties)
        if found is not None:
            return f'Resource handler returned message: "{found.message}" (HandlerErrorCode: InvalidRequest)'
    return None


def _operation(request: Recorded, service: str) -> str:
    if request.headers.get("HTTP_X_AMZ_TARGET"):
        return request.action
    for rest_service, method, pattern, name in _REST_OPERATIONS:
        if rest_service == service and request.method == method and pattern.fullmatch(request.path):
            return name
    return ""


def _params(request: Recorded, operation: str) -> dict[str, Any] | None:
    if operation == "Invoke":  # the payload is the body itself
        kind = request.headers.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        return {"Payload": request.body, "InvocationType": kind}
    try:
        params = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None
