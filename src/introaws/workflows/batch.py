"""The Batch hands-on (textbook ch. 9): an MNIST hyper-parameter sweep, one job per point.

A sweep is a grid of (learning rate, momentum) points with an id (``sweep-<UTC time>-<hex>``);
each point is a job running ``python -m introaws.tasks.mnist`` that uploads its CSV and JSON
summary to ``s3://<bucket>/<sweep id>/``. The sweep's manifest (``sweep.json`` beside them)
names its jobs, so ``status``, ``results`` and ``logs`` find them on either cloud.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from introaws import pricing, quotas
from introaws.deploy.engine import DeployResult
from introaws.errors import MissingTool, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.tasks.mnist import COMMAND
from introaws.workflows import lifecycle, placement

NAME = "batch"
MANIFEST = "sweep.json"
LOG_GROUP = "/aws/batch/job"
FINAL = ("SUCCEEDED", "FAILED")
# An ECR image reference: account.dkr.ecr.region.amazonaws.com/repository[:tag][@digest].
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$"
)
STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class Stack:
    bucket: str
    queue: str
    definition: str
    compute_environment: str
    repository: str
    repository_uri: str
    instance_type: str

    @classmethod
    def of(cls, target: Target) -> Stack:
        outputs = lifecycle.deployed(target, NAME).outputs
        try:
            return cls(
                outputs["BucketName"],
                outputs["JobQueueArn"],
                outputs["JobDefinitionArn"],
                outputs["ComputeEnvironmentArn"],
                outputs["RepositoryName"],
                outputs["RepositoryUri"],
                outputs["InstanceType"],
            )
        except KeyError as exc:
            raise NotFound(
                _("the SimpleBatch stack has no output {error}").format(error=exc),
                _("redeploy with 'introaws batch up'"),
            ) from None


def up(
    target: Target,
    instance_type: str,
    spot: bool = False,
    *,
    dry_run: bool = False,
    wait: bool = True,
    report: Reporter = silent,
) -> DeployResult:
    """Deploy SimpleBatch (see :func:`params`)."""
    chosen = params(target, instance_type, spot, report)
    return lifecycle.up(target, NAME, chosen, dry_run=dry_run, wait=wait, report=report)


def params(target: Target, instance_type: str, spot: bool = False, report: Reporter = silent) -> dict[str, Any]:
    """The stack's parameters: its subnet in a zone that offers ``instance_type``; jobs ask for
    a GPU only when the type has one (else they would wait in RUNNABLE for ever)."""
    chosen: dict[str, Any] = {"instance_type": instance_type, "zone": placement.zone_for(target, instance_type, report)}
    if spot:
        chosen["spot"] = True
    if not quotas.has_gpu(instance_type):
        chosen["gpus"] = 0
        report(Event("info", _("{instance_type} has no GPU: jobs run on its CPUs").format(instance_type=instance_type)))
    return chosen


def parse_values(text: str, what: str) -> list[float]:
    """``"0.1,0.01"`` -> ``[0.1, 0.01]`` (order kept, duplicates dropped)."""
    values: list[float] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(
                _("{what} '{part}' is not a number").format(what=what, part=part),
                _("give {what} as comma-separated numbers, e.g. 0.1,0.01").format(what=what),
            ) from None
        if value not in values:
            values.append(value)
    if not values:
        raise UsageError(
            _("no {what} given").format(what=what), _("give {what} as comma-separated numbers").format(what=what)
        )
    return values


def job_name(lr: float, momentum: float) -> str:
    """``lr0p01_m0p1``: Batch job names allow letters, digits, '-' and '_' only, so '.' is 'p'."""

    def fmt(value: float) -> str:
        return f"{value:g}".replace(".", "p").replace("-", "n")

    return f"lr{fmt(lr)}_m{fmt(momentum)}"


def new_sweep_id() -> str:
    return f"sweep-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def sweep(
    target: Target,
    lrs: list[float],
    momentums: list[float],
    epochs: int,
    *,
    batch_size: int | None = None,
    patience: int | None = None,
    vcpus: int | None = None,
    gpus: int | None = None,
    memory: int | None = None,
    attempts: int = 1,
    push: bool = False,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Submit one job per (lr, momentum); returns the manifest (sweep id, jobs). On AWS the
    jobs' image must be in ECR first (``push`` builds and pushes it when it is not)."""
    if epochs < 1:
        raise UsageError(_("--epochs must be at least 1"), _("for example --epochs 100 (the textbook's)"))
    if not 1 <= attempts <= 10:
        raise UsageError(_("--attempts must be between 1 and 10"), _("Batch retries a job at most 10 times"))
    stack = Stack.of(target)
    target.kind.check_account(ensure_image, stack, push, report)
    environment = []
    if target.kind.runs_here:  # the installed payload, with this machine's files and cores
        environment.append({"name": "MNIST_DATA_DIR", "value": str(_local_data_dir())})
        if vcpus is None:
            vcpus = 1
            report(
                Event(
                    "info",
                    _(
                        "local cloud: each job gets 1 vCPU so that jobs run side by side on this machine's cores "
                        "(--vcpus to change)"
                    ),
                )
            )
    requirements = [
        {"type": kind, "value": str(value)}
        for kind, value in (("VCPU", vcpus), ("GPU", gpus), ("MEMORY", memory))
        if value is not None
    ]
    if target.kind.bills:
        hourly = pricing.ec2_hourly(target, stack.instance_type)
        price = (
            _(" at about ${hourly:.3f}/hour each in {region} while they run").format(
                hourly=hourly, region=target.region
            )
            if hourly
            else ""
        )
        report(
            Event(
                "info",
                _(
                    "{jobs} jobs on {instance_type} instances{price}; the compute environment scales back to "
                    "0 when they end"
                ).format(jobs=len(lrs) * len(momentums), instance_type=stack.instance_type, price=price),
            )
        )
    sweep_id = new_sweep_id()
    manifest: dict[str, Any] = {
        "sweep_id": sweep_id,
        "created": datetime.now(UTC).isoformat(),
        "epochs": epochs,
        "lrs": lrs,
        "momentums": momentums,
        "queue": stack.queue,
        "definition": stack.definition,
        "jobs": [],
    }
    batch = target.client("batch")
    try:
        for lr in lrs:
            for momentum in momentums:
                overrides: dict[str, Any] = {
                    "command": job_command(lr, momentum, epochs, sweep_id, batch_size, patience)
                }
                if environment:
                    overrides["environment"] = environment
                if requirements:
                    overrides["resourceRequirements"] = requirements
                name = job_name(lr, momentum)
                submitted = batch.submit_job(
                    jobName=name,
                    jobQueue=stack.queue,
                    jobDefinition=stack.definition,
                    containerOverrides=overrides,
                    retryStrategy={"attempts": attempts},
                    tags={"introaws:sweep": sweep_id},
                )
                manifest["jobs"].append({"name": name, "lr": lr, "momentum": momentum, "job_id": submitted["jobId"]})
                report(Event("step", _("submitted {name} ({jobId})").format(name=name, jobId=submitted["jobId"])))
    finally:
        if manifest["jobs"]:
            target.client("s3").put_object(
                Bucket=stack.bucket, Key=f"{sweep_id}/{MANIFEST}", Body=json.dumps(manifest, indent=1).encode()
            )
    return manifest


