"""The Batch hands-on end to end on the local cloud: real jobs, real torch, real S3 results.

Sweeps are tiny (the fixture's 600 training digits, 1-2 epochs) so a job takes seconds; the
daemon runs them as processes, two at a time on this machine's cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, cli_env, run_cli, target_for
from introaws.workflows import placement

FIXTURE = ROOT / "src" / "introaws" / "data" / "mnist-sample"


def batch_env(home: Path, **extra: str) -> dict[str, str]:
    return cli_env(home, **{"MNIST_DATA_DIR": str(FIXTURE), "INTROAWS_LOCAL_CORES": "2", **extra})


def bcli(home: Path, *args: str, **extra: str):
    return run_cli(home, *args, env=batch_env(home, **extra))


@pytest.fixture(scope="module")
def deployed(home):
    up = bcli(home, "batch", "up")
    assert up.code == 0, up.err
    yield up
    bcli(home, "batch", "down", "--yes")


@pytest.fixture(scope="module")
def good_sweep(deployed, home):
    result = bcli(home, "batch", "sweep", "--lr", "0.1,0.01", "--momentum", "0.5,0.1", "--epochs", "2", "--json")
    assert result.code == 0, result.err
    return result


@pytest.fixture(scope="module")
def bad_sweep(good_sweep, home):
    return bcli(home, "batch", "sweep", "--lr", "-1,0.1", "--momentum", "0.5", "--epochs", "1", "--json")


def test_up_outputs(deployed):
    for key in ("BucketName", "JobQueueArn", "JobDefinitionArn", "RepositoryUri"):
        assert key in deployed.out
    assert "introaws batch down" in deployed.err


def test_template_is_what_up_sends_for_the_same_options(deployed, target, cli):
    """``batch template`` takes up's options and makes up's choices: with the same options it
    is the template deployed; with a CPU type, jobs that ask for no GPU."""
    printed = cli("batch", "template")
    assert printed.code == 0, printed.err
    sent = target.client("cloudformation").get_template(StackName="SimpleBatch")["TemplateBody"]
    assert printed.json() == json.loads(json.dumps(sent))
    cpu = cli("batch", "template", "--instance-type", "c5.large", "--format", "yaml")
    assert cpu.code == 0 and "c5.large has no GPU" in cpu.err, cpu.err
    resources = yaml.safe_load(cpu.out)["Resources"].values()
    (environment,) = [r for r in resources if r["Type"] == "AWS::Batch::ComputeEnvironment"]
    assert environment["Properties"]["ComputeResources"]["InstanceTypes"] == ["c5.large"]


def test_job_definition_as_the_textbook_says(deployed, target, cli):
    arn = cli("batch", "status", "--json").json()["outputs"]["JobDefinitionArn"]
    definition = target.client("batch").describe_job_definitions(jobDefinitions=[arn])["jobDefinitions"][0]
    container = definition["containerProperties"]
    needs = {r["type"]: r["value"] for r in container["resourceRequirements"]}
    assert needs == {"VCPU": "4", "GPU": "1", "MEMORY": "12000"}
    assert container["command"] == ["python", "-m", "introaws.tasks.mnist"]
    assert [e["name"] for e in container["environment"]] == ["BUCKET_NAME"]
    env = target.client("batch").describe_compute_environments()["computeEnvironments"]
    ours = [e for e in env if e["computeEnvironmentName"].startswith("SimpleBatch")][0]
    assert ours["computeResources"]["maxvCpus"] == 64
    assert ours["computeResources"]["instanceTypes"] == ["g4dn.xlarge"]
    subnets = target.client("ec2").describe_subnets(SubnetIds=ours["computeResources"]["subnets"])["Subnets"]
    assert [s["AvailabilityZone"] for s in subnets] == [placement.zone_for(target, "g4dn.xlarge")]


def test_sweep_runs_every_job_to_success(good_sweep):
    data = good_sweep.json()
    assert [j["name"] for j in data["jobs"]] == ["lr0p1_m0p5", "lr0p1_m0p1", "lr0p01_m0p5", "lr0p01_m0p1"]
    assert {j["status"] for j in data["jobs"]} == {"SUCCEEDED"}
    assert "4 of 4 jobs SUCCEEDED" in good_sweep.err


def test_results_json_lists_points_and_best_pair(good_sweep, home):
    sweep_id = good_sweep.json()["sweep_id"]
    data = bcli(home, "batch", "results", sweep_id, "--json").json()
    assert len(data["points"]) == 4 and data["missing"] == []
    for point in data["points"]:
        assert 0 < point["best_val_accuracy"] <= 100
        assert point["epochs_run"] == 2
        assert 0 <= point["test_accuracy"] <= 100
    best = max(data["points"], key=lambda p: p["best_val_accuracy"])
    assert (data["best"]["lr"], data["best"]["momentum"]) == (best["lr"], best["momentum"])
    assert data["best"]["best_val_accuracy"] > 30  # well above chance (10%) on real digits


def test_results_table_heatmap_and_png(good_sweep, home, tmp_path):
    png = tmp_path / "sweep.png"
    shown = bcli(home, "batch", "results", good_sweep.json()["sweep_id"], "--plot", str(png))
    assert shown.code == 0, shown.err
    assert "best validation accuracy" in shown.out and "lr \\ momentum" in shown.out
    assert "best: lr" in shown.err
    assert _cell_centres(png) == (2, 2)


def _cell_centres(png: Path) -> tuple[int, int]:
    """Distinct rows and columns of the large single-coloured blocks in the image."""
    from matplotlib import image

    pixels = (image.imread(str(png))[:, :, :3] * 255).astype(int)
    flat = pixels.reshape(-1, 3)
    colours, counts = __import__("numpy").unique(flat, axis=0, return_counts=True)
    blocks = [
        tuple(c)
        for c, n in zip(colours, counts, strict=True)
        if n > flat.shape[0] * 0.02 and tuple(c) != (255, 255, 255)
    ]
    centres = []
    for colour in blocks:
        ys, xs = (pixels == colour).all(axis=2).nonzero()
        centres.append((round(ys.mean() / 20), round(xs.mean() / 20)))
    return len({c[0] for c in centres}), len({c[1] for c in centres})


def test_failed_job_shows_reason_and_log_tail(bad_sweep):
    assert bad_sweep.code == 1
    jobs = {j["name"]: j for j in bad_sweep.json()["jobs"]}
    assert jobs["lrn1_m0p5"]["status"] == "FAILED"
    assert jobs["lrn1_m0p5"]["exit_code"] == 2
    assert jobs["lr0p1_m0p5"]["status"] == "SUCCEEDED"
    assert "lrn1_m0p5 FAILED: Essential container in task exited (exit code 2)" in bad_sweep.err
    assert "--lr: must be greater than 0" in bad_sweep.err  # the log tail


def test_results_report_the_missing_point(bad_sweep, home):
    data = bcli(home, "batch", "results", bad_sweep.json()["sweep_id"], "--json").json()
    assert [p["lr"] for p in data["missing"]] == [-1.0]
    assert "exit code 2" in data["missing"][0]["missing"]
    assert data["best"]["lr"] == 0.1
    shown = bcli(home, "batch", "results", bad_sweep.json()["sweep_id"])
    assert shown.code == 0 and "missing" in shown.out


def test_status_and_logs(bad_sweep, home):
    status = bcli(home, "batch", "status", bad_sweep.json()["sweep_id"], "--json").json()
    failed = [j for j in status["sweep"]["jobs"] if j["status"] == "FAILED"]
    assert failed and any("must be greater than 0" in line for line in failed[0]["log_tail"])
    logs = bcli(home, "batch", "logs", "lr0p1_m0p5", "--json").json()
    assert logs["status"] == "SUCCEEDED"
    assert any(line.startswith("epoch 1/1 ") for line in logs["lines"])
    assert any("GPU" in line and "CPU" in line for line in logs["lines"])  # GPU jobs run on CPU, with a note


def test_runnable_job_that_can_never_start_is_diagnosed_and_cancelled(deployed, home, target):
    from introaws.workflows import batch_diagnose

    submitted = bcli(
        home,
        "batch",
        "sweep",
        "--lr",
        "0.1",
        "--momentum",
        "0.5",
        "--epochs",
        "1",
        "--vcpus",
        "128",
        "--no-wait",
        "--json",
    )
    assert submitted.code == 0, submitted.err
    job_id = submitted.json()["jobs"][0]["job_id"]
    time.sleep(1.5)  # the scheduler looks at RUNNABLE jobs every second
    assert target.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNABLE"
    findings = batch_diagnose.diagnose(target, job_id)
    assert any(f.blocking and "needs 128 vCPUs" in f.text and "at most 64" in f.text for f in findings)
    target.client("batch").cancel_job(jobId=job_id, reason="cannot fit")
    job = target.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]
    assert (job["status"], job["statusReason"]) == ("FAILED", "cannot fit")


def test_bad_input_is_one_line(deployed, home):
    bad = bcli(home, "batch", "sweep", "--lr", "0.1,abc", "--momentum", "0.5")
    assert bad.code == 2 and "learning rates 'abc' is not a number" in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    unknown = bcli(home, "batch", "logs", "lr9_m9")
    assert unknown.code == 3 and "no job lr9_m9" in unknown.err
    nodata = bcli(home, "batch", "sweep", "--lr", "0.1", "--momentum", "0.5", MNIST_DATA_DIR=str(home / "none"))
    assert nodata.code == 3 and "introaws data mnist" in nodata.err


def test_push_needs_no_image_locally(home):
    local = bcli(home, "batch", "push")
    assert local.code == 0 and "no image to push" in local.err


def test_killed_daemon_fails_or_reruns_running_jobs(fresh_home):
    assert bcli(fresh_home, "batch", "up").code == 0
    long_run = ["--epochs", "1000", "--patience", "1000"]  # no early stop: it fails with the daemon
    once = bcli(
        fresh_home, "batch", "sweep", "--lr", "0.1", "--momentum", "0.5", *long_run, "--no-wait", "--json"
    ).json()
    twice = bcli(
        fresh_home,
        "batch",
        "sweep",
        "--lr",
        "0.05",
        "--momentum",
        "0.5",
        "--epochs",
        "10",  # still running when the daemon is killed, though a warm job starts with training
        "--attempts",
        "2",
        "--no-wait",
        "--json",
    ).json()
    batch = target_for(fresh_home).client("batch")
    job_ids = [s["jobs"][0]["job_id"] for s in (once, twice)]
    deadline = time.time() + 60
    while time.time() < deadline:
        found = {j["jobId"]: j["status"] for j in batch.describe_jobs(jobs=job_ids)["jobs"]}
        statuses = [found.get(job_id) for job_id in job_ids]
        if statuses == ["RUNNING", "RUNNING"]:
            break
        time.sleep(0.1)
    assert statuses == ["RUNNING", "RUNNING"]
    pid = bcli(fresh_home, "cloud", "status", "--json").json()["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)

    lost = bcli(fresh_home, "batch", "status", once["sweep_id"], "--json").json()["sweep"]["jobs"][0]
    assert lost["status"] == "FAILED"
    assert "local cloud stopped while this job was RUNNING" in lost["reason"]
    shown = bcli(fresh_home, "batch", "status", once["sweep_id"])
    assert "local cloud stopped" in shown.out
    deadline = time.time() + 90
    while time.time() < deadline:
        rerun = bcli(fresh_home, "batch", "status", twice["sweep_id"], "--json").json()["sweep"]["jobs"][0]
        if rerun["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(1)
    assert rerun["status"] == "SUCCEEDED"
    assert rerun["earlier_attempts"] == ["the local cloud stopped"]
    assert "on attempt 2" in bcli(fresh_home, "batch", "status", twice["sweep_id"]).out
    assert _payloads_alive(once["sweep_id"]) == []  # the killed daemon's jobs died with it


def _payloads_alive(sweep_id: str) -> list[str]:
    found = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in found if "introaws.tasks.mnist" in line and sweep_id in line]


def test_down_leaves_no_bucket(deployed, home, target, cli):
    outputs = cli("batch", "status", "--json").json()["outputs"]
    assert bcli(home, "batch", "down", "--yes").code == 0
    names = [b["Name"] for b in target.client("s3").list_buckets()["Buckets"]]
    assert outputs["BucketName"] not in names
    assert cli("batch", "status", "--json").json()["status"] is None
    repositories = target.client("ecr").describe_repositories()["repositories"]
    assert outputs["RepositoryName"] not in [r["repositoryName"] for r in repositories]
