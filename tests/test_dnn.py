"""Hands-on 2 (GPU box, Jupyter tunnel, bench, training, the MNIST notebook) on the local
cloud, where the box is this machine behind a real sshd, and the AWS-only quota check against
botocore's Stubber."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import websocket
from botocore.stub import Stubber
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelClient, GatewayKernelManager

from conftest import ROOT, cli_env, run_cli, target_for
from introaws import pricing, quotas
from introaws.errors import UsageError
from introaws.target import Target
from introaws.workflows import dnn, ec2
from test_errors import one_error_line

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/sshd").exists() and not shutil.which("sshd"),
    reason="needs OpenSSH's sshd (apt-get install openssh-server)",
)

KEY = "DnnKey"
FIXTURE = ROOT / "src" / "introaws" / "data" / "mnist-sample"


@pytest.fixture(scope="module")
def box(cli, home):
    assert cli("keypair", "create", KEY).code == 0
    # The reader's MNIST (here the fixture) goes to the box with the notebook.
    up = cli("dnn", "up", "--key", KEY, env=cli_env(home, MNIST_DATA_DIR=str(FIXTURE)))
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


def test_python_in_the_box_sessions_is_the_pytorch_environment(box, cli, home, monkeypatch):
    """As on the Deep Learning AMI: plain 'python' has torch (and the Jupyter kernel)."""
    found = cli("dnn", "ssh", "--", "python", "-c", "import torch, ipykernel, sys; print(sys.prefix)")
    assert found.code == 0, found.err
    assert found.out.strip() == sys.prefix
    # Any SSH session (plain ssh too) gets it on PATH before the system's, from the box's sshd;
    # the login's own start-up files may still put theirs first (pyenv here), hence dnn's PRELUDE.
    monkeypatch.setenv("INTROAWS_HOME", str(home))
    monkeypatch.setenv("INTROAWS_SSH_DIR", str(home / "ssh"))
    out: list[bytes] = []
    assert ec2.run_command(target_for(home), ["printenv", "PATH"], out.append, print, name=dnn.NAME) == 0
    path = b"".join(out).decode().strip().split(os.pathsep)
    assert path.index(str(Path(sys.executable).parent)) < path.index("/usr/bin")


def test_up_puts_the_notebook_and_mnist_in_the_box_home(box, cli):
    listed = cli("dnn", "ssh", "--", f"ls ~/{dnn.NOTEBOOK} ~/{dnn.WORKDIR}/{dnn.MNIST_DATA}")
    assert listed.code == 0, listed.err
    assert {p.name for p in FIXTURE.iterdir()} <= set(listed.out.split())
    placed = json.loads(cli("dnn", "ssh", "--", f"cat ~/{dnn.NOTEBOOK}").out)
    assert placed == json.loads((ROOT / "src/introaws/data/notebooks/mnist.ipynb").read_text())


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


@pytest.fixture(scope="module")
def tunnel(box, home):
    """``dnn tunnel`` running: (its process, Jupyter's URL, the notebook's URL)."""
    port = 18000 + os.getpid() % 1000
    process = subprocess.Popen(
        [sys.executable, "-m", "introaws", "dnn", "tunnel", "--local-port", str(port)],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line.strip())
        lines.put("")  # it ended

    threading.Thread(target=read, daemon=True).start()
    url = lines.get(timeout=300)
    try:  # printed with the first, when the box has the notebook
        notebook_url = lines.get(timeout=5)
    except queue.Empty:
        notebook_url = None
    try:
        yield process, url, notebook_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_tunnel_opens_jupyterlab_with_a_torch_kernel_and_the_notebook(tunnel):
    process, url, notebook_url = tunnel
    port = int(url.split(":")[2].split("/")[0])
    assert url.startswith(f"http://localhost:{port}/?token="), process.stderr.read() if process.poll() else url
    token = url.split("token=", 1)[1]
    assert notebook_url == f"http://localhost:{port}/lab/tree/{dnn.NOTEBOOK}?token={token}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(notebook_url, timeout=30) as reply:
        assert "JupyterLab" in reply.read().decode()
    with opener.open(f"http://localhost:{port}/api/kernelspecs?token={token}", timeout=30) as reply:
        specs = json.load(reply)["kernelspecs"]
    assert specs["python3"]["spec"]["language"] == "python"


def test_the_notebook_runs_to_the_end_in_a_kernel_through_the_tunnel(tunnel, cli):
    """The hands-on's notebook, as ``dnn up`` placed it, executed cell by cell by nbclient in a
    kernel the box's Jupyter starts, reached through the SSH tunnel; one epoch on the fixture
    (which ``dnn up`` copied to the box) instead of three on the full data."""
    import nbformat
    from nbclient import NotebookClient

    _, url, _ = tunnel
    notebook = nbformat.reads(cli("dnn", "ssh", "--", f"cat ~/{dnn.NOTEBOOK}").out, as_version=4)
    parameters = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(parameters + 1, nbformat.v4.new_code_cell("EPOCHS = 1"))
    with remote_kernels(url):
        NotebookClient(notebook, km=TunnelKernelManager(), timeout=600).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "PyTorch 2." in text and "600 training images, 100 test images" in text and "epoch 1/1" in text
    accuracy = float(text.split("test accuracy ", 1)[1].split("%", 1)[0])
    assert 0 <= accuracy <= 100
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the loss plot


def test_tunnel_refuses_a_busy_port_and_closes_on_ctrl_c(tunnel, home):
    process, url, _ = tunnel
    port = int(url.split(":")[2].split("/")[0])
    busy = run_cli(home, "dnn", "tunnel", "--local-port", str(port))
    assert f"--local-port {port + 1}" in one_error_line(busy)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert "tunnel closed" in process.stderr.read()
    with socket.socket() as probe:  # nothing listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


# Kernels of the box's Jupyter for nbclient, through the tunnel: jupyter-server's gateway
# client speaks Jupyter's kernel REST API and websocket; only its websocket lacks the token.


@contextlib.contextmanager
def remote_kernels(url: str):
    base, token = url.split("/?token=")
    gateway = GatewayClient.instance()
    gateway.url, gateway.ws_url, gateway.auth_token = base, base.replace("http", "ws", 1), token
    try:
        yield
    finally:
        GatewayClient.clear_instance()


class TunnelKernelClient(GatewayKernelClient):
    async def start_channels(self, *args, **kwargs):
        create = websocket.create_connection
        header = [f"Authorization: token {GatewayClient.instance().auth_token}"]
        websocket.create_connection = lambda *a, **k: create(*a, header=header, **k)
        try:
            await super().start_channels(*args, **kwargs)
        finally:
            websocket.create_connection = create


class TunnelKernelManager(GatewayKernelManager):
    client_factory = TunnelKernelClient


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
