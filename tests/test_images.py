"""Container images for AWS, built by the one image builder through the real Docker SDK against
a stand-in engine (tests/docker_standin.py), with the AWS path of the CLI pointed at the local
cloud's endpoint: always linux/amd64, the context holds the payloads, failures are one line."""

from __future__ import annotations

import pytest

from conftest import ROOT, cli_env, run_cli

FIXTURE = ROOT / "tests" / "fixtures" / "mnist-small"
REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def batch_stack(cli):
    up = cli("batch", "up")
    assert up.code == 0, up.err
    yield
    cli("batch", "down", "--yes")


def aws_cli(home, target, engine_host, *args):
    """``introaws --cloud aws ...`` against the local cloud's endpoint and a stand-in engine."""
    env = cli_env(home, **target.child_env(), DOCKER_HOST=engine_host, MNIST_DATA_DIR=str(FIXTURE))
    return run_cli(home, "--cloud", "aws", "--region", REGION, *args, env=env)


def test_batch_push_builds_linux_amd64_with_the_payloads_and_data(batch_stack, home, target, docker_engine):
    engine, host = docker_engine
    pushed = aws_cli(home, target, host, "batch", "push")
    assert pushed.code == 0, pushed.err
    (build,) = engine.builds
    assert build.query["platform"] == "linux/amd64"
    assert build.query["t"].endswith(":latest") and ".dkr.ecr." in build.query["t"]
    assert {"Dockerfile", "introaws/__init__.py", "introaws/tasks/mnist/train.py"} <= set(build.files)
    assert any(name.startswith("mnist/train-images") for name in build.files)
    assert not any(name.startswith("introaws/cli") for name in build.files)  # payloads only
    assert engine.pushes and "building" in pushed.err and "pushed" in pushed.err


def test_a_failed_build_is_one_error_line_with_dockers_last_lines(batch_stack, home, target, docker_engine):
    engine, host = docker_engine
    engine.fail_build_with = ["Step 2/6 : RUN pip install [nothing]", "ERROR: No matching distribution", "exit 1"]
    failed = aws_cli(home, target, host, "batch", "push")
    assert failed.code == 6
    errors = [line for line in failed.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in failed.err
    assert "building the mnist image failed" in errors[0]
    assert "ERROR: No matching distribution | exit 1" in errors[0]
    assert "[nothing]" in failed.err  # Docker's text printed literally, not taken as markup
    assert not engine.pushes


def test_no_engine_is_one_line_before_anything_is_built(batch_stack, home, target):
    missing = aws_cli(home, target, "unix:///nonexistent/docker.sock", "batch", "push")
    assert missing.code == 7
    assert "no Docker engine answers at unix:///nonexistent/docker.sock" in missing.err
    assert "start Docker" in missing.err
