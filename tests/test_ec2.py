"""Hands-on 1 (EC2 + SSH) end to end on the local cloud: the real CLI, the real deploy engine,
a real OpenSSH sshd per instance, paramiko and OpenSSH's own client talking to it."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pexpect
import psutil
import pytest

from conftest import ROOT, cli_env, run_cli, target_for

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/sshd").exists() and not shutil.which("sshd"),
    reason="needs OpenSSH's sshd (apt-get install openssh-server)",
)

KEY = "HirakeGoma"
DEFAULT_PARAMS = {"key_name": KEY, "ssh_from": "127.0.0.1/32", "instance_type": "t2.micro"}
OPEN_PARAMS = {**DEFAULT_PARAMS, "ssh_from": "0.0.0.0/0"}
TTL_PARAMS = {**DEFAULT_PARAMS, "ttl_minutes": 120}


@pytest.fixture(scope="module")
def deployed(cli, home):
    assert cli("keypair", "create", KEY).code == 0
    first = cli("ec2", "up", "--yes")
    assert first.code == 0, first.err
    yield first
    cli("ec2", "down", "--yes")
    cli("keypair", "delete", KEY, "--yes")


def _instance_id(target) -> str:
    outputs = target.client("cloudformation").describe_stacks(StackName="MyFirstEc2")["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "InstanceId")


@pytest.fixture(scope="module")
def templates(deployed, home) -> dict[str, dict]:
    """The stack synthesized with each set of parameters, in one process (one Node start)."""
    code = (
        "import json, sys; from introaws.deploy import synth; from introaws.stacks import HANDS_ONS; "
        "print(json.dumps({name: synth.synthesize(HANDS_ONS['ec2'], params).template "
        "for name, params in json.loads(sys.argv[1]).items()}))"
    )
    sets = {"default": DEFAULT_PARAMS, "ttl": TTL_PARAMS, "open": OPEN_PARAMS}
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(sets)],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(proc.stdout)


def _of_type(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _sshd_processes(home: Path, instance_id: str) -> list[int]:
    """Live sshd processes of the instance (zombies left to this container's init do not count).

    Instance ids repeat between local clouds (their ids are deterministic), so match the home."""
    config = home / "data" / "localcloud" / "runtime" / "ec2" / instance_id / "sshd_config"
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if str(config) in " ".join(proc.info["cmdline"] or []) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found


def _no_sshd_left(home: Path, instance_id: str) -> bool:
    deadline = time.monotonic() + 5
    while _sshd_processes(home, instance_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _sshd_processes(home, instance_id) == []


# --- up, status, ssh ------------------------------------------------------------------------


def test_up_prints_outputs_and_how_to_log_in(deployed):
    for key in ("InstancePublicIp", "InstancePublicDnsName", "InstanceId"):
        assert key in deployed.out
    assert "introaws ec2 down" in deployed.err and "introaws ec2 ssh" in deployed.err


def test_second_up_reports_outputs_without_redeploying(deployed, cli, target):
    before = len(target.client("cloudformation").describe_stack_events(StackName="MyFirstEc2")["StackEvents"])
    again = cli("ec2", "up", "--json")
    assert again.code == 0, again.err
    assert again.json()["up_to_date"] is True and again.json()["outputs"]["InstanceId"] == _instance_id(target)
    after = len(target.client("cloudformation").describe_stack_events(StackName="MyFirstEc2")["StackEvents"])
    assert after == before


def test_status_shows_instance(deployed, cli, target):
    data = cli("ec2", "status", "--json").json()
    instance = data["instance"]
    assert data["status"] == "CREATE_COMPLETE"
    assert instance["id"] == _instance_id(target) and instance["state"] == "running"
    assert instance["type"] == "t2.micro" and instance["key_name"] == KEY and instance["public_ip"]
    assert instance["ttl_left_s"] is None and instance["cost_so_far_usd"] is None  # local: free


def test_ssh_runs_a_command_and_returns_its_exit_code(deployed, cli):
    uname = cli("ec2", "ssh", "--", "uname", "-a")
    assert uname.code == 0, uname.err
    assert uname.out.startswith("Linux ")
    assert cli("ec2", "ssh", "--", "sh", "-c", "exit 7").code == 7
    split = cli("ec2", "ssh", "--", "echo to-out; echo to-err >&2; exit 3")
    assert (split.code, split.out, split.err.strip().splitlines()[-1]) == (3, "to-out\n", "to-err")


def test_interactive_shell_through_a_pty(deployed, home):
    child = pexpect.spawn(
        sys.executable,
        ["-m", "introaws", "ec2", "ssh"],
        env=cli_env(home, TERM="dumb"),
        cwd=str(ROOT),
        timeout=60,
        encoding="utf-8",
        dimensions=(30, 100),
    )
    child.expect(r"[#$] ")
    child.sendline("echo hi; stty size")
    child.expect("hi\r\n30 100")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def _plain_ssh(config: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", "introaws-ec2", command],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def ssh_config_file(deployed, cli, tmp_path_factory) -> Path:
    """``ec2 ssh-config``'s block as written before anything else changes the instance."""
    config = cli("ec2", "ssh-config")
    assert config.code == 0, config.err
    assert "Host introaws-ec2" in config.out and "ProxyCommand" in config.out
    path = tmp_path_factory.mktemp("openssh") / "config"
    path.write_text(config.out)
    return path


def test_plain_openssh_with_ssh_config(ssh_config_file):
    plain = _plain_ssh(ssh_config_file, "echo via-openssh")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "via-openssh\n"


def test_missing_or_wrong_private_key_is_one_clear_line(deployed, home, tmp_path):
    empty = tmp_path / "nokeys"
    empty.mkdir()
    missing = run_cli(home, "ec2", "ssh", "--", "true", env=cli_env(home, INTROAWS_SSH_DIR=str(empty)))
    assert missing.code != 0
    assert f"{empty}/{KEY}.pem" in missing.err and "HirakeGoma" in missing.err
    assert len(missing.err.strip().splitlines()) == 1

    wrong = tmp_path / "wrong"
    wrong.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong / f"{KEY}.pem")], check=True)
    refused = run_cli(home, "ec2", "ssh", "--", "true", env=cli_env(home, INTROAWS_SSH_DIR=str(wrong)))
    assert refused.code != 0
    assert "refused key" in refused.err and str(wrong / f"{KEY}.pem") in refused.err
    assert len(refused.err.strip().splitlines()) == 1


