"""The runtime core on one local cloud of its own: nothing keeps running after a hands-on's
``down``, idle workers retire, ``cloud status`` shows the workers, and workloads find their
credentials the way they do on AWS."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, Result, cli_env, instance_ssh, run_cli, target_for
from test_qa import CONTEXT, QUESTION, build_tiny_model


@pytest.fixture(scope="module")
def cloud(module_home: Path) -> Path:
    return module_home


def ok(home: Path, *args: str, **env: str) -> Result:
    result = run_cli(home, *args, env=cli_env(home, **env))
    assert result.code == 0, f"introaws {' '.join(args)}: {result.err}"
    return result


def daemon_children(home: Path, marker: str) -> list[psutil.Process]:
    """The daemon's descendants whose command line has ``marker``: what the OS says, not the daemon."""
    pid = ok(home, "cloud", "status", "--json").json()["pid"]
    return [p for p in psutil.Process(pid).children(recursive=True) if marker in " ".join(p.cmdline())]


def listed(home: Path, kind: str) -> list[dict]:
    return [w for w in ok(home, "cloud", "status", "--json").json()["workers"] if w["kind"] == kind]


def test_haiku_down_stops_every_lambda_worker_within_5_s(cloud):
    ok(cloud, "haiku", "up")
    flood = ok(cloud, "haiku", "flood", "100", "--concurrency", "16", "--json").json()
    assert flood["succeeded"] == 100 and flood["errors"] == 0
    workers = daemon_children(cloud, "lambda_worker.py")
    assert workers
    shown = listed(cloud, "lambda-worker")
    assert {w["pid"] for w in shown} == {p.pid for p in workers}
    assert all(w["rss_mib"] > 1 and w["state"] in ("idle", "busy") for w in shown)
    table = ok(cloud, "cloud", "status").out
    assert "worker processes" in table and "lambda-worker" in table
    ok(cloud, "haiku", "down", "--yes")
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
    assert listed(cloud, "lambda-worker") == []


@pytest.fixture(scope="module")
def qa_stack(cloud, tmp_path_factory):
    model = build_tiny_model(tmp_path_factory.mktemp("runtime-qa-model"))  # test_qa's own stays qa-model0
    ok(cloud, "qa", "up", "--model", str(model))
    return ok(cloud, "qa", "status", "--json").json()["outputs"]