def ensure_image(target: Target, stack: Stack, push: bool = False, report: Reporter = silent) -> None:
    """Refuse before anything is submitted when the job definition's image is not in ECR (or,
    with ``push``, build and push it): each job would start a GPU instance and die with
    ``CannotPullContainerError``."""
    definitions = target.client("batch").describe_job_definitions(jobDefinitions=[stack.definition])["jobDefinitions"]
    image = definitions[0].get("containerProperties", {}).get("image", "") if definitions else ""
    found = _ECR_IMAGE.match(image)
    if not found:  # an image from another registry: not introaws's to check
        return
    ecr = target.client("ecr")
    wanted = {"imageDigest": found["digest"]} if found["digest"] else {"imageTag": found["tag"] or "latest"}
    try:
        ecr.describe_images(registryId=found["account"], repositoryName=found["repository"], imageIds=[wanted])
        return
    except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
        pass
    if not push:
        raise NotFound(
            _(
                "the jobs' image {image} is not in ECR: every job would start an instance and fail with "
                "CannotPullContainerError; nothing was submitted"
            ).format(image=image),
            _("push it with 'introaws batch push' (needs Docker), or add --push to the sweep"),
        )
    from introaws.workflows import batch_image

    report(Event("step", _("{image} is not in ECR yet: building and pushing it").format(image=image)))
    batch_image.push(target, report)


def job_command(
    lr: float, momentum: float, epochs: int, sweep_id: str, batch_size: int | None, patience: int | None
) -> list[str]:
    """The payload's command line for one point; results go to ``s3://$BUCKET_NAME/<sweep id>/``."""
    command = [
        *COMMAND,
        "--lr",
        str(lr),
        "--momentum",
        str(momentum),
        "--epochs",
        str(epochs),
        "--upload-s3",
        "--sweep-id",
        sweep_id,
    ]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    if patience:
        command += ["--patience", str(patience)]
    return command


