"""Every hands-on end to end on a real AWS account: opt-in, and it costs money (docs/aws-smoke.md).

Runs only as ``INTROAWS_AWS_SMOKE=1 python -m pytest -m aws`` with AWS credentials; anything else
(the normal suite, or no credentials) reports it skipped. It prints the expected cost first,
tears each hands-on down in ``finally`` and ends with ``introaws down --all``. The GPU hands-on
runs only with ``INTROAWS_AWS_SMOKE_GPU=1``; QA and Batch build their images, so they need Docker
(QA can run a pushed image instead: ``INTROAWS_AWS_SMOKE_QA_IMAGE=<uri>``) and Batch the MNIST
files (``introaws data mnist``).
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Result, cli_env, run_cli

pytestmark = pytest.mark.aws

REGION = os.environ.get("INTROAWS_AWS_SMOKE_REGION", "ap-northeast-1")
GPU = os.environ.get("INTROAWS_AWS_SMOKE_GPU") == "1"
BATCH_INSTANCE = "c5.large"  # 2 vCPUs, 4 GiB: one small CPU job
# Hours each paid resource is expected to run during the suite (estimates; docs/aws-smoke.md).
EXPECTED_HOURS = {"ec2": 0.25, "qa task": 0.1, "batch instance": 0.5, "dnn": 0.5}


def _why_skipped(config: pytest.Config) -> str | None:
    if "aws" not in (config.getoption("markexpr") or "") or os.environ.get("INTROAWS_AWS_SMOKE") != "1":
        return "real-AWS smoke suite, opt-in (it costs money): INTROAWS_AWS_SMOKE=1 python -m pytest -m aws"
    import boto3

    if boto3.Session(profile_name=os.environ.get("AWS_PROFILE")).get_credentials() is None:
        return "no AWS credentials: run 'aws configure' or set AWS_PROFILE"
    return None


def expected_cost(region: str) -> dict[str, float]:
    """What the suite should cost in ``region``, by part (USD; serverless parts round to 0)."""
    from introaws import pricing
    from introaws.target import Target

    target = Target("aws", region, profile=os.environ.get("AWS_PROFILE"))
    parts = {
        "ec2 (t2.micro, disk, address)": (pricing.idle_hourly(target, "ec2", "t2.micro") or 0) * EXPECTED_HOURS["ec2"],
        "qa (one Fargate task, 1 vCPU / 4 GB)": (pricing.fargate_hourly(target, 1, 4) or 0) * EXPECTED_HOURS["qa task"],
        f"batch ({BATCH_INSTANCE})": (pricing.ec2_hourly(target, BATCH_INSTANCE) or 0)
        * EXPECTED_HOURS["batch instance"],
    }
    if GPU:
        parts["dnn (g4dn.xlarge, 100 GiB)"] = (pricing.idle_hourly(target, "dnn", "g4dn.xlarge") or 0) * (
            EXPECTED_HOURS["dnn"]
        )
    return parts


class Aws:
    """``introaws --cloud aws --region R ...`` with the caller's AWS credentials and a home of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        passed = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        self.env = cli_env(home, **passed)

    def __call__(self, *args: str, timeout: float = 3600, **extra: str) -> Result:
        return run_cli(
            self.home, "--cloud", "aws", "--region", REGION, *args, env={**self.env, **extra}, timeout=timeout
        )

    def ok(self, *args: str, **extra: str) -> Result:
        result = self(*args, **extra)
        assert result.code == 0, f"introaws {' '.join(args)} failed:\n{result.err[-3000:]}"
        return result

    def down(self, hands_on: str) -> None:
        result = self(hands_on, "down", "--yes")
        assert result.code == 0, f"{hands_on} down failed — check the console:\n{result.err[-3000:]}"


@pytest.fixture(scope="module")
def aws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aws]:
    reason = _why_skipped(request.config)
    if reason:
        pytest.skip(reason)
    parts = expected_cost(REGION)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"real-AWS smoke suite in {REGION}: expected cost about ${sum(parts.values()):.2f}"]
    lines += [f"  {name}: ${usd:.3f}" for name, usd in parts.items()]
    lines.append("  serverless parts (DynamoDB, S3, Lambda, API Gateway, CloudWatch): under $0.01")
    for line in lines:
        if reporter:
            reporter.write_line(line)
        else:
            print(line)
    runner = Aws(tmp_path_factory.mktemp("introaws-aws-smoke"))
    try:
        yield runner
    finally:
        runner.ok("down", "--all", "--yes")