def test_changed_host_key_is_refused(deployed, cli, home, ssh_config_file):
    assert cli("ec2", "ssh", "--", "true").code == 0  # pins the key
    known = home / "data" / "known_hosts"
    original = known.read_text()
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"  # another ed25519 key
    instance_id = _instance_id(target_for(home))
    known.write_text(
        "".join(
            " ".join(line.split()[:2] + [other]) + "\n" if line.startswith(instance_id) else line + "\n"
            for line in original.splitlines()
        )
    )
    try:
        refused = cli("ec2", "ssh", "--", "true")
        assert refused.code != 0 and "host key" in refused.err and "changed" in refused.err
        plain = _plain_ssh(ssh_config_file, "true")  # plain ssh goes through the same check
        assert plain.returncode != 0 and "host key" in plain.stderr
    finally:
        known.write_text(original)


def test_local_port_forwarding(deployed, home):
    """What hands-on 2's tunnel uses: a local port that reaches a port seen from the instance."""
    from introaws import ssh
    from introaws.workflows import ec2

    server = http.server.HTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    previous = {k: os.environ.get(k) for k in ("INTROAWS_HOME", "INTROAWS_SSH_DIR")}
    os.environ.update(INTROAWS_HOME=str(home), INTROAWS_SSH_DIR=str(home / "ssh"))
    try:
        client = ssh.connect(ec2.endpoint(target_for(home)), timeout_s=30)
        with ssh.forward_local_port(client, "127.0.0.1", server.server_port) as local_port:
            assert local_port != server.server_port
            for _ in range(2):
                with urllib.request.urlopen(f"http://127.0.0.1:{local_port}/", timeout=10) as reply:
                    assert reply.read() == b"hello through the tunnel"
        client.close()
    finally:
        server.shutdown()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello through the tunnel"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


# --- the stack ------------------------------------------------------------------------------


