"""The Lambda mini hands-on through the CLI, and the local cloud's Lambda runtime: real code
in warm worker processes, sync and async Invoke, timeout, memory, errors, logs, concurrency."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile

import pytest

from introaws import platform

CODE = """
import json, os, time

def ok(event, context):
    print("hello from", context.function_name)
    return {"echo": event, "pid": os.getpid(), "table": os.environ.get("TABLE"),
            "left_ms": context.get_remaining_time_in_millis()}

def fail(event, context):
    raise ValueError("the handler failed on purpose")

def slow(event, context):
    time.sleep(event.get("sleep", 3))
    return "woke up"

def hog(event, context):
    block = bytearray(300 * 2**20)
    time.sleep(1)  # over its size for longer than the runtime's memory checks are apart
    return len(block)

def spike(event, context):
    del bytearray(300 * 2**20)[:]  # filled and freed at once, between two memory samples
    return "back under its size"
"""


@pytest.fixture(scope="module")
def lambda_client(target):
    return target.client("lambda")


@pytest.fixture(scope="module")
def make_function(lambda_client, target):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", CODE)
    role = target.client("iam").create_role(
        RoleName=f"lambda-test-{uuid.uuid4().hex[:6]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    created = []

    def make(handler: str, **config) -> str:
        name = f"test-{handler}-{uuid.uuid4().hex[:6]}"
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=f"app.{handler}",
            Code={"ZipFile": buffer.getvalue()},
            **config,
        )
        created.append(name)
        return name

    yield make
    for name in created:
        lambda_client.delete_function(FunctionName=name)


def invoke(client, name, payload=None, **kwargs):
    reply = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kwargs)
    return reply, json.loads(reply["Payload"].read() or b"null")


def test_sync_invoke_runs_the_code_warm(lambda_client, make_function):
    name = make_function("ok", Environment={"Variables": {"TABLE": "t1"}}, Timeout=5)
    reply, first = invoke(lambda_client, name, {"n": 1})
    assert reply["StatusCode"] == 200 and "FunctionError" not in reply
    assert first["echo"] == {"n": 1} and first["table"] == "t1" and 0 < first["left_ms"] <= 5000
    _, second = invoke(lambda_client, name, {"n": 2})
    assert second["pid"] == first["pid"]  # the same warm worker


def test_handler_error_is_a_function_error(lambda_client, make_function):
    reply, body = invoke(lambda_client, make_function("fail"))
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and "on purpose" in body["errorMessage"]


def test_timeout_kills_the_run(lambda_client, make_function):
    name = make_function("slow", Timeout=1)
    started = time.monotonic()
    reply, body = invoke(lambda_client, name, {"sleep": 5})
    assert time.monotonic() - started < 4
    assert reply["FunctionError"] == "Unhandled" and "Task timed out after 1.00 seconds" in body["errorMessage"]
    reply, body = invoke(lambda_client, name, {"sleep": 0})  # a new worker takes over
    assert body == "woke up"


def test_memory_size_is_enforced(lambda_client, make_function):
    reply, body = invoke(lambda_client, make_function("hog", MemorySize=128, Timeout=10))
    assert reply["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.OutOfMemory"


@pytest.mark.skipif(
    platform.peak_rss_bytes(os.getpid()) is None, reason="this system keeps no peak memory of a running process"
)
def test_a_memory_spike_between_two_samples_counts(lambda_client, make_function):
    """Where the system keeps a process's peak (Linux), a function back under its size when it
    returns still fails, as a cgroup-limited Lambda would."""
    for _ in range(3):  # sampling alone caught this about half the time
        reply, body = invoke(lambda_client, make_function("spike", MemorySize=128, Timeout=10))
        assert reply["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.OutOfMemory"


def test_logs_reach_cloudwatch(lambda_client, make_function, target):
    name = make_function("ok")
    reply, _ = invoke(lambda_client, name, LogType="Tail")
    request_id = reply["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + 10
    messages = []
    while time.monotonic() < deadline and not any(m.startswith("REPORT") for m in messages):
        time.sleep(0.5)
        try:
            events = target.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except target.client("logs").exceptions.ResourceNotFoundException:
            continue
        messages = [e["message"] for e in events]
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert any(m.startswith("hello from") for m in messages)
    assert any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages)


def test_async_invokes_respect_reserved_concurrency(lambda_client, make_function, target):
    name = make_function("slow", Timeout=5)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
    ids = set()
    for _ in range(6):
        reply = lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"sleep": 0.5}')
        assert reply["StatusCode"] == 202
        ids.add(reply["ResponseMetadata"]["RequestId"])
    from introaws.workflows.lambda_ import _peak, _read_log_lines

    starts, ends = {}, {}
    deadline = time.monotonic() + 20
    while len(ends) < 6 and time.monotonic() < deadline:
        time.sleep(0.5)
        _read_log_lines(target, name, 0, ids, starts, ends)
    assert len(ends) == 6
    assert _peak(starts, ends) == 2


def test_unknown_function_is_moto_404(lambda_client):
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="no-such-function")


@pytest.fixture(scope="module")
def simple_lambda(cli):
    up = cli("lambda", "up")
    assert up.code == 0, up.err
    assert "FunctionName" in up.out
    yield
    cli("lambda", "down", "--yes")


def test_invoke_prints_a_starter(cli, simple_lambda):
    result = cli("lambda", "invoke", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["result"] in {f"Congratulations! You are given {p}" for p in ("Charmander", "Bulbasaur", "Squirtle")}
    assert 2.0 <= data["seconds"] < 9


def test_invoke_many_counts_completions_and_peak(cli, simple_lambda):
    result = cli("lambda", "invoke-many", "20", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["submitted"] == 20 and data["completed"] == 20
    assert 10 <= data["peak_concurrency"] <= 20  # 20 sleeps of 2-5 s overlap heavily