def _local_data_dir() -> Path:
    try:
        import torch  # noqa: F401  (the local cloud runs the jobs with it)

        from introaws.tasks.mnist import data
        from introaws.workflows.data import mnist_dir
    except ImportError:
        raise MissingTool(
            _("the local cloud runs MNIST jobs with torch, which is not installed"), _("pip install 'introaws[ml]'")
        ) from None

    directory = mnist_dir().resolve()
    missing = data.missing_files(directory)
    if missing:
        raise NotFound(
            _("MNIST is not in {directory} (missing {missing})").format(
                directory=directory, missing=", ".join(missing)
            ),
            _("run 'introaws data mnist', or set MNIST_DATA_DIR to a folder with the four IDX files"),
        )
    return directory


def manifest(target: Target, sweep_id: str | None = None) -> dict[str, Any]:
    """The given sweep's manifest, else the latest one's."""
    stack = Stack.of(target)
    s3 = target.client("s3")
    if sweep_id is None:
        prefixes = [
            p["Prefix"].rstrip("/")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Delimiter="/")
            for p in page.get("CommonPrefixes", [])
            if p["Prefix"].startswith("sweep-")
        ]
        if not prefixes:
            raise NotFound(_("no sweep has been run yet"), _("start one with 'introaws batch sweep'"))
        sweep_id = max(prefixes)
    try:
        body = s3.get_object(Bucket=stack.bucket, Key=f"{sweep_id}/{MANIFEST}")["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise NotFound(
            _("no sweep {sweep_id}").format(sweep_id=sweep_id), _("see the sweep ids with 'introaws batch status'")
        ) from None
    return json.loads(body)


def job_states(target: Target, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """describe_jobs for any number of ids (100 per call), by id."""
    batch = target.client("batch")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(job_ids), 100):
        for job in batch.describe_jobs(jobs=job_ids[start : start + 100])["jobs"]:
            found[job["jobId"]] = job
    return found


