"""docs/haiku-openapi.yaml describes the live API exactly: the same routes, and every answer
the API gives (status, CORS header, body) is one the document allows."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

SPEC_PATH = Path(__file__).resolve().parent.parent / "docs" / "haiku-openapi.yaml"
POEM = {"username": "一茶", "first": "やせ蛙", "second": "負けるな一茶", "third": "これにあり"}


@pytest.fixture(scope="module")
def spec():
    from openapi_spec_validator import validate

    document = yaml.safe_load(SPEC_PATH.read_text())
    validate(document)
    return document


def resolve(node, spec):
    """The node with every local $ref inlined (the document has no recursive schemas)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, spec)
        return {k: resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, spec) for v in node]
    return node


@pytest.fixture(scope="module")
def deployed(haiku_site):
    return haiku_site


def call(url, method, body=None, raw=None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def test_document_has_exactly_the_deployed_routes(spec, deployed, target):
    api_id = deployed["api_endpoint"].split("/_introaws/execute-api/")[1].split("/")[0]
    live = {
        (r["path"], m.lower())
        for r in target.client("apigateway").get_resources(restApiId=api_id)["items"]
        for m in r.get("resourceMethods", {})
    }
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert documented == live


def test_every_answer_is_documented(spec, deployed):
    from openapi_schema_validator import OAS30Validator

    base = deployed["api_endpoint"]
    missing = uuid.uuid4().hex
    created = json.loads(call(base + "haiku", "POST", POEM)[2])["item_id"]
    exchanges = [
        ("/haiku", "get", base + "haiku", None, None),
        ("/haiku", "get", base + "haiku?limit=1", None, None),
        ("/haiku", "get", base + "haiku?limit=0", None, None),
        ("/haiku", "post", base + "haiku", POEM, None),
        ("/haiku", "post", base + "haiku", None, b"nope"),
        ("/haiku", "post", base + "haiku", {**POEM, "first": ""}, None),
        ("/haiku", "options", base + "haiku", None, None),
        ("/haiku/{item_id}", "patch", f"{base}haiku/{created}", None, None),
        ("/haiku/{item_id}", "patch", f"{base}haiku/{missing}", None, None),
        ("/haiku/{item_id}", "options", f"{base}haiku/{created}", None, None),
        ("/haiku/{item_id}", "delete", f"{base}haiku/{created}", None, None),
        ("/haiku/{item_id}", "delete", f"{base}haiku/{missing}", None, None),
        ("/", "options", base, None, None),
    ]
    seen = set()
    for path, method, url, body, raw in exchanges:
        status, headers, text = call(url, method.upper(), body, raw)
        responses = spec["paths"][path][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {path} answered undocumented {status}"
        seen.add((path, method, str(status)))
        documented = resolve(responses[str(status)], spec)
        for header in documented.get("headers", {}):
            if header == "Access-Control-Allow-Origin":
                assert headers[header] == "*", f"{method.upper()} {path} {status} lacks CORS"
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            assert text == "", f"{method.upper()} {path} {status} has an undocumented body"
        else:
            OAS30Validator(schema).validate(json.loads(text))
    documented_pairs = {
        (p, m, s)
        for p, item in spec["paths"].items()
        for m, op in item.items()
        if m != "parameters"
        for s in op["responses"]
        if s != "500"
    }
    assert documented_pairs == seen  # every documented answer but 500 was produced and checked
