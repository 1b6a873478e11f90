"""Deployed REST APIs answer HTTP on ``/_introaws/execute-api/{api_id}/{stage}/…``.

Routing reads the API from moto (resources, methods, integrations, stages, gateway
responses) on every request, so a redeploy takes effect at once. ``AWS_PROXY`` integrations
run the Lambda function (:class:`LambdaRuntime`) with API Gateway's proxy event (version
1.0) and map its result to the HTTP response; ``MOCK`` integrations (the CORS preflight)
answer from their integration response. As on AWS, a route that does not exist is
``403 Missing Authentication Token``, a broken function is ``502`` and one that takes longer
than :data:`INTEGRATION_TIMEOUT_S` (29 s) is ``504``.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from introaws.localcloud import settings
from introaws.localcloud.adapt import LOCAL_ACCOUNT
from introaws.localcloud.urls import EXECUTE_API_PREFIX

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded
    from introaws.localcloud.runtime.lambda_ import LambdaRuntime

_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")
# API Gateway answers 504 when an integration takes longer than this (AWS's REST API limit);
# the daemon's environment may lower it (tests do, to stay quick).
INTEGRATION_TIMEOUT_S = settings.seconds("INTROAWS_APIGW_TIMEOUT_S")
INTEGRATION_THREADS = 256  # integrations in flight, timed-out ones included
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
)


class RestApis:
    def __init__(self, functions: LambdaRuntime) -> None:
        self.functions = functions
        # Integrations run here so that the caller's wait is bounded by API Gateway's limit.
        self._calls = ThreadPoolExecutor(max_workers=INTEGRATION_THREADS, thread_name_prefix="apigw")

    def handle(self, request: Recorded, forward: Any) -> Reply | None:
        if not request.path.startswith(EXECUTE_API_PREFIX):
            return None
        parts = request.path[len(EXECUTE_API_PREFIX) :].split("/", 2)
        if len(parts) < 2:
            return _reply(404, {"message": "Not Found"})
        api_id, stage = parts[0], parts[1]
        path = "/" + "/".join(p for p in (parts[2] if len(parts) > 2 else "").split("/") if p)
        found = _find_api(api_id)
        if found is None or stage not in found[1].stages:
            return _reply(404, {"message": "Not Found"})
        region, api = found
        route = _route(api, path)
        method = None
        if route is not None:
            methods = route[0].resource_methods
            method = methods.get(request.method) or methods.get("ANY")
        if route is None or method is None or method.method_integration is None:
            return self._gateway_error(api, 403, "Missing Authentication Token")
        resource, path_params = route
        integration = method.method_integration
        if integration.integration_type == "MOCK":
            return _mock(integration)
        if integration.integration_type != "AWS_PROXY":
            return self._gateway_error(
                api, 500, f"{integration.integration_type} integrations are not run by the local cloud"
            )
        match = _FUNCTION_IN_URI.search(integration.uri or "")
        spec = self.functions.spec(region, match.group(1)) if match else None
        if spec is None:
            return self._gateway_error(api, 502, "Internal server error")
        event = _proxy_event(request, api_id, stage, resource.get_path(), path, path_params)
        call = self._calls.submit(self.functions.invoke, spec, json.dumps(event))
        try:
            outcome = call.result(timeout=INTEGRATION_TIMEOUT_S)
        except TimeoutError:  # the function runs on to its own timeout; the caller is answered now
            return self._gateway_error(api, 504, "Endpoint request timed out")
        if outcome.failed:
            return self._gateway_error(api, 502, "Internal server error")
        return _proxy_reply(outcome.payload) or self._gateway_error(api, 502, "Internal server error")

    def stop(self) -> None:
        """The functions belong to the Lambda runtime; only the waiting threads are ours."""
        self._calls.shutdown(wait=False, cancel_futures=True)

    def _gateway_error(self, api: Any, status: int, message: str) -> Reply:
        """API Gateway's own error, with the API's DEFAULT_4XX/5XX gateway response headers."""
        reply = _reply(status, {"message": message})
        kind = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        response = api.gateway_responses.get(kind)
        if response is not None:
            reply.headers.extend(_static_headers(response.response_parameters or {}, "gatewayresponse.header."))
        return reply


def _find_api(api_id: str) -> tuple[str, Any] | None:
    from moto.apigateway.models import apigateway_backends

    for region, backend in list(apigateway_backends[LOCAL_ACCOUNT].items()):
        if api_id in backend.apis:
            return region, backend.apis[api_id]
    return None


def _route(api: Any, path: str) -> tuple[Any, dict[str, str]] | None:
    """The resource matching ``path``: literal segments beat ``{param}``, ``{proxy+}`` is last."""
    wanted = [p for p in path.split("/") if p]
    best: tuple[tuple[int, ...], Any, dict[str, str]] | None = None
    for resource in list(api.resources.values()):
        matched = _match([p for p in resource.get_path().split("/") if p], wanted)
        if matched is not None and (best is None or matched[0] > best[0]):
            best = (matched[0], resource, matched[1])
    return (best[1], best[2]) if best else None


def _match(pattern: list[str], wanted: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    params: dict[str, str] = {}
    score: list[int] = []
    for index, part in enumerate(pattern):
        if index >= len(wanted):
            return None
        if part.startswith("{") and part.endswith("+}"):
            params[part[1:-2]] = "/".join(wanted[index:])
            return (*score, 0), params
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(wanted[index])
            score.append(1)
        elif part == wanted[index]:
            score.append(2)
        else:
            return None
    return (tuple(score), params) if len(pattern) == len(wanted) else None


def _proxy_event(
    request: Recorded, api_id: str, stage: str, resource_path: str, path: str, path_params: dict[str, str]
) -> dict[str, Any]:
    query = parse_qs(request.query, keep_blank_values=True)
    headers = dict(request.http_headers)  # names as the client sent them, as on AWS
    by_name = {k.lower(): v for k, v in headers.items()}
    content_type = by_name.get("content-type", "")
    is_text = not request.body or any(content_type.startswith(t) for t in _TEXT_TYPES) or not content_type
    if request.body and is_text:
        try:
            body: str | None = request.body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    if not request.body:
        body = None
    elif not is_text:
        body = base64.b64encode(request.body).decode("ascii")
    now = time.time()
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource_path,
            "httpMethod": request.method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "apiId": api_id,
            "accountId": LOCAL_ACCOUNT,
            "requestId": str(uuid.uuid4()),
            "protocol": "HTTP/1.1",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": by_name.get("user-agent")},
        },
        "body": body,
        "isBase64Encoded": bool(request.body) and not is_text,
    }


def _proxy_reply(payload: str) -> Reply | None:
    """The function's ``{statusCode, headers, multiValueHeaders, body, isBase64Encoded}``."""
    from introaws.localcloud.front import Reply

    try:
        result = json.loads(payload)
        status = int(result["statusCode"])
    except (ValueError, TypeError, KeyError):
        return None
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(key), str(v)) for v in values)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(data))))
    return Reply(status, headers, data)


def _mock(integration: Any) -> Reply:
    """A MOCK integration answers with its default integration response (no selection pattern)."""
    from introaws.localcloud.front import Reply

    responses = list((integration.integration_responses or {}).values())
    default = next((r for r in responses if not r.selection_pattern), responses[0] if responses else None)
    if default is None:
        return Reply(200, [("Content-Length", "0")], b"")
    headers = _static_headers(default.response_parameters or {}, "method.response.header.")
    template = next(iter((default.response_templates or {}).values()), None) or ""
    return Reply(
        int(default.status_code), headers + [("Content-Length", str(len(template.encode())))], template.encode()
    )


def _static_headers(parameters: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    """Header mappings whose values are quoted literals (``'*'``), as CORS set-ups use."""
    return [
        (name[len(prefix) :], value[1:-1])
        for name, value in parameters.items()
        if name.startswith(prefix) and len(value) >= 2 and value[0] == value[-1] == "'"
    ]


def _reply(status: int, body: dict[str, Any]) -> Reply:
    from introaws.localcloud.front import Reply

    reply = Reply.json(body, status)
    reply.headers.append(("Content-Length", str(len(reply.body))))
    return reply