def test_a_task_finds_its_role_credentials_as_on_ecs_and_runs_as_its_role(cloud, qa_stack):
    code = (
        "import os, boto3\n"
        "credentials = boto3.Session().get_credentials()\n"
        "print('keys in env:', 'AWS_ACCESS_KEY_ID' in os.environ)\n"
        "print('found by:', credentials.method)\n"
        "print('caller:', boto3.client('sts').get_caller_identity()['Arn'])\n"
    )
    target = target_for(cloud)
    ecs = target.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=qa_stack["TaskDefinitionArn"])["taskDefinition"]
    container = definition["containerDefinitions"][0]
    probe = ecs.register_task_definition(
        family="credentials-probe",
        cpu="256",
        memory="512",
        taskRoleArn=definition["taskRoleArn"],
        containerDefinitions=[
            {
                "name": "probe",
                "image": container["image"],
                "memory": 512,
                "entryPoint": ["python", "-c", code],
                "logConfiguration": container["logConfiguration"],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]

    def run(**overrides) -> tuple[str, list[str]]:
        arn = ecs.run_task(
            cluster=qa_stack["ClusterName"], taskDefinition=probe, launchType="FARGATE", overrides=overrides
        )["tasks"][0]["taskArn"]
        deadline = time.monotonic() + 60
        while ecs.describe_tasks(cluster=qa_stack["ClusterName"], tasks=[arn])["tasks"][0]["lastStatus"] != "STOPPED":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        options = container["logConfiguration"]["options"]
        events = target.client("logs").get_log_events(
            logGroupName=options["awslogs-group"],
            logStreamName=f"{options['awslogs-stream-prefix']}/probe/{arn.split('/')[-1]}",
        )["events"]
        return arn.split("/")[-1], [e["message"] for e in events]

    task, lines = run()
    role = definition["taskRoleArn"].rsplit("/", 1)[-1]  # the QA task role: the task runs as it
    caller = f"caller: arn:aws:sts::123456789012:assumed-role/{role}/{task}"
    assert lines == ["keys in env: False", "found by: container-role", caller]
    other = target.client("iam").create_role(RoleName="override-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    task, lines = run(taskRoleArn=other)  # RunTask's override wins over the task definition's
    assert lines[-1] == f"caller: arn:aws:sts::123456789012:assumed-role/override-role/{task}"


def test_the_credentials_endpoint_refuses_unknown_tokens(cloud):
    endpoint = ok(cloud, "cloud", "status", "--json").json()["endpoint"]
    request = urllib.request.Request(f"{endpoint}/_introaws/credentials", headers={"Authorization": "made-up"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_qa_down_stops_its_warm_worker_within_5_s(cloud, qa_stack):
    asked = ok(cloud, "qa", "ask", CONTEXT, QUESTION, "--json").json()
    assert asked["status"] == "answered"
    workers = daemon_children(cloud, "introaws.localcloud.runtime.warm")
    assert workers and listed(cloud, "warm-worker")
    ok(cloud, "qa", "down", "--yes")
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
    assert listed(cloud, "warm-worker") == []


def test_batch_down_ends_its_running_job_and_warm_worker_within_5_s(cloud):
    data = str(ROOT / "src" / "introaws" / "data" / "mnist-sample")
    ok(cloud, "batch", "up")
    point = ["--lr", "0.1", "--momentum", "0.5", "--epochs", "50"]  # long enough to be running at down
    sweep = ok(cloud, "batch", "sweep", *point, "--no-wait", "--json", MNIST_DATA_DIR=data).json()
    job_id = sweep["jobs"][0]["job_id"]
    batch = target_for(cloud).client("batch")
    deadline = time.monotonic() + 90
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] != "RUNNING":
        assert time.monotonic() < deadline, "the job never ran"
        time.sleep(0.2)
    processes = daemon_children(cloud, "introaws.localcloud.runtime.warm")  # the worker and the job it forked
    assert len(processes) >= 2 and listed(cloud, "batch-job")
    ok(cloud, "batch", "down", "--yes")
    _, alive = psutil.wait_procs(processes, timeout=5)
    assert alive == []
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert (job["status"], job["statusReason"]) == ("FAILED", "the job queue was deleted")


def test_an_instance_profile_reaches_the_sessions_and_what_they_leave_ends_with_the_instance(cloud):
    ok(cloud, "keypair", "create", "ProfileKey")
    target = target_for(cloud)
    iam, ec2 = target.client("iam"), target.client("ec2")
    iam.create_role(RoleName="box-role", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="box-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="box-profile", RoleName="box-role")
    instance = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, KeyName="ProfileKey", IamInstanceProfile={"Name": "box-profile"}
    )["Instances"][0]["InstanceId"]
    endpoint = ok(cloud, "cloud", "status", "--json").json()["endpoint"]
    ssh = instance_ssh(cloud, "ProfileKey", instance)
    env = subprocess.run([*ssh, "env"], capture_output=True, text=True, timeout=60).stdout
    seen = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
    assert seen["AWS_ENDPOINT_URL"] == endpoint and seen["AWS_ACCESS_KEY_ID"]
    assert seen["INTROAWS_INSTANCE"].startswith(instance)
    subprocess.run([*ssh, "nohup sleep 300 >/dev/null 2>&1 &"], timeout=60, check=True)
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "300"]]
    left = [p for p in left if p.environ().get("INTROAWS_INSTANCE") == seen["INTROAWS_INSTANCE"]]
    assert len(left) == 1  # outlived its session: re-parented, no longer below the sshd
    ec2.terminate_instances(InstanceIds=[instance])
    _, alive = psutil.wait_procs(left, timeout=10)
    assert alive == []


def test_idle_workers_retire_after_the_idle_time(fresh_home):
    ok(fresh_home, "lambda", "up", INTROAWS_WORKER_IDLE_S="2")  # the daemon starts with this idle time
    ok(fresh_home, "lambda", "invoke")
    workers = daemon_children(fresh_home, "lambda_worker.py")
    assert workers
    assert ok(fresh_home, "cloud", "status", "--json").json()["runtime"]["idle_retire_s"] == 2
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == []
    assert listed(fresh_home, "lambda-worker") == []
    assert json.loads(ok(fresh_home, "lambda", "invoke", "--json").out)["result"]  # a new worker takes over
