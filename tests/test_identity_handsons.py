"""Every hands-on's roles under enforcement, on a local cloud of this module's own: each works
with its least-privilege grants, and without one it needs it fails the way AWS makes it fail,
visibly (the command exits non-zero and the logs name the denied action); the grant put back
(IAM API on the local cloud) makes it work again."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, Result, cli_env, run_cli, target_for
from test_qa import CONTEXT, QUESTION, build_tiny_model

MNIST = str(ROOT / "src" / "introaws" / "data" / "mnist-sample")


@pytest.fixture(scope="module")
def cloud(module_home: Path) -> Path:
    return module_home


def run(home: Path, *args: str, **env: str) -> Result:
    return run_cli(home, *args, env=cli_env(home, **env))


def ok(home: Path, *args: str, **env: str) -> Result:
    result = run(home, *args, **env)
    assert result.code == 0, f"introaws {' '.join(args)}: {result.err}"
    return result


@contextmanager
def without(home: Path, role_arn: str, action: str) -> Iterator[str]:
    """The role's inline policies without ``action`` (through the IAM API) until the block ends;
    yields the role's name."""
    iam = target_for(home).client("iam")
    role = role_arn.rsplit("/", 1)[-1]
    saved = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    found = False
    for name, document in saved.items():
        stripped = copy.deepcopy(document)
        for statement in stripped["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            found = found or action in actions
            statement["Action"] = [a for a in actions if a != action] or ["sts:GetCallerIdentity"]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_json(stripped))
    assert found, f"{role} was never granted {action}"
    try:
        yield role
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_json(document))


def _json(document: dict) -> str:
    import json

    return json.dumps(document)


def shipped(home: Path, wanted: str, *args: str) -> str:
    """The output of a logs command once ``wanted`` is in it: log lines are shipped to
    CloudWatch Logs once a second, as on AWS they arrive seconds late."""
    deadline = time.monotonic() + 15
    while True:
        shown = ok(home, *args).out
        if wanted in shown or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def daemon_log(home: Path) -> str:
    return ok(home, "cloud", "logs", "--lines", "400").out


def test_the_qa_task_role_writes_its_table_and_a_missing_grant_fails_ask(cloud, tmp_path_factory):
    model = build_tiny_model(tmp_path_factory.mktemp("identity-qa-model"))
    outputs = ok(cloud, "qa", "up", "--model", str(model)).out and ok(cloud, "qa", "status", "--json").json()["outputs"]
    assert ok(cloud, "qa", "ask", CONTEXT, QUESTION, "--json").json()["status"] == "answered"
    ecs = target_for(cloud).client("ecs")
    task_role = ecs.describe_task_definition(taskDefinition=outputs["TaskDefinitionArn"])["taskDefinition"][
        "taskRoleArn"
    ]
    table = f"arn:aws:dynamodb:ap-northeast-1:123456789012:table/{outputs['TableName']}"
    with without(cloud, task_role, "dynamodb:PutItem") as role:
        failed = run(cloud, "qa", "ask", CONTEXT, QUESTION)
        assert failed.code != 0
        assert "AccessDeniedException" in failed.err and "dynamodb:PutItem" in failed.err  # the task's last lines
        assert f"assumed-role/{role}/" in daemon_log(cloud)
        assert f"dynamodb:PutItem on resource: {table}" in daemon_log(cloud)
    assert ok(cloud, "qa", "ask", CONTEXT, QUESTION, "--json").json()["status"] == "answered"
    ok(cloud, "qa", "down", "--yes")


def test_the_batch_job_role_writes_its_bucket_and_a_missing_grant_fails_the_job(cloud):
    ok(cloud, "batch", "up")
    point = ("batch", "sweep", "--lr", "0.1", "--momentum", "0.5", "--epochs", "1", "--json")
    assert {j["status"] for j in ok(cloud, *point, MNIST_DATA_DIR=MNIST).json()["jobs"]} == {"SUCCEEDED"}
    definition = ok(cloud, "batch", "status", "--json").json()["outputs"]["JobDefinitionArn"]
    batch = target_for(cloud).client("batch")
    job_role = batch.describe_job_definitions(jobDefinitions=[definition])["jobDefinitions"][0]["containerProperties"][
        "jobRoleArn"
    ]
    with without(cloud, job_role, "s3:PutObject"):
        failed = run(cloud, *point, MNIST_DATA_DIR=MNIST)
        assert failed.code != 0
        job = failed.json()["jobs"][0] if failed.out else None
        assert job is not None and job["status"] == "FAILED"
        shown = ok(cloud, "batch", "logs", job["job_id"], "--lines", "20").out
        assert "AccessDenied" in shown and "s3:PutObject" in shown
    assert {j["status"] for j in ok(cloud, *point, MNIST_DATA_DIR=MNIST).json()["jobs"]} == {"SUCCEEDED"}
    ok(cloud, "batch", "down", "--yes")


def test_each_haiku_function_does_its_one_action_and_a_missing_grant_is_a_500_in_its_logs(cloud):
    ok(cloud, "haiku", "up")
    posted = ok(cloud, "haiku", "post", "古池や", "蛙飛びこむ", "水の音", "--json").json()["item_id"]
    ok(cloud, "haiku", "like", posted)
    assert [h["item_id"] for h in ok(cloud, "haiku", "list", "--json").json()] == [posted]
    names = ok(cloud, "haiku", "logs", "--json").json()["functions"]
    post_role = target_for(cloud).client("lambda").get_function_configuration(FunctionName=names["post"])["Role"]
    with without(cloud, post_role, "dynamodb:PutItem"):
        failed = run(cloud, "haiku", "post", "閑さや", "岩にしみ入る", "蝉の声")
        assert failed.code != 0 and "answered 500" in failed.err and "haiku logs" in failed.err
        shown = shipped(cloud, "AccessDeniedException", "haiku", "logs", "post", "--lines", "30")
        assert "dynamodb:PutItem" in shown
        assert ok(cloud, "haiku", "list", "--json").json()  # the GET function is not affected
    ok(cloud, "haiku", "post", "閑さや", "岩にしみ入る", "蝉の声")
    ok(cloud, "haiku", "delete", posted, "--yes")
    ok(cloud, "haiku", "down", "--yes")


def test_the_pokemon_function_needs_no_grant(cloud):
    ok(cloud, "lambda", "up")
    assert "Congratulations" in ok(cloud, "lambda", "invoke", "--json").json()["result"]
    assert "REPORT RequestId" in shipped(cloud, "REPORT RequestId", "lambda", "logs", "--lines", "5")
    ok(cloud, "lambda", "down", "--yes")