def rows(sweep: dict[str, Any], states: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per job: name, lr, momentum, status, reason, exit code, seconds running."""
    table = []
    for job in sweep["jobs"]:
        state = states.get(job["job_id"], {})
        started, stopped = state.get("startedAt"), state.get("stoppedAt")
        end = stopped or (time.time() * 1000 if started else None)
        table.append(
            {
                **job,
                "status": state.get("status", "UNKNOWN"),
                "reason": state.get("statusReason"),
                "exit_code": state.get("container", {}).get("exitCode"),
                "seconds": round((end - started) / 1000, 1) if started and end else None,
                # Batch records an attempt when it ends; a finished job's last one is its final one.
                "earlier_attempts": [
                    a.get("statusReason")
                    for a in state.get("attempts", [])[: -1 if state.get("status") in FINAL else None]
                ],
                "created_at": state.get("createdAt"),
            }
        )
    return table


def wait(
    target: Target,
    sweep: dict[str, Any],
    report: Reporter = silent,
    *,
    poll_s: float | None = None,
    runnable_warn_s: float | None = None,
) -> list[dict[str, Any]]:
    """Poll until every job has ended; ``progress`` events carry the rows, a job RUNNABLE for
    too long gets one diagnosis (on AWS; on the local cloud only when it can never start)."""
    from introaws.workflows import batch_diagnose

    poll = poll_s or target.kind.job_poll_s
    warn_after = runnable_warn_s if runnable_warn_s is not None else target.kind.capacity_wait_s
    ids = [j["job_id"] for j in sweep["jobs"]]
    diagnosed = False
    while True:
        current = rows(sweep, job_states(target, ids))
        report(Event("progress", _("jobs"), {"rows": current, "done": sum(r["status"] in FINAL for r in current)}))
        if all(r["status"] in FINAL for r in current):
            return current
        stuck = [
            r
            for r in current
            if r["status"] == "RUNNABLE" and r["created_at"] and time.time() - r["created_at"] / 1000 > warn_after
        ]
        if stuck and not diagnosed:
            findings = batch_diagnose.diagnose(target, stuck[0]["job_id"])
            if not target.kind.runs_here or any(f.blocking for f in findings):
                diagnosed = True
                report(
                    Event(
                        "warning",
                        _("{job} has been RUNNABLE for over {seconds:.0f} s: {findings}").format(
                            job=stuck[0]["name"], seconds=warn_after, findings="; ".join(f.text for f in findings)
                        ),
                    )
                )
        time.sleep(poll)


def status(target: Target, sweep_id: str | None = None) -> dict[str, Any]:
    """The stack, and the given (else latest) sweep's jobs when there is one."""
    data = lifecycle.status(target, NAME)
    data["sweep"] = None
    if data["status"] and data["status"].endswith("_COMPLETE") and not data["status"].startswith("DELETE"):
        try:
            current = manifest(target, sweep_id)
        except NotFound:
            if sweep_id:
                raise
            return data
        jobs = rows(current, job_states(target, [j["job_id"] for j in current["jobs"]]))
        add_log_tails(target, jobs)
        data["sweep"] = {"sweep_id": current["sweep_id"], "epochs": current["epochs"], "jobs": jobs}
    return data


def add_log_tails(target: Target, job_rows: list[dict[str, Any]], lines: int = 3) -> None:
    """Give each FAILED row the last lines of its log (``log_tail``): usually the reason."""
    for row in job_rows:
        if row["status"] == "FAILED":
            row["log_tail"] = logs(target, row["job_id"], tail=lines)["lines"]


def results(target: Target, sweep_id: str | None = None) -> dict[str, Any]:
    """Best validation accuracy per point, the best pair and its test accuracy, from S3.

    A point without results (its job failed or is still running) is listed with the reason
    instead of a number."""
    from introaws.tasks.mnist.__main__ import metrics_name, summary_name

    stack = Stack.of(target)
    current = manifest(target, sweep_id)
    states = job_states(target, [j["job_id"] for j in current["jobs"]])
    s3 = target.client("s3")
    points = []
    for row in rows(current, states):
        point: dict[str, Any] = {
            "lr": row["lr"],
            "momentum": row["momentum"],
            "job": row["name"],
            "job_id": row["job_id"],
            "status": row["status"],
            "missing": None,
        }
        prefix = f"{current['sweep_id']}/"
        metrics = _read_text(s3, stack.bucket, prefix + metrics_name(row["lr"], row["momentum"]))
        summary = _read_text(s3, stack.bucket, prefix + summary_name(row["lr"], row["momentum"]))
        if metrics is None:
            reason = row["reason"] if row["status"] == "FAILED" else f"job is {row['status']}"
            exit_code = f" (exit code {row['exit_code']})" if row["exit_code"] not in (None, 0) else ""
            point["missing"] = f"no results: {reason}{exit_code}"
        else:
            epochs = list(csv.DictReader(io.StringIO(metrics)))
            best = min(epochs, key=lambda e: float(e["val_loss"]))
            point.update(
                best_val_accuracy=max(float(e["val_accuracy"]) for e in epochs),
                best_epoch=int(best["epoch"]),
                best_val_loss=float(best["val_loss"]),
                epochs_run=len(epochs),
                test_accuracy=json.loads(summary)["test_accuracy"] if summary else None,
            )
        points.append(point)
    complete = [p for p in points if p["missing"] is None]
    best_point = max(complete, key=lambda p: p["best_val_accuracy"]) if complete else None
    return {
        "sweep_id": current["sweep_id"],
        "epochs": current["epochs"],
        "lrs": current["lrs"],
        "momentums": current["momentums"],
        "points": points,
        "best": best_point,
        "missing": [p for p in points if p["missing"]],
    }


def _read_text(s3: Any, bucket: str, key: str) -> str | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except s3.exceptions.NoSuchKey:
        return None


def logs(target: Target, job: str, sweep_id: str | None = None, tail: int | None = None) -> dict[str, Any]:
    """A job's log lines from CloudWatch Logs; ``job`` is a job id or a job name of the sweep."""
    job_id = job
    if not _looks_like_id(job):
        current = manifest(target, sweep_id)
        match = next((j for j in current["jobs"] if j["name"] == job), None)
        if match is None:
            names = ", ".join(j["name"] for j in current["jobs"])
            raise NotFound(
                _("no job {job} in {sweep_id}").format(job=job, sweep_id=current["sweep_id"]),
                _("use one of: {names}").format(names=names),
            )
        job_id = match["job_id"]
    described = job_states(target, [job_id]).get(job_id)
    if described is None:
        raise NotFound(_("no Batch job {job_id}").format(job_id=job_id), _("see the jobs with 'introaws batch status'"))
    stream = described.get("container", {}).get("logStreamName")
    lines: list[str] = []
    if stream:
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        client = target.client("logs")
        while True:
            try:
                page = client.get_log_events(**kwargs)
            except client.exceptions.ResourceNotFoundException:
                break
            lines += [e["message"] for e in page["events"]]
            if not page["events"] or page.get("nextForwardToken") == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextForwardToken"]
    return {
        "job_id": job_id,
        "name": described["jobName"],
        "status": described["status"],
        "reason": described.get("statusReason"),
        "lines": lines[-tail:] if tail else lines,
    }


def _looks_like_id(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4
