"""Bashoutter's Lambda handlers on their own: proxy events in, proxy responses out, against a
real DynamoDB table on the session's local cloud (no API Gateway, no Lambda runtime)."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from introaws.tasks.haiku import api

POEM = {"username": "松尾芭蕉", "first": "閑さや", "second": "岩にしみ入る", "third": "蟬の声"}


@pytest.fixture(scope="module")
def table(target):
    name = f"haiku-handlers-{uuid.uuid4().hex[:8]}"
    ddb = target.client("dynamodb")
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
    )
    yield name
    ddb.delete_table(TableName=name)


@pytest.fixture
def handlers(table, target, monkeypatch):
    for key, value in target.child_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TABLE_NAME", table)
    api._client = None  # a fresh client on this test's endpoint
    yield api
    api._client = None


def event(body=None, item_id=None, query=None, b64=False):
    raw = body if isinstance(body, str) or body is None else json.dumps(body, ensure_ascii=False)
    if b64 and raw is not None:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "body": raw,
        "isBase64Encoded": b64,
        "queryStringParameters": query,
        "pathParameters": {"item_id": item_id} if item_id else None,
    }


def body(response):
    return json.loads(response["body"]) if response["body"] else None


def test_post_list_like_delete_round_trip(handlers):
    created = handlers.post_haiku(event(POEM))
    assert created["statusCode"] == 201
    assert created["headers"]["Access-Control-Allow-Origin"] == "*"
    item_id = body(created)["item_id"]
    assert len(item_id) == 32 and int(item_id, 16) >= 0

    listed = body(handlers.get_haiku(event()))
    mine = next(i for i in listed if i["item_id"] == item_id)
    assert {k: mine[k] for k in POEM} == POEM
    assert mine["likes"] == 0 and mine["created_at"].endswith("+00:00")

    assert body(handlers.patch_haiku(event(item_id=item_id)))["likes"] == 1
    assert handlers.delete_haiku(event(item_id=item_id))["statusCode"] == 204
    assert item_id not in {i["item_id"] for i in body(handlers.get_haiku(event()))}


def test_base64_body_is_decoded(handlers):
    assert handlers.post_haiku(event(POEM, b64=True))["statusCode"] == 201


@pytest.mark.parametrize(
    "payload, message",
    [
        (None, "body is missing"),
        ("", "body is missing"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({**POEM, "first": None}, "'first' is missing"),
        ({k: v for k, v in POEM.items() if k != "third"}, "'third' is missing"),
        ({**POEM, "second": "   "}, "'second' is empty"),
        ({**POEM, "username": 7}, "'username' must be a string"),
        ({**POEM, "first": "あ" * 101}, "'first' is longer than 100"),
        ({**POEM, "username": "x" * 65}, "'username' is longer than 64"),
    ],
)
def test_bad_posts_are_400_and_write_nothing(handlers, payload, message):
    before = len(body(handlers.get_haiku(event())))
    response = handlers.post_haiku(event(payload))
    assert response["statusCode"] == 400
    assert message in body(response)["description"]
    assert len(body(handlers.get_haiku(event()))) == before


def test_unknown_item_is_404_and_never_a_phantom(handlers, target, table):
    missing = uuid.uuid4().hex
    assert handlers.patch_haiku(event(item_id=missing))["statusCode"] == 404
    assert handlers.delete_haiku(event(item_id=missing))["statusCode"] == 404
    assert "Item" not in target.client("dynamodb").get_item(TableName=table, Key={"item_id": {"S": missing}})


def test_pages_follow_cursor_newest_first(handlers):
    for n in range(5):
        handlers.post_haiku(event({**POEM, "first": f"page {n}"}))
    everything = body(handlers.get_haiku(event()))
    assert everything == sorted(everything, key=lambda i: (i["created_at"], i["item_id"]), reverse=True)
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = handlers.get_haiku(event(query=query))
        page = body(response)
        assert isinstance(page, list) and len(page) <= 2
        seen.extend(page)
        cursor = response["headers"].get(api.CURSOR_HEADER)
        if not cursor:
            break
    assert [i["item_id"] for i in seen] == [i["item_id"] for i in everything]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "many"}, {"cursor": "%%%"}])
def test_bad_paging_is_400(handlers, query):
    assert handlers.get_haiku(event(query=query))["statusCode"] == 400


def test_unexpected_failure_is_500_without_internals(handlers, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "no-such-table-" + uuid.uuid4().hex[:6])
    response = handlers.get_haiku(event())
    assert response["statusCode"] == 500
    assert body(response) == {"description": "Internal server error. Please try again later."}
