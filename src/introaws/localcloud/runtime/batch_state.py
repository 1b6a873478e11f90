"""The Batch runtime's own record of jobs: what ``DescribeJobs`` answers, kept on disk.

moto never sees a job (the runtime answers ``SubmitJob``), so the jobs live here, one JSON
file written atomically on every transition. After a daemon restart, jobs that were
STARTING or RUNNING have lost their process: they are run again when their retry strategy
leaves an attempt, else failed, and their ``statusReason`` says which.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ACTIVE = ("STARTING", "RUNNING")
DONE = ("SUCCEEDED", "FAILED")
RESTART_FAILED = (
    "Host EC2 terminated: the local cloud stopped while this job was {status} "
    "(attempt {attempt} of {attempts}); submit it again"
)
RESTART_RERUN = "re-run: the local cloud stopped while attempt {attempt} of {attempts} was {status}"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Job:
    """One job: its AWS-visible fields plus what the local scheduler needs."""

    job_id: str
    job_arn: str
    job_name: str
    region: str
    queue_arn: str
    definition_arn: str
    definition_name: str
    command: list[str]
    environment: dict[str, str]
    vcpus: int
    memory_mib: int
    gpus: int
    image: str
    environments: list[dict[str, Any]]  # the queue's compute environments: arn, name, max_vcpus, enabled
    attempts_allowed: int = 1
    timeout_s: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    job_role_arn: str | None = None
    status: str = "SUBMITTED"
    status_reason: str | None = None
    created_at: int = field(default_factory=now_ms)
    started_at: int | None = None
    stopped_at: int | None = None
    exit_code: int | None = None
    container_reason: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    compute_environment: str | None = None  # the one it runs on, while it runs
    threads: int = 1
    pid: int | None = None
    kill_reason: str | None = None  # set when terminated or timed out, before the kill

    @property
    def log_stream(self) -> str:
        return f"{self.definition_name}/default/{self.job_id}"

    def describe(self) -> dict[str, Any]:
        """The job as ``DescribeJobs`` shows it."""
        container: dict[str, Any] = {
            "image": self.image,
            "command": self.command,
            "vcpus": self.vcpus,
            "memory": self.memory_mib,
            "resourceRequirements": [
                {"type": "VCPU", "value": str(self.vcpus)},
                {"type": "MEMORY", "value": str(self.memory_mib)},
                *([{"type": "GPU", "value": str(self.gpus)}] if self.gpus else []),
            ],
            "environment": [{"name": k, "value": v} for k, v in self.environment.items()],
            "logStreamName": self.log_stream,
        }
        if self.job_role_arn:
            container["jobRoleArn"] = self.job_role_arn
        if self.exit_code is not None:
            container["exitCode"] = self.exit_code
        if self.container_reason:
            container["reason"] = self.container_reason
        described: dict[str, Any] = {
            "jobArn": self.job_arn,
            "jobName": self.job_name,
            "jobId": self.job_id,
            "jobQueue": self.queue_arn,
            "status": self.status,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "dependsOn": [],
            "jobDefinition": self.definition_arn,
            "parameters": self.parameters,
            "container": container,
            "tags": self.tags,
            "platformCapabilities": ["EC2"],
        }
        for key, value in (
            ("statusReason", self.status_reason),
            ("startedAt", self.started_at),
            ("stoppedAt", self.stopped_at),
        ):
            if value is not None:
                described[key] = value
        if self.timeout_s:
            described["timeout"] = {"attemptDurationSeconds": self.timeout_s}
        return described

    def summary(self) -> dict[str, Any]:
        """The job as ``ListJobs`` shows it."""
        summary: dict[str, Any] = {
            "jobArn": self.job_arn,
            "jobId": self.job_id,
            "jobName": self.job_name,
            "createdAt": self.created_at,
            "status": self.status,
            "jobDefinition": self.definition_arn,
        }
        for key, value in (
            ("statusReason", self.status_reason),
            ("startedAt", self.started_at),
            ("stoppedAt", self.stopped_at),
        ):
            if value is not None:
                summary[key] = value
        if self.exit_code is not None or self.container_reason:
            summary["container"] = {
                k: v for k, v in (("exitCode", self.exit_code), ("reason", self.container_reason)) if v is not None
            }
        return summary


class JobStore:
    """Jobs by id, saved to ``path`` after every change (callers hold ``lock``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        if path.exists():
            for raw in json.loads(path.read_text()):
                job = Job(**raw)
                self.jobs[job.job_id] = job

    def add(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.job_id] = job
            self.save()

    def save(self) -> None:
        with self.lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps([asdict(j) for j in self.jobs.values()]))
            tmp.replace(self.path)

    def reconcile_after_restart(self) -> list[Job]:
        """Jobs whose process died with the previous daemon: re-queue or fail each."""
        touched = []
        with self.lock:
            for job in self.jobs.values():
                if job.status not in ACTIVE:
                    continue
                attempt = len(job.attempts) + 1
                facts = {"status": job.status, "attempt": attempt, "attempts": job.attempts_allowed}
                job.attempts.append(
                    {
                        "startedAt": job.started_at,
                        "stoppedAt": now_ms(),
                        "statusReason": "the local cloud stopped",
                        "container": {},
                    }
                )
                job.pid, job.compute_environment = None, None
                if attempt < job.attempts_allowed:
                    job.status, job.status_reason = "RUNNABLE", RESTART_RERUN.format(**facts)
                    job.started_at = None
                else:
                    job.status, job.status_reason = "FAILED", RESTART_FAILED.format(**facts)
                    job.stopped_at = now_ms()
                touched.append(job)
            self.save()
        return touched
