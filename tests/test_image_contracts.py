"""Image contracts: each task payload runs as its image would run it, and nothing else helps.

For ``containers/qa`` and ``containers/mnist``: the build context assembled exactly as the image
build does (``containers.build_context``), its COPY instructions laid out under a stand-in root,
a clean virtualenv holding only what the Dockerfile installs (and its base image brings; CPU
torch from the local wheel), and the payload run from there with the Dockerfile's ENV, WORKDIR
and entry point against the local cloud. A file, module or variable the image lacks fails the
run. The virtualenvs are kept in pytest's cache between runs, keyed by what they hold.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, cli_env, run_cli, target_for
from introaws import containers
from test_qa import build_tiny_model

pytestmark = pytest.mark.contracts

# What stands in, on this machine, for a distribution the Dockerfile or base image names.
LOCAL_PINS = {"torch": "torch==2.13.0"}  # the CPU wheel on this machine's disk
FIXTURE_MNIST = ROOT / "src" / "introaws" / "data" / "mnist-sample"


def requirements(image: containers.Image) -> list[str]:
    """What a clean environment needs to hold what the image holds."""
    wanted = [*image.base_packages, *image.packages]
    return sorted({LOCAL_PINS.get(r.split("=")[0].split(">")[0].split("<")[0], r) for r in wanted})


@pytest.fixture(scope="session")
def image_python(request: pytest.FixtureRequest):
    """``image_python(image)``: the interpreter of a virtualenv holding only the image's packages."""
    made: dict[str, Path] = {}

    def python(image: containers.Image) -> Path:
        wanted = requirements(image)
        key = hashlib.sha256(json.dumps([sys.version, wanted]).encode()).hexdigest()[:16]
        if key in made:
            return made[key]
        folder = request.config.cache.mkdir("image-venvs") / f"{image.name}-{key}"
        interpreter = folder / "bin" / "python"
        if not (folder / "complete").exists():
            for stale in folder.parent.glob(f"{image.name}-*"):  # an older install line's
                shutil.rmtree(stale, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
            # --no-compile: pip would byte-compile all of torch (18 s of a 7 s install); the
            # payload compiles only what it imports, once, on its first run.
            pip = [str(interpreter), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
            subprocess.run(
                [*pip, *wanted],
                check=True,
                timeout=900,
            )
            (folder / "complete").write_text("\n".join(wanted))
        made[key] = interpreter
        return interpreter

    return python


def image_root(image: containers.Image, context: Path, root: Path) -> Path:
    """The image's files as its COPY instructions lay them out, under ``root``."""
    for source, destination in image.copies:
        shutil.copytree(context / source, root / destination.lstrip("/"))
    (root / image.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


def run_payload(
    image: containers.Image, python: Path, root: Path, args: list[str], task_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run as the container would: its ENV (paths under ``root``), WORKDIR, entry point and
    command (``args`` replace CMD, as an ECS/Batch override does), plus the task's environment."""

    def inside(value: str) -> str:
        return os.pathsep.join(str(root / p.lstrip("/")) if p.startswith("/") else p for p in value.split(":"))

    env = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin", "HOME": str(root / "root"), "LANG": "C.UTF-8"}
    env.update({key: inside(value) for key, value in image.env.items()})
    env.update(task_env)
    argv = [str(python) if word in ("python", "python3") else word for word in (*image.entrypoint, *args)]
    return subprocess.run(
        argv, cwd=root / image.workdir.lstrip("/"), env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def qa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny QA model in place of the hub model the image bakes in."""
    return build_tiny_model(tmp_path_factory.mktemp("contract-qa-model"))


def cloud_env(target) -> dict[str, str]:
    """The local cloud's endpoint, region and keys (the administrator's: the payload runs
    outside the runtime here, so no role's credentials are issued to it)."""
    return target.child_env()


def test_qa_image_answers_and_saves_to_its_table(image_python, target, qa_model, tmp_path):
    image = containers.read("qa")
    context = containers.build_context("qa", tmp_path / "context")
    root = image_root(image, context, tmp_path / "root")
    table = f"contract-qa-{uuid.uuid4().hex[:8]}"
    ddb = target.client("dynamodb")
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        task_env = {**cloud_env(target), "TABLE_NAME": table, "QA_MODEL": str(qa_model)}  # as the task definition
        context_text = "Momotaro was born from a peach that an old woman found in the river."
        done = run_payload(
            image, image_python(image), root, [context_text, "Who was born from a peach?", "q1"], task_env
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert answer["answer"] and answer["answer"] in context_text
        saved = ddb.get_item(TableName=table, Key={"item_id": {"S": "q1"}})["Item"]
        assert saved["answer"]["S"] == answer["answer"]
    finally:
        ddb.delete_table(TableName=table)


def test_mnist_image_trains_an_epoch_and_uploads_its_csv(image_python, target, tmp_path):
    from introaws.tasks.mnist import __main__ as payload
    from introaws.workflows.batch import job_command

    image = containers.read("mnist")
    context = containers.build_context("mnist", tmp_path / "context", {"mnist": FIXTURE_MNIST})
    root = image_root(image, context, tmp_path / "root")
    bucket = f"contract-mnist-{uuid.uuid4().hex[:8]}"
    s3 = target.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": target.region})
    try:
        command = job_command(0.1, 0.5, 1, "contract", 64, None)  # what a sweep submits for one point
        task_env = {**cloud_env(target), "BUCKET_NAME": bucket, "OMP_NUM_THREADS": "1"}  # as the job definition
        done = run_payload(image, image_python(image), root, command, task_env)
        assert done.returncode == 0, done.stdout + done.stderr
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert f"contract/{payload.metrics_name(0.1, 0.5)}" in keys
        body = s3.get_object(Bucket=bucket, Key=f"contract/{payload.metrics_name(0.1, 0.5)}")["Body"].read().decode()
        assert body.splitlines()[0] == ",".join(payload.CSV_COLUMNS) and len(body.splitlines()) == 2
    finally:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("name", ["qa", "mnist"])
def test_payload_imports_nothing_its_image_lacks(name):
    """What the local cloud checks before it runs a payload (and warns about): here, nothing."""
    image = containers.read(name)
    module = image.payload_module()
    assert module and containers.for_payload(module) == image
    assert containers.missing_modules(image, module) == ()
    assert containers.outside_image(module) is None


def test_a_package_missing_from_the_image_is_found():
    qa = containers.read("qa")
    without_boto3 = dataclasses.replace(qa, packages=tuple(p for p in qa.packages if p != "boto3"))
    assert containers.missing_modules(without_boto3, "introaws.tasks.qa") == ("boto3",)
    # The images hold the payloads only: code that reaches into the rest of introaws is found.
    assert containers.missing_modules(qa, "introaws.workflows.data") == (
        "introaws.errors",
        "introaws.i18n",
        "introaws.paths",
        "introaws.progress",
        "platformdirs",
    )


def test_the_local_cloud_warns_when_a_task_imports_what_its_image_lacks(fresh_home, tmp_path):
    """In the task's log and the daemon's, before the task's own output."""
    folder = tmp_path / "containers"
    shutil.copytree(containers.CONTAINERS_DIR, folder)
    dockerfile = folder / "qa" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace('"transformers>=5" boto3', '"transformers>=5"'))
    env = cli_env(fresh_home, INTROAWS_CONTAINERS_DIR=str(folder), INTROAWS_ECS_WORKER="cold")
    assert run_cli(fresh_home, "cloud", "start", env=env).code == 0
    cloud = target_for(fresh_home)
    ecs, logs = cloud.client("ecs"), cloud.client("logs")
    logs.create_log_group(logGroupName="/contract")
    ecs.create_cluster(clusterName="contract")
    ecs.register_task_definition(
        family="contract-qa",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "qa",
                "image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/introaws-qa:latest",
                "memory": 512,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/contract", "awslogs-stream-prefix": "qa"},
                },
            }
        ],
    )
    ec2 = cloud.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]}])
    network = {
        "awsvpcConfiguration": {
            "subnets": [subnet["SubnetId"]],
            "securityGroups": [group["SecurityGroups"][0]["GroupId"]],
        }
    }
    task = ecs.run_task(
        cluster="contract", taskDefinition="contract-qa", launchType="FARGATE", networkConfiguration=network
    )["tasks"][0]
    ecs.get_waiter("tasks_stopped").wait(cluster="contract", tasks=[task["taskArn"]], WaiterConfig={"Delay": 1})
    stream = f"qa/qa/{task['taskArn'].rsplit('/', 1)[-1]}"
    lines = [e["message"] for e in logs.get_log_events(logGroupName="/contract", logStreamName=stream)["events"]]
    assert "imports boto3" in lines[0] and "containers/qa/Dockerfile" in lines[0], lines
    assert "imports boto3" in run_cli(fresh_home, "cloud", "logs", env=env).out
