"""AWS Batch on the local cloud: ``SubmitJob`` really runs the job, as a local process.

moto's Batch backend wants Docker, so the runtime answers the job API itself (``SubmitJob``,
``DescribeJobs``, ``ListJobs``, ``TerminateJob``, ``CancelJob``) and lets moto keep compute
environments, queues and job definitions, which it reads back in-process. A job's command must
be an introaws task payload (``python -m introaws.tasks.<name>``, what ``containers/<name>``
runs on AWS); the executor runs it with this Python, in a folder of its own, with the job
role's credentials handed over as Batch does, its memory as its limit and its
``attemptDurationSeconds`` as its time-out.

States are Batch's: SUBMITTED -> RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED | FAILED. A
RUNNABLE job starts when one of its queue's enabled compute environments has room under
``maxvCpus`` for its vCPUs *and* the machine's CPU budget (shared with ECS tasks) has
min(vCPUs, cores) cores free; the job gets that many threads (``INTROAWS_NUM_THREADS``/
``OMP_NUM_THREADS``), so parallel jobs do not oversubscribe the CPU. Jobs start warm, from a
worker that already imported the payload, unless the daemon runs with
``INTROAWS_BATCH_WORKER=cold``. GPUs are not emulated: a GPU job runs on the CPU and its log
says so. Output goes to CloudWatch Logs (``/aws/batch/job``, stream
``<definition>/default/<job id>``) as on AWS. Jobs of a queue that is deleted fail.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from introaws import containers
from introaws.localcloud.runtime.batch_state import ACTIVE, Job, JobStore, now_ms
from introaws.localcloud.runtime.cpu import UNITS_PER_CORE
from introaws.localcloud.runtime.executor import STOP_GRACE_S, Run, StartFailed, Workload, payload_pythonpath
from introaws.localcloud.runtime.logs import LogDestination

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded
    from introaws.localcloud.runtime import Removed, RuntimeContext

log = logging.getLogger("introaws.localcloud.batch")

LOG_GROUP = "/aws/batch/job"
_PAYLOAD = re.compile(r"^introaws\.tasks\.[A-Za-z_][\w.]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_EXITED = "Essential container in task exited"
_TIMED_OUT = "Job attempt duration exceeded timeout"
_OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"
_QUEUE_GONE = "the job queue was deleted"


class BatchApiError(Exception):
    def __init__(self, message: str, code: str = "ClientException", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


class BatchRuntime:
    """The hook: answers the job API and schedules jobs onto this machine's cores."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.executor = ctx.executor
        self.cores = self.executor.cpu.cores
        self.store = JobStore(ctx.runtime_dir("batch") / "jobs.json")
        self.workdir = ctx.runtime_dir("batch") / "jobs"
        self._runs: dict[str, Run] = {}
        self._use_warm = os.environ.get("INTROAWS_BATCH_WORKER", "warm") != "cold"
        self._wake = threading.Condition(self.store.lock)
        self._stopping = False
        for job in self.store.reconcile_after_restart():
            log.info("batch job %s (%s) after restart: %s", job.job_id, job.job_name, job.status)
        self.executor.cpu.on_release(self._poke)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="batch-dispatch", daemon=True)
        self._dispatcher.start()

    # --- the API ------------------------------------------------------------------------

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None:
        if request.service != "batch":
            return None
        operation = request.path.rstrip("/").rsplit("/", 1)[-1].lower()
        handler = {
            "submitjob": self._submit,
            "describejobs": self._describe,
            "listjobs": self._list,
            "terminatejob": self._terminate,
            "canceljob": self._cancel,
        }.get(operation)
        if handler is None:
            return None
        from introaws.localcloud.front import Reply

        try:
            body = json.loads(request.body or b"{}")
            return Reply.json(handler(body, _region(request)))
        except BatchApiError as exc:
            reply = Reply.json({"__type": exc.code, "message": str(exc)}, exc.status)
            reply.headers.append(("x-amzn-ErrorType", exc.code))
            return reply

    def _submit(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        name = body.get("jobName") or ""
        if not _NAME.match(name):
            raise BatchApiError("jobName must be 1-128 letters, numbers, hyphens and underscores")
        batch = self._client("batch", region)
        queue = self._queue(batch, body.get("jobQueue") or "")
        definition = self._definition(batch, body.get("jobDefinition") or "")
        job = _new_job(body, region, queue, definition, self._environments(batch, queue))
        job.threads = max(1, min(job.vcpus, self.cores))
        with self._wake:  # SUBMITTED until the dispatcher takes it up (no dependencies to wait for)
            self.store.add(job)
            self._wake.notify()
        log.info("batch job %s (%s) submitted: %s", job.job_id, job.job_name, " ".join(job.command))
        return {"jobArn": job.job_arn, "jobName": job.job_name, "jobId": job.job_id}

    def _describe(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        with self.store.lock:
            return {"jobs": [self.store.jobs[i].describe() for i in body.get("jobs") or [] if i in self.store.jobs]}

    def _list(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        queue = body.get("jobQueue") or ""
        filters = {f.get("name"): f.get("values", []) for f in body.get("filters") or []}
        status = body.get("jobStatus") or (None if filters else "RUNNING")
        names = filters.get("JOB_NAME", [])
        with self.store.lock:
            jobs = [
                j
                for j in self.store.jobs.values()
                if j.region == region
                and queue in (j.queue_arn, j.queue_arn.rsplit("/", 1)[-1])
                and (status is None or j.status == status)
                and (not names or any(_name_matches(j.job_name, n) for n in names))
            ]
        return {"jobSummaryList": [j.summary() for j in sorted(jobs, key=lambda j: j.created_at)]}

    def _cancel(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        return self._stop_job(body, running_too=False)

    def _terminate(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        return self._stop_job(body, running_too=True)

    def _stop_job(self, body: dict[str, Any], running_too: bool) -> dict[str, Any]:
        reason = body.get("reason") or "cancelled"
        with self._wake:
            job = self.store.jobs.get(body.get("jobId") or "")
            if job is None:
                raise BatchApiError(f"Job {body.get('jobId')} not found")
            if job.status in ("SUBMITTED", "PENDING", "RUNNABLE"):
                self._finish(job, "FAILED", reason, None)
                return {}
            if job.status not in ACTIVE or not running_too:
                return {}
            job.kill_reason = reason
        self._kill(job.job_id, reason)  # outside the lock: the job's thread records the end
        return {}

    # --- reading what was deployed --------------------------------------------------------

    def _client(self, service: str, region: str) -> Any:
        return self.ctx.client(service, region)

    @staticmethod
    def _queue(batch: Any, name: str) -> dict[str, Any]:
        found = batch.describe_job_queues(jobQueues=[name])["jobQueues"] if name else []
        if not found:
            raise BatchApiError(f"Job queue {name or '(none)'} does not exist")
        return found[0]

    @staticmethod
    def _definition(batch: Any, ref: str) -> dict[str, Any]:
        if ref.startswith("arn:") or ":" in ref:
            found = batch.describe_job_definitions(jobDefinitions=[ref])["jobDefinitions"]
        else:
            found = batch.describe_job_definitions(jobDefinitionName=ref, status="ACTIVE")["jobDefinitions"]
        found = [d for d in found if d.get("status", "ACTIVE") == "ACTIVE"]
        if not found:
            raise BatchApiError(f"Job definition {ref or '(none)'} does not exist")
        return max(found, key=lambda d: d.get("revision", 0))

    @staticmethod
    def _environments(batch: Any, queue: dict[str, Any]) -> list[dict[str, Any]]:
        order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda o: o.get("order", 0))
        arns = [o["computeEnvironment"] for o in order]
        described = {
            e["computeEnvironmentArn"]: e
            for e in batch.describe_compute_environments(computeEnvironments=arns)["computeEnvironments"]
        }
        environments = []
        for arn in arns:
            env = described.get(arn)
            if env is None:
                continue
            environments.append(
                {
                    "arn": arn,
                    "name": env["computeEnvironmentName"],
                    "max_vcpus": int(env.get("computeResources", {}).get("maxvCpus", 0)),
                    "enabled": env.get("state") == "ENABLED" and queue.get("state") == "ENABLED",
                }
            )
        return environments

    # --- scheduling ---------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        with self._wake:
            while not self._stopping:
                self._dispatch()
                self._wake.wait(timeout=1.0)

    def _poke(self) -> None:
        """CPU came back (a task or job ended): look for a job that fits now."""
        with self._wake:
            self._wake.notify()

    def _dispatch(self) -> None:
        """Start every RUNNABLE job that fits, oldest first (a job that does not fit yet does
        not hold back smaller ones behind it)."""
        submitted = [j for j in self.store.jobs.values() if j.status == "SUBMITTED"]
        for job in submitted:
            job.status = "RUNNABLE"
        if submitted:
            self.store.save()
        vcpus_used: dict[str, int] = {}
        for job in self.store.jobs.values():
            if job.status in ACTIVE and job.compute_environment:
                vcpus_used[job.compute_environment] = vcpus_used.get(job.compute_environment, 0) + job.vcpus
        for job in sorted((j for j in self.store.jobs.values() if j.status == "RUNNABLE"), key=lambda j: j.created_at):
            env = next(
                (
                    e
                    for e in job.environments
                    if e["enabled"] and vcpus_used.get(e["arn"], 0) + job.vcpus <= e["max_vcpus"]
                ),
                None,
            )
            if env is None or not self.executor.cpu.try_take(job.threads * UNITS_PER_CORE):
                continue
            job.compute_environment = env["arn"]
            vcpus_used[env["arn"]] = vcpus_used.get(env["arn"], 0) + job.vcpus
            job.status = "STARTING"  # statusReason kept: it may say why this is a re-run
            job.exit_code = job.container_reason = job.kill_reason = None
            self.store.save()
            threading.Thread(
                target=self._run, args=(job.job_id, env), name=f"batch-{job.job_id[:8]}", daemon=True
            ).start()

    def _run(self, job_id: str, env: dict[str, Any]) -> None:
        """Start the job, wait for it, record its end; its CPU share goes back at the end."""
        with self.store.lock:
            job = self.store.jobs[job_id]
            workload = self._workload(job, env)
        try:
            if isinstance(workload, str):
                with self._wake:
                    self._finish(job, "FAILED", workload, None)
                return
            self._attempt(job, workload)
        finally:
            self.executor.cpu.give(job.threads * UNITS_PER_CORE)

    def _attempt(self, job: Job, workload: Workload) -> None:
        try:
            run = self.executor.start(workload)
        except StartFailed as exc:
            with self._wake:
                self._finish(job, "FAILED", str(exc), None)
            return
        with self._wake:
            self._runs[job.job_id] = run
            if self._stopping or job.kill_reason:  # terminated while it started
                run.stop(job.kill_reason or "stopped", grace_s=1.0)
            job.pid, job.status, job.started_at = run.pid, "RUNNING", now_ms()
            self.store.save()
        log.info("batch job %s (%s) running as pid %d with %d threads", job.job_id, job.job_name, run.pid, job.threads)
        end = run.wait()
        with self._wake:
            self._runs.pop(job.job_id, None)
            if self._stopping or job.status not in ACTIVE:
                return  # the daemon is stopping: the next start reconciles this job
            code = end.code
            if code == 0:
                self._finish(job, "SUCCEEDED", _EXITED, 0)
            elif end.cause in ("timeout", "memory"):
                job.container_reason = _TIMED_OUT if end.cause == "timeout" else _OUT_OF_MEMORY
                self._finish(job, "FAILED", job.container_reason, code)
            elif job.kill_reason:  # terminated
                job.container_reason = job.kill_reason
                self._finish(job, "FAILED", job.kill_reason, code)
            elif len(job.attempts) + 1 < job.attempts_allowed:
                self._record_attempt(job, _EXITED, code)
                job.status, job.status_reason, job.started_at = "RUNNABLE", f"retrying after exit code {code}", None
                job.compute_environment = None
                self.store.save()
            else:
                self._finish(job, "FAILED", _EXITED, code)
            self._wake.notify()

    def _workload(self, job: Job, env: dict[str, Any]) -> Workload | str:
        """What the job runs, or why it cannot run."""
        argv = _local_argv(job.command)
        if argv is None:
            return (
                "CannotPullContainerError: the local cloud runs only introaws task "
                f"payloads (python -m introaws.tasks.<name>), not '{' '.join(job.command)}' "
                f"of image {job.image}"
            )
        workdir = self.workdir / job.job_id
        workdir.mkdir(parents=True, exist_ok=True)
        notes = [
            f"introaws local cloud: job {job.job_name} runs on {env['name']} as a local process "
            f"with {job.threads} of {self.cores} cores"
        ]
        outside = containers.outside_image(argv[2])  # argv is python -m introaws.tasks.<name>
        if outside:
            log.warning("batch job %s: %s", job.job_id, outside)
            notes.append(outside)
        if job.gpus:
            notes.append(
                f"introaws local cloud: the job asks for {job.gpus} GPU(s); GPUs are not "
                "emulated, so it runs on this machine's CPU"
            )
        return Workload(
            kind="batch-job",
            name=job.job_id,
            owner=job.definition_arn,
            region=job.region,
            argv=argv,
            env=self._job_env(job, env),
            role_arn=job.job_role_arn,
            handover="container",
            cwd=str(workdir),
            logs=LogDestination(job.region, LOG_GROUP, job.log_stream),
            notes=notes,
            warm_module=argv[2] if self._use_warm else None,
            timeout_s=job.timeout_s,
            memory_mib=job.memory_mib,
        )

    def _job_env(self, job: Job, env: dict[str, Any]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        threads = str(job.threads)
        base.update(job.environment)
        base.update(
            AWS_BATCH_JOB_ID=job.job_id,
            AWS_BATCH_JQ_NAME=job.queue_arn.rsplit("/", 1)[-1],
            AWS_BATCH_CE_NAME=env["name"],
            AWS_BATCH_JOB_ATTEMPT=str(len(job.attempts) + 1),
            INTROAWS_NUM_THREADS=threads,
            OMP_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=payload_pythonpath(base.get("PYTHONPATH")),
        )
        return base

    def _record_attempt(self, job: Job, reason: str, code: int | None) -> None:
        container = {"logStreamName": job.log_stream, **({"exitCode": code} if code is not None else {})}
        job.attempts.append(
            {"container": container, "startedAt": job.started_at, "stoppedAt": now_ms(), "statusReason": reason}
        )

    def _finish(self, job: Job, status: str, reason: str, code: int | None) -> None:
        if job.started_at is not None:
            self._record_attempt(job, reason, code)
        job.status, job.status_reason, job.exit_code = status, reason, code
        job.stopped_at, job.pid, job.compute_environment = now_ms(), None, None
        self.store.save()
        self._wake.notify_all()  # for _await_ends, and the dispatcher
        log.info("batch job %s (%s) %s: %s (exit %s)", job.job_id, job.job_name, status, reason, code)

    def _kill(self, job_id: str, reason: str) -> None:
        run = self._runs.get(job_id)
        if run is not None:
            run.stop(reason)

    def follow_up(self, request: Recorded, removed: Removed) -> None:
        """A queue may be gone (deleted, or with its stack): its jobs fail; warm workers of
        job definitions that are gone stop."""
        if request.service not in ("batch", "cloudformation"):
            return
        with self.store.lock:
            queues = {
                (j.region, j.queue_arn) for j in self.store.jobs.values() if j.status not in ("SUCCEEDED", "FAILED")
            }
        gone = {
            arn
            for region, arn in queues
            if arn in removed or not self._client("batch", region).describe_job_queues(jobQueues=[arn])["jobQueues"]
        }
        doomed = [j.job_id for j in list(self.store.jobs.values()) if j.queue_arn in gone]
        for job_id in doomed:
            self._stop_job({"jobId": job_id, "reason": _QUEUE_GONE}, running_too=True)
        self._await_ends(doomed, STOP_GRACE_S + 3.0)
        self.executor.retire_warm("batch-job", lambda arn: arn not in removed and self._definition_active(arn))

    def _await_ends(self, job_ids: list[str], timeout: float) -> None:
        """Until the killed jobs' threads have recorded their ends (bounded): whoever deleted
        their queue (``batch down`` waiting for its stack) then reads them FAILED, not RUNNING."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while any(self.store.jobs[j].status in ACTIVE for j in job_ids if j in self.store.jobs):
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("batch jobs still ending after %.0f s: %s", timeout, ", ".join(job_ids))
                    return
                self._wake.wait(left)

    def _definition_active(self, arn: str) -> bool:
        found = self._client("batch", arn.split(":")[3]).describe_job_definitions(jobDefinitions=[arn])
        return any(d.get("status", "ACTIVE") == "ACTIVE" for d in found["jobDefinitions"])

    def stop(self) -> None:
        """End running jobs with the daemon; the next start fails or re-runs them."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            runs = list(self._runs.values())
        for run in runs:
            run.stop("the local cloud stopped", grace_s=1.0)
        for run in runs:
            run.wait()
        self.store.save()


def _new_job(
    body: dict[str, Any],
    region: str,
    queue: dict[str, Any],
    definition: dict[str, Any],
    environments: list[dict[str, Any]],
) -> Job:
    props = definition.get("containerProperties") or {}
    overrides = body.get("containerOverrides") or {}
    requirements = _requirements(props.get("resourceRequirements"))
    requirements.update(_requirements(overrides.get("resourceRequirements")))
    parameters = {**(definition.get("parameters") or {}), **(body.get("parameters") or {})}
    command = [_substitute(part, parameters) for part in (overrides.get("command") or props.get("command") or [])]
    environment = {e["name"]: e["value"] for e in props.get("environment") or []}
    environment.update({e["name"]: e["value"] for e in overrides.get("environment") or []})
    timeout = (body.get("timeout") or definition.get("timeout") or {}).get("attemptDurationSeconds")
    job_id = str(uuid.uuid4())
    account = queue["jobQueueArn"].split(":")[4]
    return Job(
        job_id=job_id,
        job_arn=f"arn:aws:batch:{region}:{account}:job/{job_id}",
        job_name=body["jobName"],
        region=region,
        queue_arn=queue["jobQueueArn"],
        definition_arn=definition["jobDefinitionArn"],
        definition_name=definition["jobDefinitionName"],
        command=command,
        environment=environment,
        vcpus=max(1, int(requirements.get("VCPU", overrides.get("vcpus") or props.get("vcpus") or 1))),
        memory_mib=int(requirements.get("MEMORY", overrides.get("memory") or props.get("memory") or 2048)),
        gpus=int(requirements.get("GPU", 0)),
        image=props.get("image", ""),
        environments=environments,
        attempts_allowed=int((body.get("retryStrategy") or definition.get("retryStrategy") or {}).get("attempts") or 1),
        timeout_s=int(timeout) if timeout else None,
        parameters=parameters,
        tags=body.get("tags") or {},
        job_role_arn=props.get("jobRoleArn"),
    )


def _requirements(items: list[dict[str, str]] | None) -> dict[str, float]:
    return {r["type"]: float(r["value"]) for r in items or []}


def _substitute(part: str, parameters: dict[str, str]) -> str:
    """Batch's ``Ref::name`` placeholders in a command."""
    if part.startswith("Ref::") and part[5:] in parameters:
        return str(parameters[part[5:]])
    return part


def _local_argv(command: list[str]) -> list[str] | None:
    """``python -m introaws.tasks.X ...`` with this interpreter; None for anything else."""
    if (
        len(command) >= 3
        and os.path.basename(command[0]) in ("python", "python3")
        and command[1] == "-m"
        and _PAYLOAD.match(command[2])
    ):
        return [sys.executable, *command[1:]]
    return None


def _name_matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def _region(request: Recorded) -> str:
    auth = request.headers.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split(",")[0].split()[1].split("/")[2]
    except IndexError:
        return "us-east-1"
