"""The DynamoDB hands-on (textbook §12.2): random people in a table, read back and searched."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr

from introaws.errors import NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.workflows import lifecycle

FIRST_NAMES = ("John", "Mary", "Taro", "Hanako", "Ken", "Yuki", "Alice", "Bob", "Sakura", "Hiro")
LAST_NAMES = ("Doe", "Smith", "Yamada", "Tanaka", "Suzuki", "Sato", "Brown", "Ito", "Kato", "Mano")
MAX_AGE = 50
BATCH = 25  # BatchWriteItem's limit


def _table(target: Target) -> Any:
    name = lifecycle.output(target, "ddb", "TableName")
    return target.resource("dynamodb").Table(name)


def random_person(rng: random.Random) -> dict[str, Any]:
    return {
        "item_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
        "first_name": rng.choice(FIRST_NAMES),
        "last_name": rng.choice(LAST_NAMES),
        "age": rng.randint(1, MAX_AGE),
    }


def write(target: Target, count: int, *, seed: int | None = None, report: Reporter = silent) -> int:
    """Write ``count`` random people with batch writes; returns how many were written."""
    if count < 1:
        raise UsageError(
            _("cannot write {count} items").format(count=count), _("give a positive number, e.g. 'ddb write 1000'")
        )
    table = _table(target)
    rng = random.Random(seed)
    written = 0
    with table.batch_writer() as batch:
        for _i in range(count):
            batch.put_item(Item=random_person(rng))
            written += 1
            if written % BATCH == 0 or written == count:
                report(
                    Event(
                        "progress",
                        f"{written}/{count}",
                        {"done": written, "total": count},
                    )
                )
    return written


def get(target: Target, item_id: str) -> dict[str, Any]:
    item = _table(target).get_item(Key={"item_id": item_id}).get("Item")
    if item is None:
        raise NotFound(
            _("no item with item_id '{item_id}'").format(item_id=item_id), _("list ids with 'introaws ddb scan'")
        )
    return _plain(item)


def scan(target: Target) -> list[dict[str, Any]]:
    """Every item: follows ``LastEvaluatedKey`` until the table is exhausted."""
    return _scan_all(_table(target), {})


def search_under_age(target: Target, age: int) -> list[dict[str, Any]]:
    """Items with ``age <= age`` (a filtered scan, as in the textbook)."""
    if age < 0:
        raise UsageError(_("age {age} is negative").format(age=age), _("give an age of 0 or more"))
    items = _scan_all(_table(target), {"FilterExpression": Attr("age").lte(age)})
    return sorted(items, key=lambda i: (i["age"], i["item_id"]))


def _scan_all(table: Any, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(**kwargs)
        items.extend(_plain(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in item.items()}
