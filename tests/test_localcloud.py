"""The local cloud daemon: one per home, found again, restarted, reset; its journal and hooks."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from importlib import metadata
from pathlib import Path

import pytest

from conftest import cli_env, run_cli, target_for
from introaws import __version__
from introaws.localcloud.journal import Journal
from introaws.localcloud.requests import Recorded
from test_errors import one_error_line


def status(home: Path) -> dict:
    return run_cli(home, "cloud", "status", "--json").json()


def test_status_shape_and_start_stop(fresh_home):
    stopped = status(fresh_home)
    assert stopped["running"] is False and stopped["endpoint"] is None and stopped["pid"] is None
    assert run_cli(fresh_home, "cloud", "start").code == 0
    running = status(fresh_home)
    assert running["running"] is True
    assert running["endpoint"].startswith("http://127.0.0.1:")
    assert isinstance(running["pid"], int)
    assert run_cli(fresh_home, "cloud", "start").code == 0  # idempotent: same daemon
    assert status(fresh_home)["pid"] == running["pid"]
    assert run_cli(fresh_home, "cloud", "stop").code == 0
    assert status(fresh_home)["running"] is False
    # The port is kept for the next start, so printed URLs stay valid.
    run_cli(fresh_home, "cloud", "start")
    assert status(fresh_home)["endpoint"] == running["endpoint"]


def test_two_homes_are_two_clouds(fresh_home, home, cli):
    assert cli("keypair", "create", "OnlyInSessionHome").code == 0
    try:
        names = {p["name"] for p in run_cli(fresh_home, "keypair", "list", "--json").json()}
        assert "OnlyInSessionHome" not in names
        assert status(fresh_home)["endpoint"] != cli("cloud", "status", "--json").json()["endpoint"]
    finally:
        cli("keypair", "delete", "OnlyInSessionHome", "--yes")


def test_stale_pid_file_is_ignored(fresh_home):
    state = fresh_home / "data" / "localcloud"
    state.mkdir(parents=True)
    (state / "daemon.json").write_text(json.dumps({"pid": os.getpid(), "port": 1}))  # not a daemon
    assert status(fresh_home)["running"] is False
    assert run_cli(fresh_home, "cloud", "start").code == 0
    assert status(fresh_home)["pid"] != os.getpid()


def test_port_taken_by_someone_else(fresh_home):
    assert run_cli(fresh_home, "cloud", "start").code == 0
    old = status(fresh_home)
    run_cli(fresh_home, "cloud", "stop")
    port = int(old["endpoint"].rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the old daemon's TIME_WAITs
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        assert run_cli(fresh_home, "cloud", "start").code == 0
        assert status(fresh_home)["endpoint"] != old["endpoint"]


def test_reset_asks_then_wipes(fresh_home):
    assert run_cli(fresh_home, "keypair", "create", "Gone").code == 0
    assert "--yes" in one_error_line(run_cli(fresh_home, "cloud", "reset"))
    assert "Gone" in {p["name"] for p in run_cli(fresh_home, "keypair", "list", "--json").json()}
    assert run_cli(fresh_home, "cloud", "reset", "--yes").code == 0
    assert run_cli(fresh_home, "keypair", "list", "--json").json() == []


def test_logs(fresh_home):
    run_cli(fresh_home, "cloud", "start")
    assert "serving on http://127.0.0.1:" in run_cli(fresh_home, "cloud", "logs").out


def test_killed_daemon_with_torn_journal_line_recovers(fresh_home):
    assert run_cli(fresh_home, "keypair", "create", "Kept").code == 0
    pid = status(fresh_home)["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    journal = fresh_home / "data" / "localcloud" / "journal.jsonl"
    with journal.open("a") as handle:
        handle.write('{"seq": 999, "method": "POST", "pa')  # a write cut short by the kill
    assert "Kept" in {p["name"] for p in run_cli(fresh_home, "keypair", "list", "--json").json()}
    assert run_cli(fresh_home, "keypair", "create", "After").code == 0
    run_cli(fresh_home, "cloud", "stop")
    names = {p["name"] for p in run_cli(fresh_home, "keypair", "list", "--json").json()}
    assert names == {"Kept", "After"}


def test_journal_skips_reads_and_keeps_writes(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.open_for_append()
    write = Recorded("POST", "/", "", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, b"{}", seq=1)
    journal.append(write)
    journal.close()
    entries = list(Journal(tmp_path / "journal.jsonl").entries())
    assert [(e.seq, e.action, e.body) for e in entries] == [(1, "PutItem", b"{}")]


def test_journal_starts_with_its_format_and_moto_version(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.open_for_append()
    journal.close()
    first = json.loads((tmp_path / "journal.jsonl").read_text().splitlines()[0])
    assert first == {"journal_format": 1, "moto": metadata.version("moto"), "introaws": __version__}


@pytest.mark.parametrize(
    "header, writer",
    [
        ({"journal_format": 1, "moto": "5.0.0", "introaws": "0.0.9"}, "introaws 0.0.9 with moto 5.0.0"),
        ({"journal_format": 99, "moto": metadata.version("moto"), "introaws": "9.0.0"}, "journal format 99"),
        (None, "older than journal format 1"),  # written before journals had a header
    ],
)
def test_journal_of_another_moto_or_format_is_refused(fresh_home, header, writer):
    home = fresh_home
    journal = home / "data" / "localcloud" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    entry = Recorded("POST", "/", "", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, b"{}", seq=1).to_json()
    written = ("" if header is None else json.dumps(header) + "\n") + entry + "\n"
    journal.write_text(written)

    line = one_error_line(run_cli(home, "cloud", "start"))
    assert writer in line and "introaws cloud reset" in line, line
    assert status(home)["running"] is False
    assert journal.read_text() == written  # left as it was
    assert run_cli(home, "cloud", "reset", "--yes").code == 0
    assert not journal.exists()
    assert run_cli(home, "keypair", "list", "--json").json() == []  # and the cloud starts, empty


def test_failed_request_that_changed_state_replays_to_the_same_state(fresh_home):
    """moto applies a BatchWriteItem's puts one by one and rejects an item without its key
    after writing the ones before it: what the client can read must survive a restart."""
    ddb = target_for(fresh_home).client("dynamodb")
    table, key = "people", "item_id"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ddb.exceptions.ClientError):
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {key: {"S": "written-first"}, "age": {"N": "3"}}}},
                    {"PutRequest": {"Item": {"age": {"N": "4"}}}},  # no key: rejected
                ]
            }
        )
    before = ddb.scan(TableName=table)["Items"]
    assert [item[key]["S"] for item in before] == ["written-first"]
    assert run_cli(fresh_home, "cloud", "stop").code == 0
    assert run_cli(fresh_home, "cloud", "start").code == 0
    assert target_for(fresh_home).client("dynamodb").scan(TableName=table)["Items"] == before


def test_which_requests_change_state():
    def form(action: str) -> Recorded:
        return Recorded(
            "POST",
            "/",
            "",
            {"CONTENT_TYPE": "application/x-www-form-urlencoded"},
            f"Action={action}&Version=1".encode(),
        )

    assert form("CreateChangeSet").changes_state()
    assert not form("DescribeStacks").changes_state()
    assert Recorded("POST", "/", "", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.BatchWriteItem"}, b"").changes_state()
    assert not Recorded("POST", "/", "", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Scan"}, b"").changes_state()
    assert Recorded("PUT", "/bucket/key", "", {}, b"x").changes_state()
    assert not Recorded("GET", "/bucket/key", "", {}, b"").changes_state()
    assert not Recorded("POST", "/v1/describejobs", "", {}, b"{}").changes_state()
    assert Recorded("POST", "/v1/submitjob", "", {}, b"{}").changes_state()
    assert not Recorded("GET", "/_introaws/health", "", {}, b"").changes_state()


def test_replayed_ids_match_the_originals(fresh_home):
    """Generated names (here a CloudFormation-made table name) come back identical after replay."""
    assert run_cli(fresh_home, "ddb", "up").code == 0
    before = run_cli(fresh_home, "ddb", "status", "--json").json()["outputs"]["TableName"]
    run_cli(fresh_home, "cloud", "stop")
    after = target_for(fresh_home).client("dynamodb").list_tables()["TableNames"]
    assert after == [before]


def test_compaction_keeps_items_and_logs_and_shortens_the_journal(fresh_home):
    """Item writes and log batches are history: a stop after a long run rewrites them as the
    current state, and the next start comes back to exactly the same items and log events."""
    env = cli_env(fresh_home, INTROAWS_COMPACT_AFTER="40")
    assert run_cli(fresh_home, "ddb", "up", env=env).code == 0
    target = target_for(fresh_home)
    ddb, logs = target.client("dynamodb"), target.client("logs")
    table = ddb.list_tables()["TableNames"][0]
    key = ddb.describe_table(TableName=table)["Table"]["KeySchema"]
    names = {k["KeyType"]: k["AttributeName"] for k in key}

    def item_key(n: int) -> dict:
        return {names["HASH"]: {"S": f"user{n}"}, **({names["RANGE"]: {"S": f"{n:04d}"}} if "RANGE" in names else {})}

    for n in range(60):
        ddb.put_item(TableName=table, Item={**item_key(n), "age": {"N": str(n)}, "poem": {"S": "閑さや"}})
    for n in range(0, 60, 3):
        ddb.update_item(
            TableName=table,
            Key=item_key(n),
            UpdateExpression="ADD likes :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    for n in range(0, 60, 5):
        ddb.delete_item(TableName=table, Key=item_key(n))
    logs.create_log_group(logGroupName="/aws/lambda/kept")
    logs.create_log_stream(logGroupName="/aws/lambda/kept", logStreamName="s")
    for n in range(20):
        logs.put_log_events(
            logGroupName="/aws/lambda/kept",
            logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": f"line {n}"}],
        )

    def state() -> tuple:
        items = sorted(ddb.scan(TableName=table)["Items"], key=lambda i: json.dumps(i, sort_keys=True))
        events = [
            e["message"]
            for e in logs.get_log_events(logGroupName="/aws/lambda/kept", logStreamName="s", startFromHead=True)[
                "events"
            ]
        ]
        return items, events

    before = state()
    journal = fresh_home / "data" / "localcloud" / "journal.jsonl"
    entries_before = len(journal.read_text().splitlines())
    assert run_cli(fresh_home, "cloud", "stop", env=env).code == 0
    entries_after = journal.read_text().splitlines()
    assert len(entries_after) < entries_before - 60
    targets = [json.loads(line)["headers"].get("HTTP_X_AMZ_TARGET") for line in entries_after[1:]]  # after the header
    assert "DynamoDB_20120810.PutItem" not in targets and "DynamoDB_20120810.DeleteItem" not in targets
    assert run_cli(fresh_home, "cloud", "start").code == 0  # same port: the clients above still work
    assert state() == before
    assert len(before[0]) == 48 and len(before[1]) == 20


def _exchange(port: int, raw: bytes) -> tuple[bytes, bool]:
    """Send ``raw`` on a new connection: what came back, and whether the server closed it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        sock.settimeout(1.0)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            return data, False
        return data, True


