"""Bashoutter end to end on the local cloud: the CLI, plain HTTP like curl, and the contract
clients of the textbook's API rely on (status codes, CORS, bad input, concurrency)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import cli_env

POEM = {"username": "松尾芭蕉", "first": "閑さや", "second": "岩にしみ入る", "third": "蟬の声"}


@pytest.fixture(scope="module")
def deployed(haiku_site):
    return haiku_site


@pytest.fixture(scope="module")
def base(deployed):
    return deployed["api_endpoint"]


def http(method, url, body=None, raw=None, headers=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            status, reply_headers, text = reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as exc:
        status, reply_headers, text = exc.code, exc.headers, exc.read().decode()
    return status, reply_headers, (json.loads(text) if text else None)


def count(base):
    return len(http("GET", base + "haiku")[2])


def test_up_prints_both_local_urls(cli, deployed):
    assert deployed["api_endpoint"].startswith("http://127.0.0.1:")
    assert "/_introaws/execute-api/" in deployed["api_endpoint"]
    assert "/_introaws/website/" in deployed["website_url"]
    again = cli("haiku", "up")
    assert again.code == 0, again.err
    assert deployed["api_endpoint"] in again.out and deployed["website_url"] in again.out


def test_cli_round_trip_keeps_japanese(cli, home, deployed):
    posted = cli(
        "haiku", "post", POEM["first"], POEM["second"], POEM["third"], "--username", POEM["username"], "--json"
    )
    assert posted.code == 0, posted.err
    item_id = posted.json()["item_id"]
    listed = cli("haiku", "list", "--json").json()
    assert {k: listed[0][k] for k in POEM} == POEM and listed[0]["item_id"] == item_id
    assert "閑さや" in cli("haiku", "list").out
    plain = cli("haiku", "post", "a", "b", "c")  # the id alone on stdout: ID=$(introaws haiku post ...)
    assert plain.code == 0 and plain.out.strip() in {i["item_id"] for i in cli("haiku", "list", "--json").json()}
    cli("haiku", "delete", plain.out.strip(), "--yes")
    assert cli("haiku", "like", item_id, "--json").json()["likes"] == 1
    refused = cli("haiku", "delete", item_id)  # deleting asks; without a terminal it needs --yes
    assert refused.code != 0 and "--yes" in refused.err
    assert item_id in {i["item_id"] for i in cli("haiku", "list", "--json").json()}
    assert cli("haiku", "delete", item_id, "--yes", "--json").json() == {"item_id": item_id, "deleted": True}
    assert item_id not in {i["item_id"] for i in cli("haiku", "list", "--json").json()}
    missing = cli("haiku", "like", item_id)
    assert missing.code == 3 and "the haiku API answered 404: no haiku with item_id" in missing.err
    # In Japanese: the lead-in and the hint translated, the API's own words as it sent them.
    japanese = cli("haiku", "like", item_id, env=cli_env(home, LANG="ja_JP.UTF-8"))
    assert "error: 俳句 API が 404 を返しました: no haiku with item_id" in japanese.err, japanese.err


def test_curl_round_trip_with_trailing_slash(base):
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            base + "haiku",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(POEM, ensure_ascii=False),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    item_id = json.loads(out.stdout)["item_id"]
    assert base.endswith("/")  # clients append "haiku" to a base ending in "/prod/"
    status, _, items = http("GET", base + "/haiku")
    assert status == 200 and any(i["item_id"] == item_id and i["third"] == "蟬の声" for i in items)
    status, _, liked = http("PATCH", f"{base}haiku/{item_id}")
    assert (status, liked["likes"]) == (200, 1)
    assert http("DELETE", f"{base}haiku/{item_id}")[0] == 204


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "body is missing"),
        (b"{oops", "not valid JSON"),
        (json.dumps({**POEM, "first": ""}).encode(), "'first' is empty"),
        (json.dumps({**POEM, "second": 5}).encode(), "'second' must be a string"),
        (json.dumps({k: v for k, v in POEM.items() if k != "username"}).encode(), "'username' is missing"),
        (json.dumps({**POEM, "third": "x" * 101}).encode(), "longer than 100"),
    ],
)
def test_bad_input_is_400_with_cors_and_writes_nothing(base, raw, message):
    before = count(base)
    status, headers, body = http("POST", base + "haiku", raw=raw)
    assert status == 400 and message in body["description"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert count(base) == before


def test_unknown_ids_are_404_never_phantoms(base):
    missing = uuid.uuid4().hex
    before = count(base)
    for method in ("PATCH", "DELETE"):
        status, headers, body = http(method, f"{base}haiku/{missing}")
        assert status == 404 and missing in body["description"]
        assert headers["Access-Control-Allow-Origin"] == "*"
    assert count(base) == before


@pytest.mark.parametrize("path", ["haiku", "haiku/0123abcd", ""])
def test_preflight_answers_every_path(base, path):
    status, headers, _ = http(
        "OPTIONS", base + path, headers={"Origin": "http://example.com", "Access-Control-Request-Method": "PATCH"}
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in headers["Access-Control-Allow-Methods"]


def test_unknown_route_is_api_gateways_403_with_cors(base):
    status, headers, body = http("GET", base + "poems")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_flood_300_adds_exactly_300(cli, base):
    before = count(base)
    flooded = cli("haiku", "flood", "300", "--concurrency", "16", "--json")
    assert flooded.code == 0, flooded.err
    result = flooded.json()
    assert result["succeeded"] == 300 and result["errors"] == 0, result["status_counts"]
    assert set(result["latency_ms"]) >= {"p50", "p95", "p99"}
    assert len(cli("haiku", "list", "--json").json()) == before + 300


def test_200_concurrent_likes_all_count(base):
    item_id = http("POST", base + "haiku", POEM)[2]["item_id"]
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda _: http("PATCH", f"{base}haiku/{item_id}")[0], range(200)))
    assert statuses == [200] * 200
    likes = next(i["likes"] for i in http("GET", base + "haiku")[2] if i["item_id"] == item_id)
    assert likes == 200


def test_pagination_keeps_the_array_shape(base):
    status, headers, page = http("GET", base + "haiku?limit=5")
    assert status == 200 and isinstance(page, list) and len(page) == 5
    cursor = headers["X-Next-Cursor"]
    status, _, following = http("GET", f"{base}haiku?limit=5&cursor={cursor}")
    everything = http("GET", base + "haiku")[2]
    assert [i["item_id"] for i in page + following] == [i["item_id"] for i in everything[:10]]


def test_website_serves_the_page_with_the_endpoint(deployed):
    status, headers, _ = http("GET", deployed["website_url"].rstrip("/") + "/config.json")
    assert status == 200
    with urllib.request.urlopen(deployed["website_url"]) as reply:
        assert reply.headers["Content-Type"].startswith("text/html")
        assert "Bashoutter" in reply.read().decode()
    with urllib.request.urlopen(deployed["website_url"] + "config.json") as reply:
        assert json.load(reply) == {"apiEndpoint": deployed["api_endpoint"]}


def test_clear_empties_the_table(cli, base):
    assert count(base) > 0
    refused = cli("haiku", "clear")
    assert refused.code == 5 and count(base) > 0
    assert cli("haiku", "clear", "--yes").code == 0
    assert count(base) == 0


def test_urls_survive_a_daemon_restart(cli, deployed, base):
    item_id = http("POST", base + "haiku", POEM)[2]["item_id"]
    assert cli("cloud", "stop").code == 0
    assert cli("cloud", "start").code == 0
    status, _, items = http("GET", base + "haiku")
    assert status == 200 and item_id in {i["item_id"] for i in items}
    with urllib.request.urlopen(deployed["website_url"]) as reply:
        assert reply.status == 200
