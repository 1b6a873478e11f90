"""Hands-on 2 (GPU box, Jupyter tunnel, bench, training) on the local cloud, where the box is
this machine behind a real sshd, and the AWS-only quota check against botocore's Stubber."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from botocore.stub import Stubber

from conftest import ROOT, cli_env, run_cli
from introaws import pricing, quotas
from introaws.errors import UsageError
from introaws.target import Target
from introaws.workflows import dnn
from test_errors import one_error_line

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/sshd").exists() and not shutil.which("sshd"),
    reason="needs OpenSSH's sshd (apt-get install openssh-server)",
)

KEY = "DnnKey"
FIXTURE = ROOT / "tests" / "fixtures" / "mnist-small"


@pytest.fixture(scope="module")
def box(cli):
    assert cli("keypair", "create", KEY).code == 0
    up = cli("dnn", "up", "--key", KEY)
    assert up.code == 0, up.err
    yield up
    down = cli("dnn", "down", "--yes")
    assert down.code == 0, down.err
    cli("keypair", "delete", KEY, "--yes")


def test_up_status_and_ssh(box, cli):
    assert "InstancePublicIp" in box.out and "introaws dnn down" in box.err
    status = cli("dnn", "status", "--json").json()
    assert status["stack"] == "Ec2ForDl" and status["instance"]["type"] == "g4dn.xlarge"
    assert status["instance"]["idle_stop_minutes"] is None  # never on the local cloud: the box is this machine
    assert cli("dnn", "ssh", "--", "sh", "-c", "exit 3").code == 3


def test_bench_reports_cpu_and_no_gpu(box, cli):
    result = cli("dnn", "bench", "--size", "2000", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["size"] == 2000 and data["cpu_s"] > 0
    assert data["cuda"] is False and data["gpu_s"] is None and data["speedup"] is None
    assert "--size" in one_error_line(cli("dnn", "bench", "--size", "0"))


def test_train_streams_epochs_and_ends_with_test_accuracy(box, cli):
    result = cli("dnn", "train", "--epochs", "1", "--data-dir", str(FIXTURE), "--json")
    assert result.code == 0, result.err
    assert "epoch 1/1" in result.err
    assert 0 <= result.json()["test_accuracy"] <= 100
    missing = cli("dnn", "train", "--epochs", "1", "--data-dir", str(FIXTURE / "nowhere"))
    assert "introaws data mnist" in one_error_line(missing)


def test_tunnel_reaches_jupyter_and_closes_on_ctrl_c(box, home):
    port = 18000 + os.getpid() % 1000
    tunnel = subprocess.Popen(
        [sys.executable, "-m", "introaws", "dnn", "tunnel", "--local-port", str(port)],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = tunnel.stdout.readline().strip()
        assert url.startswith(f"http://localhost:{port}/?token="), tunnel.stderr.read() if tunnel.poll() else url
        token = url.split("token=", 1)[1]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://localhost:{port}/api?token={token}", timeout=30) as reply:
            assert "version" in json.load(reply)
        busy = run_cli(home, "dnn", "tunnel", "--local-port", str(port))
        assert f"--local-port {port + 1}" in one_error_line(busy)
    finally:
        tunnel.send_signal(signal.SIGINT)
        assert tunnel.wait(timeout=30) == 0
    assert "tunnel closed" in tunnel.stderr.read()
    with socket.socket() as probe:  # nothing listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_second_up_reports_without_redeploying(box, cli):
    again = cli("dnn", "up")
    assert again.code == 0 and "up to date" in again.err


# --- the template ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(home) -> dict[str, dict]:
    code = (
        "import json, sys; from introaws.deploy import synth; from introaws.stacks import HANDS_ONS; "
        "print(json.dumps([synth.synthesize(HANDS_ONS['dnn'], p).template for p in json.loads(sys.argv[1])]))"
    )
    params = [
        {"key_name": KEY, "ssh_from": "203.0.113.7/32"},
        {
            "key_name": KEY,
            "ssh_from": "203.0.113.7/32",
            "ami": "ami-0123456789abcdef0",
            "idle_stop_minutes": 60,
            "instance_type": "g5.xlarge",
        },
    ]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)], env=cli_env(home), capture_output=True, text=True, check=True
    ).stdout
    default, custom = json.loads(out)
    return {"default": default, "custom": custom}


def _instance(template: dict) -> dict:
    return next(r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Instance")["Properties"]


def test_template_resolves_the_dlami_through_ssm(templates):
    default = templates["default"]
    instance = _instance(default)
    assert instance["InstanceType"] == "g4dn.xlarge"
    image_parameter = default["Parameters"][instance["ImageId"]["Ref"]]
    assert image_parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert image_parameter["Default"].startswith("/aws/service/deeplearning/ami/x86_64/")
    volume = instance["BlockDeviceMappings"][0]["Ebs"]
    assert volume["VolumeSize"] >= 100 and volume["VolumeType"] == "gp3"
    assert not [r for r in default["Resources"].values() if r["Type"] == "AWS::EC2::NatGateway"]
    ingress = [r for r in default["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroup"][0]
    assert [rule["CidrIp"] for rule in ingress["Properties"]["SecurityGroupIngress"]] == ["203.0.113.7/32"]
    assert "introaws-idle-stop" not in json.dumps(instance.get("UserData", ""))


def test_template_with_ami_and_idle_stop(templates):
    instance = _instance(templates["custom"])
    assert instance["ImageId"] == "ami-0123456789abcdef0" and instance["InstanceType"] == "g5.xlarge"
    assert "introaws-idle-stop" in json.dumps(instance["UserData"])
    assert {"Key": "introaws:idle-stop-minutes", "Value": "60"} in instance["Tags"]


def test_templates_pass_cfn_lint(templates, cfn_lint):
    for template in templates.values():
        assert cfn_lint(template) == []


# --- quota check on AWS, with botocore's Stubber on the real clients ---------------------------


def _aws_target() -> Target:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    return Target("aws", "ap-northeast-1")


def _stubbed(target: Target, quota: float | None, vcpus: int = 4):
    ec2 = Stubber(target.client("ec2"))
    ec2.add_response(
        "describe_instance_types",
        {"InstanceTypes": [{"InstanceType": "g4dn.xlarge", "VCpuInfo": {"DefaultVCpus": vcpus}}]},
        {"InstanceTypes": ["g4dn.xlarge"]},
    )
    quotas = Stubber(target.client("service-quotas"))
    if quota is None:
        quotas.add_client_error(
            "get_service_quota",
            "NoSuchResourceException",
            expected_params={"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"},
        )
        quotas.add_response(
            "get_aws_default_service_quota",
            {"Quota": {"Value": 0.0, "QuotaName": "G"}},
            {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"},
        )
    else:
        quotas.add_response(
            "get_service_quota",
            {"Quota": {"Value": quota, "QuotaName": "Running On-Demand G and VT instances"}},
            {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"},
        )
    return ec2, quotas


def test_quota_high_enough_passes():
    target = _aws_target()
    ec2, quotas = _stubbed(target, quota=8.0)
    with ec2, quotas:
        assert dnn.check_quota(target, "g4dn.xlarge") == {
            "quota_code": "L-DB2E81BA",
            "vcpus_needed": 4,
            "vcpus_allowed": 8.0,
        }


@pytest.mark.parametrize("quota", [0.0, None])
def test_quota_too_low_refuses_with_the_link(quota):
    target = _aws_target()
    ec2, quotas = _stubbed(target, quota=quota)
    with ec2, quotas, pytest.raises(UsageError) as refused:
        dnn.check_quota(target, "g4dn.xlarge")
    assert "needs 4 vCPUs" in refused.value.message
    assert "servicequotas" in refused.value.hint and "L-DB2E81BA" in refused.value.hint


def test_quota_codes_by_family():
    assert quotas.on_demand_code("g4dn.xlarge") == quotas.on_demand_code("g5.2xlarge") == "L-DB2E81BA"
    assert quotas.on_demand_code("p3.2xlarge") == "L-417A185B"
    assert quotas.on_demand_code("t2.micro") == quotas.STANDARD_ON_DEMAND


def test_paid_up_on_aws_refuses_without_yes(home, monkeypatch):
    env = cli_env(
        home,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        INTROAWS_PRICES="table",
    )
    result = run_cli(
        home,
        "--cloud",
        "aws",
        "--region",
        "ap-northeast-1",
        "dnn",
        "up",
        "--ssh-from",
        "203.0.113.7/32",
        "--key",
        KEY,
        env=env,
        timeout=120,
    )
    assert result.code != 0
    monkeypatch.setenv("INTROAWS_PRICES", "table")
    hourly = pricing.idle_hourly(Target("aws", "ap-northeast-1"), "dnn", "g4dn.xlarge")
    assert f"${hourly:.3f}/hour in ap-northeast-1" in result.err and "--yes" in result.err
