"""Bashoutter's REST API: four Lambda proxy handlers over one DynamoDB table.

Deployed as the code asset of this directory (handlers ``api.get_haiku``, ``api.post_haiku``,
``api.patch_haiku``, ``api.delete_haiku``); they need only boto3 and ``TABLE_NAME``. The same
code answers on AWS and on the local cloud. The DynamoDB client is created once per warm
worker, not per request. Error bodies never carry internals: a failure is logged (CloudWatch
Logs) and answered 500 with a generic description.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import uuid
from datetime import UTC, datetime
from typing import Any

LINE_MAX = 100  # characters per line of a poem
NAME_MAX = 64  # characters of a username
FIELDS = {"username": NAME_MAX, "first": LINE_MAX, "second": LINE_MAX, "third": LINE_MAX}
CORS = {"Access-Control-Allow-Origin": "*"}
CURSOR_HEADER = "X-Next-Cursor"

log = logging.getLogger()
log.setLevel(logging.INFO)
_client: Any = None


class BadRequest(Exception):
    """The caller's mistake: answered 400 with this message as the description."""


def _dynamodb() -> Any:
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("dynamodb")
    return _client


def _table_name() -> str:
    return os.environ["TABLE_NAME"]


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    all_headers = {**CORS, **(headers or {})}
    if body is None:
        return {"statusCode": status, "headers": all_headers, "body": ""}
    all_headers["Content-Type"] = "application/json; charset=utf-8"
    return {"statusCode": status, "headers": all_headers, "body": json.dumps(body, ensure_ascii=False)}


def _error(status: int, description: str) -> dict[str, Any]:
    return _response(status, {"description": description})


def _guarded(handler: Any) -> Any:
    """Map BadRequest to 400 and anything unexpected to a 500 without internals."""

    def wrapped(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        try:
            return handler(event)
        except BadRequest as exc:
            return _error(400, str(exc))
        except Exception:
            log.exception("unhandled error in %s", handler.__name__)
            return _error(500, "Internal server error. Please try again later.")

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


# --- items --------------------------------------------------------------------------------


def _plain(item: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A DynamoDB item (strings and numbers only here) as JSON-ready values."""
    plain: dict[str, Any] = {}
    for key, typed in item.items():
        if "S" in typed:
            plain[key] = typed["S"]
        elif "N" in typed:
            number = float(typed["N"])
            plain[key] = int(number) if number.is_integer() else number
    return plain


def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (i.get("created_at", ""), i.get("item_id", "")), reverse=True)


def _scan_all() -> list[dict[str, Any]]:
    """Every item: a scan page stops at 1 MB, so follow LastEvaluatedKey to the end."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": _table_name()}
    while True:
        page = _dynamodb().scan(**kwargs)
        items.extend(_plain(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _encode_cursor(item: dict[str, Any]) -> str:
    raw = json.dumps([item["created_at"], item["item_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, item_id = json.loads(base64.urlsafe_b64decode(padded))
        return str(created_at), str(item_id)
    except (ValueError, TypeError, binascii.Error):
        raise BadRequest("cursor is not one this API gave out; start again without it") from None


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    """Apply ``?limit=N&cursor=…``; the plain array shape never changes."""
    if "cursor" in query:
        after = _decode_cursor(query["cursor"])
        items = [i for i in items if (i["created_at"], i["item_id"]) < after]
    if "limit" not in query:
        return items, None
    try:
        limit = int(query["limit"])
    except ValueError:
        raise BadRequest("limit must be a whole number from 1 to 1000") from None
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be a whole number from 1 to 1000")
    page = items[:limit]
    return page, _encode_cursor(page[-1]) if len(items) > limit else None


def _parse_haiku(event: dict[str, Any]) -> dict[str, str]:
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("request body is missing: send JSON {username, first, second, third}")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest("request body is not UTF-8 JSON") from None
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object {username, first, second, third}")
    haiku: dict[str, str] = {}
    for field, limit in FIELDS.items():
        if field not in data or data[field] is None:
            raise BadRequest(f"'{field}' is missing")
        value = data[field]
        if not isinstance(value, str):
            raise BadRequest(f"'{field}' must be a string")
        value = value.strip()
        if not value:
            raise BadRequest(f"'{field}' is empty")
        if len(value) > limit:
            raise BadRequest(f"'{field}' is longer than {limit} characters")
        haiku[field] = value
    return haiku


def _item_id(event: dict[str, Any]) -> str:
    return ((event.get("pathParameters") or {}).get("item_id") or "").strip()


def _not_found(item_id: str) -> dict[str, Any]:
    return _error(404, f"no haiku with item_id '{item_id}'")


def _is_condition_failure(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException"


# --- handlers -----------------------------------------------------------------------------


@_guarded
def get_haiku(event: dict[str, Any]) -> dict[str, Any]:
    """GET /haiku: every haiku, newest first (optionally one page of them)."""
    query = event.get("queryStringParameters") or {}
    items, cursor = _page(_newest_first(_scan_all()), query)
    return _response(200, items, {CURSOR_HEADER: cursor} if cursor else None)


@_guarded
def post_haiku(event: dict[str, Any]) -> dict[str, Any]:
    """POST /haiku: store a new haiku with no likes."""
    haiku = _parse_haiku(event)
    item_id = uuid.uuid4().hex
    created_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    item = {k: {"S": v} for k, v in haiku.items()}
    item.update(item_id={"S": item_id}, created_at={"S": created_at}, likes={"N": "0"})
    _dynamodb().put_item(TableName=_table_name(), Item=item)
    return _response(201, {"description": "Successfully added a new haiku", "item_id": item_id})


@_guarded
def patch_haiku(event: dict[str, Any]) -> dict[str, Any]:
    """PATCH /haiku/{item_id}: one more like, atomically; never creates an item."""
    item_id = _item_id(event)
    try:
        updated = _dynamodb().update_item(
            TableName=_table_name(),
            Key={"item_id": {"S": item_id}},
            UpdateExpression="ADD likes :one",
            ConditionExpression="attribute_exists(item_id)",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
    except Exception as exc:
        if _is_condition_failure(exc):
            return _not_found(item_id)
        raise
    likes = _plain(updated["Attributes"])["likes"]
    return _response(200, {"description": "Successfully liked the haiku", "item_id": item_id, "likes": likes})


@_guarded
def delete_haiku(event: dict[str, Any]) -> dict[str, Any]:
    """DELETE /haiku/{item_id}: remove it (404 when there is none)."""
    item_id = _item_id(event)
    try:
        _dynamodb().delete_item(
            TableName=_table_name(),
            Key={"item_id": {"S": item_id}},
            ConditionExpression="attribute_exists(item_id)",
        )
    except Exception as exc:
        if _is_condition_failure(exc):
            return _not_found(item_id)
        raise
    return _response(204)
