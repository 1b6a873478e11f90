"""Container images for AWS, built by the one image builder through the real Docker SDK against
a stand-in engine (tests/docker_standin.py), with the AWS path of the CLI pointed at the local
cloud's endpoint: always linux/amd64, the context holds the payloads, failures are one line."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, aws_env, aws_keys, run_cli
from introaws.target import Target
from introaws.workflows import batch
from introaws.workflows.batch import STATES

FIXTURE = ROOT / "src" / "introaws" / "data" / "mnist-sample"
REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def batch_stack(cli):
    up = cli("batch", "up")
    assert up.code == 0, up.err
    yield
    cli("batch", "down", "--yes")


def aws_cli(home, engine_host, *args):
    """``introaws --cloud aws ...`` against the local cloud's endpoint and a stand-in engine."""
    env = aws_env(home, DOCKER_HOST=engine_host, MNIST_DATA_DIR=str(FIXTURE))
    return run_cli(home, "--cloud", "aws", "--region", REGION, *args, env=env)


def test_batch_push_builds_linux_amd64_with_the_payloads_and_data(batch_stack, home, docker_engine):
    engine, host = docker_engine
    pushed = aws_cli(home, host, "batch", "push")
    assert pushed.code == 0, pushed.err
    (build,) = engine.builds
    assert build.query["platform"] == "linux/amd64"
    assert build.query["t"].endswith(":latest") and ".dkr.ecr." in build.query["t"]
    assert {"Dockerfile", "introaws/__init__.py", "introaws/tasks/mnist/train.py"} <= set(build.files)
    assert any(name.startswith("mnist/train-images") for name in build.files)
    assert not any(name.startswith("introaws/cli") for name in build.files)  # payloads only
    assert engine.pushes and "building" in pushed.err and "pushed" in pushed.err


def test_a_failed_build_is_one_error_line_with_dockers_last_lines(batch_stack, home, docker_engine):
    engine, host = docker_engine
    engine.fail_build_with = ["Step 2/6 : RUN pip install [nothing]", "ERROR: No matching distribution", "exit 1"]
    failed = aws_cli(home, host, "batch", "push")
    assert failed.code == 6
    errors = [line for line in failed.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in failed.err
    assert "building the mnist image failed" in errors[0]
    assert "ERROR: No matching distribution | exit 1" in errors[0]
    assert "[nothing]" in failed.err  # Docker's text printed literally, not taken as markup
    assert not engine.pushes


def test_no_engine_is_one_line_before_anything_is_built(batch_stack, home):
    missing = aws_cli(home, "unix:///nonexistent/docker.sock", "batch", "push")
    assert missing.code == 7
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in missing.err
    assert "start Docker" in missing.err


# --- batch sweep on AWS: the jobs' image must be in ECR before anything is submitted -----------


def _aws_at_local(home, target, monkeypatch) -> Target:
    """The ``aws`` code path pointed at the local cloud's endpoint, as ``--cloud aws`` with
    ``AWS_ENDPOINT_URL`` is (what the CLI tests above run)."""
    for key, value in aws_keys(home).items():
        monkeypatch.setenv(key, value)
    return Target("aws", REGION, endpoint_url=target.endpoint_url)


def _jobs(target, queue: str) -> list[str]:
    batch = target.client("batch")
    return [
        j["jobId"] for status in STATES for j in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    ]


def test_sweep_on_aws_refuses_before_submitting_when_the_image_is_not_in_ecr(batch_stack, home, target, docker_engine):
    engine, host = docker_engine
    refused = aws_cli(home, host, "batch", "sweep", "--lr", "0.1", "--momentum", "0.5")
    assert refused.code == 3, refused.err
    assert "introaws batch push" in refused.err and "CannotPullContainerError" in refused.err
    assert "Traceback" not in refused.err
    queue = target.client("cloudformation").describe_stacks(StackName="SimpleBatch")["Stacks"][0]["Outputs"]
    queue_arn = next(o["OutputValue"] for o in queue if o["OutputKey"] == "JobQueueArn")
    assert _jobs(target, queue_arn) == [] and not engine.builds


def test_the_image_check_passes_once_the_image_is_there_and_push_pushes_it(
    batch_stack, home, target, docker_engine, monkeypatch
):
    engine, host = docker_engine
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("MNIST_DATA_DIR", str(FIXTURE))
    aws = _aws_at_local(home, target, monkeypatch)
    stack = batch.Stack.of(aws)
    seen = []
    batch.ensure_image(aws, stack, push=True, report=seen.append)  # missing: built and pushed
    assert engine.pushes and any("not in ECR yet" in e.message for e in seen)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    aws.client("ecr").put_image(repositoryName=stack.repository, imageManifest=manifest, imageTag="latest")
    engine.pushes.clear()
    batch.ensure_image(aws, stack)  # there: nothing to do, nothing refused
    assert not engine.pushes
