"""moto's start-up and request path made cheaper, answers unchanged: each change is a cache of
something moto recomputes on every request, a direct path that gives the same bytes, or an
import the local cloud never uses left out.

Kept apart from :mod:`adapt` (which fixes what moto gets wrong): nothing here changes what
the local cloud answers, only how fast. The haiku API's throughput target is what made these
worth having; ``bench/haiku_api.py`` measures them.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, cast


def install() -> None:
    """Install every speed-up (idempotent); the daemon calls this once, before serving."""
    cache_moto_module_list()
    cache_handler_method_names()
    fast_dynamodb_responses()
    fast_plain_scans()


def skip_unused_slow_imports() -> None:
    """Called before moto is imported. moto's CloudFormation imports its API Gateway, which
    imports an OpenAPI validator, which imports jsonschema; where ``rfc3987-syntax`` is installed
    (JupyterLab's dependencies bring it with the ``[ml]`` extra) jsonschema imports it to check
    the ``iri`` format, and building its grammar takes ~0.9 s, 40% of a daemon's start. The
    local cloud never validates a document against that format; without the module jsonschema
    leaves the format unchecked, as it does where the package is not installed."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "cannot be imported"


def cache_moto_module_list() -> None:
    """moto's dispatcher lists its own package directory (a ``listdir`` and an ``isdir`` per
    entry) on every request to tell a service name from a host; the list never changes."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "introaws_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules.introaws_cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


def cache_handler_method_names() -> None:
    """moto finds an action's method by listing the handler class's members with ``inspect``
    on every request; classes are final once the daemon serves, so one listing per class."""
    from moto.core import responses

    original = responses.method_names_from_class
    if getattr(original, "introaws_cached", False):
        return
    cached = functools.cache(lambda cls: frozenset(original(cls)))
    cached.introaws_cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = cached  # type: ignore[assignment]  # a cached wrapper of the same call


def fast_dynamodb_responses() -> None:
    """moto 5.2.5 writes every DynamoDB answer through its generic, botocore-model-driven
    serializer, which spends ~85% of a 1,000-item ``Scan`` walking shapes. DynamoDB's wire
    format is the JSON of the result itself, so a result made only of JSON types is dumped
    directly (``None`` members dropped, as the serializer does); anything else (binary
    attributes, timestamps, errors) still takes moto's path."""
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
            plain = plain_json({k: v for k, v in result.items() if k in wanted})
            if plain is not None:
                headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
                return 200, headers, json.dumps(plain, separators=(",", ":"))
        return original(self, action_result)

    serialized.introaws_fast = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = serialized  # type: ignore[method-assign]  # the patch itself


def fast_plain_scans() -> None:
    """A ``Scan`` of a whole table (no filter, index, projection or segments: Bashoutter's
    ``GET /haiku``, ``ddb scan``) spent most of its time in moto sorting items by comparing
    ``DynamoType`` objects, deep-copying every item and sizing each twice. Here items are sorted
    on their keys' values computed once (the same order: moto's comparisons compare those
    values) and handed out uncopied: the whole request, serializing included, runs under the
    daemon's moto lock, so nothing changes them before they are written out. Any other scan
    takes moto's path."""
    from moto.dynamodb.comparisons import OpDefault
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Item, Table

    if getattr(Table.scan, "introaws_fast", False):
        return
    original_scan = Table.scan

    def sort_key(item: Item) -> Any:
        if item.range_key:
            return item.hash_key.cast_value, item.range_key.cast_value
        return item.hash_key.cast_value

    def all_items(self: Table) -> list[Item]:
        items: list[Item] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(cast(Item, hash_set))  # without a range key, each value is an Item
        return sorted(items, key=sort_key)

    def scan(
        self: Table,
        filters: dict[str, Any],
        limit: int,
        exclusive_start_key: dict[str, Any],
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: Any = None,
        segments: tuple[Any, Any] = (None, None),
    ) -> Any:
        plain = (
            not filters
            and not index_name
            and not projection_expression
            and segments == (None, None)
            and (filter_expression is None or isinstance(filter_expression, OpDefault))
        )
        if not plain:
            return original_scan(
                self,
                filters,
                limit,
                exclusive_start_key,
                filter_expression,
                index_name,
                consistent_read,
                projection_expression,
                segments,
            )
        results: list[Item] = []
        result_size = 0
        last_evaluated_key = None
        skipping = exclusive_start_key is not None
        keys = [self.hash_key_attr], [self.range_key_attr]
        for item in self.all_items():
            if skipping:
                if self._item_comes_before_dct(item, exclusive_start_key, *keys, True):
                    continue
                skipping = False
            size = item.size()
            if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
                last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
                break
            results.append(item)
            result_size += size
        return results, len(results), last_evaluated_key

    scan.introaws_fast = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]  # the patch itself
    Table.scan = scan  # type: ignore[method-assign]


def plain_json(value: Any) -> Any:
    """``value`` without ``None`` members, or None when it holds anything but JSON types."""
    if isinstance(value, dict):
        plain = {}
        for key, member in value.items():
            if member is None:
                continue
            converted = plain_json(member)
            if converted is None:
                return None
            plain[key] = converted
        return plain
    if isinstance(value, list):
        items = [plain_json(v) for v in value]
        return None if any(i is None for i in items) else items
    if isinstance(value, (str, bool, int, float)):
        return value
    return None