def test_listener_keeps_connections_alive_and_refuses_malformed_requests(home):
    port = int(target_for(home).endpoint_url.rsplit(":", 1)[1])
    health = b"GET /_introaws/health HTTP/1.1\r\nHost: x\r\n\r\n"
    data, closed = _exchange(port, health * 2)  # two requests, one connection
    assert data.count(b"HTTP/1.1 200 OK") == 2 and not closed
    chunked = b"POST /_introaws/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    data, closed = _exchange(port, chunked + health)  # the chunked body is read to its end
    assert data.count(b"HTTP/1.1 200 OK") == 2 and not closed
    data, closed = _exchange(port, b"GET /_introaws/health HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK") and closed  # HTTP/1.0 closes after the answer
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: many\r\n\r\n",
    ):
        data, closed = _exchange(port, raw)
        assert data.startswith(b"HTTP/1.1 400 ") and closed, raw


@pytest.mark.parametrize(
    "setting, words",
    [
        ({"INTROAWS_TTL_MINUTE_S": "abc"}, "INTROAWS_TTL_MINUTE_S='abc' is not a number of seconds above 0"),
        ({"INTROAWS_LOCAL_CORES": "1.5"}, "INTROAWS_LOCAL_CORES='1.5' is not a whole number above 0"),
        ({"INTROAWS_WORKER_IDLE_S": "-1"}, "INTROAWS_WORKER_IDLE_S='-1' is not a number of seconds above 0"),
    ],
)
def test_a_bad_setting_is_one_line_and_starts_nothing(fresh_home, setting, words):
    """Read by the daemon when it starts; the CLI checks them first (the daemon would exit with a
    traceback in its log)."""
    line = one_error_line(run_cli(fresh_home, "cloud", "start", env=cli_env(fresh_home, **setting)))
    assert words in line and "unset it" in line, line
    assert status(fresh_home)["running"] is False