def test_template_is_one_public_subnet_no_nat_ssh_from_one_address(templates):
    template = templates["default"]
    assert _of_type(template, "AWS::EC2::NatGateway") == []
    assert [v["Properties"]["CidrBlock"] for v in _of_type(template, "AWS::EC2::VPC")] == ["10.10.0.0/23"]
    subnets = _of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) == 1 and subnets[0]["Properties"]["MapPublicIpOnLaunch"] is True
    [group] = _of_type(template, "AWS::EC2::SecurityGroup")
    assert group["Properties"]["SecurityGroupIngress"] == [
        {"CidrIp": "127.0.0.1/32", "Description": "SSH", "FromPort": 22, "IpProtocol": "tcp", "ToPort": 22}
    ]
    [instance] = _of_type(template, "AWS::EC2::Instance")
    props = instance["Properties"]
    assert props["InstanceType"] == "t2.micro" and props["KeyName"] == KEY
    assert props["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    image_param = template["Parameters"][props["ImageId"]["Ref"]]
    assert image_param == {
        "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    }
    assert "shutdown" not in json.dumps(props.get("UserData")) and "InstanceInitiatedShutdownBehavior" not in props
    assert set(template["Outputs"]) == {"InstancePublicIp", "InstancePublicDnsName", "InstanceId"}


def test_ttl_template_terminates_on_shutdown(templates):
    props = _of_type(templates["ttl"], "AWS::EC2::Instance")[0]["Properties"]
    assert props["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert "shutdown -h +120" in props["UserData"]["Fn::Base64"]
    assert {"Key": "introaws:ttl-minutes", "Value": "120"} in props["Tags"]


def test_templates_pass_cfn_lint(templates, cfn_lint):
    for template in templates.values():
        assert cfn_lint(template) == []


def test_open_to_the_world_only_when_asked_and_with_a_warning(templates, cli):
    dry = cli("ec2", "up", "--ssh-from", "0.0.0.0/0", "--dry-run")
    assert dry.code == 0, dry.err
    assert "whole internet" in dry.err and "dry run" in dry.out
    ingress = _of_type(templates["open"], "AWS::EC2::SecurityGroup")[0]["Properties"]
    assert ingress["SecurityGroupIngress"][0]["CidrIp"] == "0.0.0.0/0"


def test_sshd_comes_back_with_the_daemon(deployed, cli, home, target):
    instance_id = _instance_id(target)
    assert _sshd_processes(home, instance_id)
    launched = cli("ec2", "status", "--json").json()["instance"]["launched"]
    assert cli("cloud", "stop").code == 0
    assert _no_sshd_left(home, instance_id)
    back = cli("ec2", "ssh", "--", "echo", "back")  # starts the cloud again
    assert (back.code, back.out) == (0, "back\n"), back.err
    assert cli("ec2", "status", "--json").json()["instance"]["launched"] == launched  # not the restart


def test_dry_run_says_a_ttl_replaces_the_instance(deployed, cli):
    """The change set the local cloud answers says what the real up then does: a new instance
    (new user data renames it), the running one removed."""
    dry = cli("ec2", "up", "--ttl", "2h", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    instances = {c["action"] for c in dry.json()["changes"] if c["resource_type"] == "AWS::EC2::Instance"}
    assert instances == {"Add", "Remove"}
    table = cli("ec2", "up", "--ttl", "2h", "--dry-run")
    assert "AWS::EC2::Instance" in table.out and "will be replaced by a new one" in table.err


def test_up_with_a_ttl_replaces_the_instance_and_status_counts_down(deployed, templates, cli, home, ssh_config_file):
    target = target_for(home)
    before = _instance_id(target)
    changed = cli("ec2", "up", "--ttl", "2h", "--yes")
    assert changed.code == 0, changed.err
    after = _instance_id(target)
    assert after != before and _no_sshd_left(home, before) and _sshd_processes(home, after)
    instance = cli("ec2", "status", "--json").json()["instance"]
    assert instance["id"] == after and 7000 < instance["ttl_left_s"] <= 7200
    assert cli("ec2", "ssh", "--", "true").code == 0
    # The ssh-config block written for the old instance reaches the new one (its own host key).
    plain = _plain_ssh(ssh_config_file, "echo replaced")
    assert (plain.returncode, plain.stdout) == (0, "replaced\n"), plain.stderr


def test_bad_options_fail_before_anything_is_made(deployed, cli):
    for args, words in (
        (["--ssh-from", "nowhere"], "--ssh-from"),
        (["--ttl", "soon"], "--ttl"),
        (["--key", "NoSuchKey"], "keypair create NoSuchKey"),
    ):
        result = cli("ec2", "up", "--yes", *args)
        assert result.code != 0 and words in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1


def test_time_to_live_terminates_the_instance_also_after_a_restart(fresh_home):
    """The runtime ends an instance whose ``introaws:ttl-minutes`` is up, as its user data's
    ``shutdown`` does on AWS, and keeps the count across a restart. A minute lasts 10 s here
    (INTROAWS_TTL_MINUTE_S on the daemon)."""
    minute = 10
    env = cli_env(fresh_home, INTROAWS_TTL_MINUTE_S=str(minute))
    assert run_cli(fresh_home, "keypair", "create", KEY, env=env).code == 0  # starts the cloud with it
    ec2 = target_for(fresh_home).client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    tagged = [{"ResourceType": "instance", "Tags": [{"Key": "introaws:ttl-minutes", "Value": "1"}]}]
    launched = time.monotonic()
    reservation = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, KeyName=KEY, SubnetId=subnet, TagSpecifications=tagged
    )
    instance_id = reservation["Instances"][0]["InstanceId"]
    assert run_cli(fresh_home, "cloud", "stop", env=env).code == 0
    assert run_cli(fresh_home, "cloud", "start", env=env).code == 0
    ec2 = target_for(fresh_home).client("ec2")

    def state() -> str:
        return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]

    while not _sshd_processes(fresh_home, instance_id) and time.monotonic() < launched + minute:
        time.sleep(0.1)  # the restarted runtime brings the instance's sshd back
    assert state() == "running" and _sshd_processes(fresh_home, instance_id)
    while state() != "terminated" and time.monotonic() < launched + 3 * minute:
        time.sleep(0.5)
    assert state() == "terminated"
    assert time.monotonic() - launched >= minute - 1  # (LaunchTime is to the second)
    assert _no_sshd_left(fresh_home, instance_id)


# --- down, and without a stack -------------------------------------------------------------


def test_down_leaves_no_sshd_and_nothing_tagged(fresh_home):
    assert run_cli(fresh_home, "keypair", "create", KEY).code == 0
    assert run_cli(fresh_home, "ec2", "up", "--yes").code == 0
    target = target_for(fresh_home)
    instance_id = _instance_id(target)
    assert _sshd_processes(fresh_home, instance_id)
    session = subprocess.Popen(
        [sys.executable, "-m", "introaws", "ec2", "ssh", "--", "sleep", "300"],
        env=cli_env(fresh_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (listener,) = _sshd_processes(fresh_home, instance_id)

        def session_runs() -> bool:
            below = psutil.Process(listener).children(recursive=True)
            return any(p.info["cmdline"] == ["sleep", "300"] for p in psutil.process_iter(["cmdline"]) if p in below)

        deadline = time.monotonic() + 30
        while not session_runs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_runs()  # the session's command runs under the instance's sshd
        down = run_cli(fresh_home, "ec2", "down", "--yes")
        assert down.code == 0, down.err
        assert _no_sshd_left(fresh_home, instance_id)
        assert session.wait(timeout=30) != 0  # the open session ended with the instance
    finally:
        session.kill()
    tagged = target.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "introaws:hands-on", "Values": ["ec2"]}]
    )["ResourceTagMappingList"]
    live = [t for t in tagged if ":instance/" not in t["ResourceARN"]]
    assert live == []
    ec2 = target.client("ec2")
    states = {i["State"]["Name"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert states <= {"terminated"}
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")] == []
    missing = run_cli(fresh_home, "ec2", "ssh")
    assert missing.code == 3 and "introaws ec2 up" in missing.err


def test_without_sshd_says_how_to_install_it(fresh_home):
    env = cli_env(fresh_home, INTROAWS_SSHD=str(fresh_home / "no-sshd-here"))  # the daemon inherits it
    assert run_cli(fresh_home, "keypair", "create", KEY, env=env).code == 0
    assert run_cli(fresh_home, "ec2", "up", "--yes", env=env).code == 0
    refused = run_cli(fresh_home, "ec2", "ssh", "--", "true", env=env)
    assert refused.code == 7 and "apt-get install openssh-server" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
