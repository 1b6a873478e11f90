"""The speed-ups answer exactly what moto answers: every response of a realistic session is
produced both ways and compared."""

from __future__ import annotations

import json

import pytest

from introaws.localcloud import speedups


@pytest.fixture
def recorded():
    """moto (in-process) answering a mix of DynamoDB calls; each result kept with moto's reply."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.serialized
    assert not getattr(original, "introaws_fast", False), "run before the speed-up is installed"
    calls = []

    def spy(self, action_result):
        reply = original(self, action_result)
        calls.append((self, action_result, reply))
        return reply

    DynamoHandler.serialized = spy
    with mock_aws():
        try:
            ddb = boto3.client(
                "dynamodb", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            ddb.create_table(
                TableName="t",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            )
            item = {
                "s": {"S": "閑さや"},
                "n": {"N": "1.5"},
                "l": {"L": [{"S": "a"}, {"N": "2"}]},
                "m": {"M": {"x": {"BOOL": False}, "y": {"NULL": True}}},
                "ss": {"SS": ["a", "b"]},
            }
            for n in range(20):
                ddb.put_item(TableName="t", Item={**item, "item_id": {"S": f"id{n}"}})
            ddb.put_item(TableName="t", Item={"item_id": {"S": "bin"}, "b": {"B": b"\x00\x01"}})
            ddb.get_item(TableName="t", Key={"item_id": {"S": "id1"}})
            ddb.get_item(TableName="t", Key={"item_id": {"S": "missing"}})
            ddb.scan(TableName="t")
            ddb.scan(TableName="t", Limit=5, ReturnConsumedCapacity="TOTAL")
            ddb.update_item(
                TableName="t",
                Key={"item_id": {"S": "id1"}},
                UpdateExpression="ADD likes :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
            with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
                ddb.delete_item(
                    TableName="t", Key={"item_id": {"S": "missing"}}, ConditionExpression="attribute_exists(item_id)"
                )
            ddb.delete_item(TableName="t", Key={"item_id": {"S": "id2"}})
            ddb.query(
                TableName="t", KeyConditionExpression="item_id = :i", ExpressionAttributeValues={":i": {"S": "id3"}}
            )
            ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"item_id": {"S": "b1"}}}}]})
            ddb.describe_table(TableName="t")
            ddb.list_tables()
        finally:
            DynamoHandler.serialized = original
        yield calls


def test_fast_path_answers_like_moto(recorded):
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.serialized
    try:
        speedups.fast_dynamodb_responses()
        fast = DynamoHandler.serialized
        assert fast is not original
        took_fast_path = 0
        for handler, action_result, (status, _, body) in recorded:
            fast_status, headers, fast_body = fast(handler, action_result)
            assert (fast_status, json.loads(fast_body)) == (status, json.loads(body)), handler._get_action()
            assert headers["Content-Type"] == "application/x-amz-json-1.0"
            took_fast_path += speedups.plain_json(action_result.result) is not None
        assert took_fast_path >= len(recorded) - 5  # only binary, timestamps and errors fall back
    finally:
        DynamoHandler.serialized = original


def _scans(ddb) -> list:
    """Every kind of whole-table scan, paged by Limit and by the 1 MB page size."""
    answers = []
    for table in ("hash_only", "hash_range", "numbers"):
        for kwargs in (
            {},
            {"Limit": 7},
            {"Select": "COUNT"},
            {"ConsistentRead": True},
            {"FilterExpression": "likes > :n", "ExpressionAttributeValues": {":n": {"N": "3"}}},
            {"ProjectionExpression": "item_id"},
            {"Segment": 0, "TotalSegments": 2},
        ):
            pages, start = [], None
            while True:
                page = ddb.scan(TableName=table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
                page.pop("ResponseMetadata")
                pages.append(page)
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            answers.append((table, kwargs, pages))
    return answers


def test_fast_plain_scans_answer_like_moto():
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    originals = Table.scan, Table.all_items
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")
        schemas = {
            "hash_only": ([("item_id", "S", "HASH")]),
            "hash_range": ([("user", "S", "HASH"), ("created_at", "S", "RANGE")]),
            "numbers": ([("n", "N", "HASH")]),
        }
        for name, keys in schemas.items():
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, _ in keys],
                KeySchema=[{"AttributeName": k, "KeyType": kind} for k, _, kind in keys],
            )
        big = "閑さや" * 6000  # ~54 KB an item, 20 of them: past the 1 MB page limit
        for n in range(60):
            poem = {"S": big if n % 3 == 0 else f"line {n}"}
            ddb.put_item(
                TableName="hash_only",
                Item={"item_id": {"S": f"id{n * 7 % 60:02d}"}, "poem": poem, "likes": {"N": str(n % 5)}},
            )
            ddb.put_item(
                TableName="hash_range",
                Item={
                    "user": {"S": f"u{n % 4}"},
                    "poem": poem,
                    "created_at": {"S": f"2026-01-{n % 28 + 1:02d}T{n:02d}"},
                    "likes": {"N": str(n % 5)},
                },
            )
            ddb.put_item(TableName="numbers", Item={"n": {"N": str((n * 37) % 101 - 50)}, "likes": {"N": "1"}})
        try:
            expected = _scans(ddb)
            speedups.fast_plain_scans()
            assert Table.scan is not originals[0]
            assert _scans(ddb) == expected
        finally:
            Table.scan, Table.all_items = originals
    # the fixture data really pages: by size, and by Limit
    assert any(len(pages) > 1 for _, kwargs, pages in expected if not kwargs)
    assert any(len(pages) > 5 for _, kwargs, pages in expected if kwargs.get("Limit"))