def test_ddb(aws: Aws) -> None:
    try:
        aws.ok("ddb", "up", "--yes")
        aws.ok("ddb", "write", "20")
        assert len(aws.ok("ddb", "scan", "--json").json()) == 20
        young = aws.ok("ddb", "search", "--under-age", "50", "--json").json()
        assert young and all(int(p["age"]) <= 50 for p in young)
    finally:
        aws.down("ddb")


def test_s3(aws: Aws, tmp_path: Path) -> None:
    payload = tmp_path / "hello.txt"
    payload.write_text(f"hello from introaws {secrets.token_hex(4)}\n")
    try:
        aws.ok("s3", "up", "--yes")
        aws.ok("s3", "upload", str(payload))
        assert "hello.txt" in [o["key"] for o in aws.ok("s3", "ls", "--json").json()]
        aws.ok("s3", "download", "hello.txt", "--to", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_text() == payload.read_text()
    finally:
        aws.down("s3")


def test_lambda(aws: Aws) -> None:
    try:
        aws.ok("lambda", "up", "--yes")
        assert aws.ok("lambda", "invoke", "--json").json()["result"]
    finally:
        aws.down("lambda")


def test_haiku_api_and_web_page_over_http(aws: Aws) -> None:
    try:
        up = aws.ok("haiku", "up", "--yes", "--json").json()
        posted = aws.ok("haiku", "post", "古池や", "蛙飛び込む", "水の音", "--username", "smoke", "--json").json()
        assert any(h["item_id"] == posted["item_id"] for h in aws.ok("haiku", "list", "--json").json())
        with urllib.request.urlopen(up["api_endpoint"].rstrip("/") + "/haiku", timeout=30) as reply:
            assert any(h["item_id"] == posted["item_id"] for h in json.load(reply))
        with urllib.request.urlopen(up["website_url"], timeout=30) as page:
            assert page.status == 200 and "<html" in page.read().decode("utf-8", "replace").lower()
    finally:
        aws.down("haiku")


def test_qa_one_question(aws: Aws) -> None:
    image = os.environ.get("INTROAWS_AWS_SMOKE_QA_IMAGE")
    if not image and not _docker_ok(aws):
        pytest.skip("qa builds its image with Docker: start Docker, or set INTROAWS_AWS_SMOKE_QA_IMAGE")
    try:
        aws.ok("qa", "up", "--yes", *(["--image", image] if image else []))
        answer = aws.ok(
            "qa",
            "ask",
            "Mount Fuji is the highest mountain in Japan.",
            "What is the highest mountain in Japan?",
            "--json",
        ).json()
        assert "Fuji" in answer["answer"]
    finally:
        aws.down("qa")


def test_ec2_with_ssh(aws: Aws) -> None:
    key = f"introaws-smoke-{secrets.token_hex(3)}"
    aws.ok("keypair", "create", key, "--dir", str(aws.home / "ssh"))
    try:
        aws.ok("ec2", "up", "--yes", "--key", key, "--ttl", "1h")  # ends itself within the hour whatever happens
        assert "Linux" in aws.ok("ec2", "ssh", "--", "uname", "-s").out
    finally:
        aws.down("ec2")
        aws("keypair", "delete", key, "--dir", str(aws.home / "ssh"), "--yes")


def test_batch_one_small_cpu_job(aws: Aws) -> None:
    if not _docker_ok(aws):
        pytest.skip("batch pushes its image with Docker: start Docker")
    try:
        aws.ok("batch", "up", "--yes", "--instance-type", BATCH_INSTANCE)
        point = "--lr 0.1 --momentum 0.5 --epochs 1 --vcpus 2 --memory 3000"
        sweep = aws.ok("batch", "sweep", "--push", *point.split(), "--json").json()
        assert [job["status"] for job in sweep["jobs"]] == ["SUCCEEDED"]
        assert aws.ok("batch", "results", sweep["sweep_id"], "--json").json()["best"]
    finally:
        aws.down("batch")


@pytest.mark.skipif(not GPU, reason="the GPU hands-on runs only with INTROAWS_AWS_SMOKE_GPU=1")
def test_dnn_gpu(aws: Aws) -> None:
    key = f"introaws-smoke-gpu-{secrets.token_hex(3)}"
    aws.ok("keypair", "create", key, "--dir", str(aws.home / "ssh"))
    try:
        aws.ok("dnn", "up", "--yes", "--key", key, "--idle-stop", "30")
        bench = aws.ok("dnn", "bench", "--size", "2000", "--json").json()
        assert bench["gpu_s"] is not None and bench["speedup"]
    finally:
        aws.down("dnn")
        aws("keypair", "delete", key, "--dir", str(aws.home / "ssh"), "--yes")


def _docker_ok(aws: Aws) -> bool:
    checks = {c["check"]: c for c in aws("doctor", "--json").json()}
    return bool(checks.get("docker", {}).get("ok"))
