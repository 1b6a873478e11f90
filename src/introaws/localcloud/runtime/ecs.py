"""ECS tasks that really run: ``RunTask`` starts the container's command as a local process.

moto keeps the API objects (clusters, task definitions, tasks); this runtime makes a task
happen and owns its life cycle, which moto does not model:

* ``RunTask`` is forwarded to moto (so the task exists, journaled), then each task waits for
  capacity (``PROVISIONING``), gets its process ready (``PENDING``), runs (``RUNNING``) and
  ends ``STOPPED`` with the container's exit code and a stopped reason, as ECS reports them.
* ``DescribeTasks`` answers are moto's, overlaid with the runtime's record of each task;
  ``StopTask`` ends the process. A stopped task is also stopped in moto (journaled), so
  ``ListTasks`` and replay agree.
* The command is the task definition's (entry point + command) with ``RunTask`` overrides,
  the environment the container's plus overrides plus this cloud's endpoint and task
  credentials. Images built from ``containers/`` are known (:data:`KNOWN_IMAGES`); any other
  image fails to start, as an image that cannot be pulled does.
* Output goes to CloudWatch Logs per the container's ``awslogs`` options
  (stream ``PREFIX/CONTAINER/TASK_ID``).
* Concurrency is bounded by the machine: its cores times 1024 CPU units, shared by tasks by
  their task-level ``cpu``.
* Payload modules run forked from a warm worker per (module, warm environment) — see
  :mod:`~introaws.localcloud.runtime.warm` — unless the daemon runs with
  ``INTROAWS_ECS_WORKER=cold``.

Records live in ``runtime/ecs/tasks.json``; tasks that were not STOPPED when the daemon went
away are stopped on start, with a reason saying so.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from introaws import containers
from introaws.localcloud.front import Reply
from introaws.localcloud.requests import Recorded
from introaws.localcloud.runtime import RuntimeContext
from introaws.localcloud.runtime.warm import WarmWorker, WorkerGone

log = logging.getLogger("introaws.localcloud.ecs")

# Repository name of an image -> its ENTRYPOINT (the image's CMD is empty).
KNOWN_IMAGES: dict[str, list[str]] = {"introaws-qa": ["python", "-m", "introaws.tasks.qa"]}
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
LOGS_TARGET = "Logs_20140328"
# Credentials a task's process gets: the local cloud accepts any, these name the task role.
TASK_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "introaws-task", "AWS_SECRET_ACCESS_KEY": "introaws-local"}
# Environment of the daemon a task process inherits (what a base image would provide).
PASSED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "PYTHONPATH",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TORCH_HOME",
    "XDG_CACHE_HOME",
)
UNIT_PER_CORE = 1024
RESTART_REASON = "Task stopped: the local cloud restarted while the task was active"
MAX_RECORDS = 2000
FLUSH_EVERY_S = 1.0


@dataclass
class TaskRecord:
    arn: str
    cluster: str
    region: str
    container: str
    cpu: int
    memory: int
    status: str = "PROVISIONING"
    desired: str = "RUNNING"
    exit_code: int | None = None
    reason: str = ""
    stop_code: str = ""
    container_reason: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    stopped_at: float | None = None
    pid: int | None = None

    @property
    def task_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass
class Launch:
    """What a task runs: argv, environment and where its output goes."""

    argv: list[str]
    env: dict[str, str]
    log_group: str | None
    log_stream: str | None
    warm_module: str | None  # run forked from this module's warm worker
    warm_key: tuple[str, ...] = ()
    error: str | None = None  # why it cannot start (an image this machine cannot run)


class EcsRuntime:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.dir = ctx.runtime_dir("ecs")
        self._lock = threading.RLock()
        self._capacity = threading.Condition(self._lock)
        self._free_units = _cores() * UNIT_PER_CORE
        self.records: dict[str, TaskRecord] = {}
        self._workers: dict[tuple[str, ...], WarmWorker] = {}
        self._worker_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._processes: dict[str, Callable[[], None]] = {}  # arn -> how to kill it
        self._use_warm = os.environ.get("INTROAWS_ECS_WORKER", "warm") != "cold"
        self._stopping = False
        self._load()

    # --- the hook ---------------------------------------------------------------------

    def handle(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply | None:
        if request.service != "ecs":
            return None
        action = request.action
        if action == "RunTask":
            return self._run_task(request, forward)
        if action == "DescribeTasks":
            return self._describe_tasks(request, forward)
        if action == "StopTask":
            return self._stop_task(request, forward)
        return None

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            kills = list(self._processes.values())
            workers = list(self._workers.values())
            self._workers.clear()
            self._capacity.notify_all()
        for kill in kills:
            kill()
        for worker in workers:
            worker.stop()

    # --- operations -------------------------------------------------------------------

    def _run_task(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply:
        reply = forward(request)
        if reply.status >= 400:
            return reply
        body = json.loads(reply.body)
        params = json.loads(request.body or b"{}")
        for task in body.get("tasks", []):
            definition = self._task_definition(task["taskArn"].split(":")[3], task["taskDefinitionArn"])
            record = self._new_record(task, definition)
            launch = self._launch(record, definition, params.get("overrides") or {})
            with self._lock:
                self.records[record.arn] = record
                self._save()
            self._overlay(task, record)
            threading.Thread(
                target=self._lifecycle, args=(record, launch), daemon=True, name=f"ecs-task-{record.task_id}"
            ).start()
        return _json_reply(reply, body)

    def _describe_tasks(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply:
        reply = forward(request)
        if reply.status >= 400:
            return reply
        body = json.loads(reply.body)
        with self._lock:
            for task in body.get("tasks", []):
                record = self.records.get(task.get("taskArn", ""))
                if record is not None:
                    self._overlay(task, record)
        return _json_reply(reply, body)

    def _stop_task(self, request: Recorded, forward: Callable[[Recorded], Reply]) -> Reply:
        params = json.loads(request.body or b"{}")
        reason = params.get("reason") or "Task stopped by user"
        with self._lock:
            record = next(
                (r for r in self.records.values() if r.arn == params.get("task") or r.task_id == params.get("task")),
                None,
            )
            if record is not None and record.desired != "STOPPED":
                record.desired = "STOPPED"
                record.reason, record.stop_code = reason, "UserInitiated"
                kill = self._processes.get(record.arn)
                self._capacity.notify_all()
                self._save()
            else:
                kill = None
        if kill is not None:
            kill()
        reply = forward(request)
        if reply.status >= 400 or record is None:
            return reply
        body = json.loads(reply.body)
        with self._lock:
            self._overlay(body.get("task", {}), record)
        return _json_reply(reply, body)

    # --- a task's life ----------------------------------------------------------------

    def _lifecycle(self, record: TaskRecord, launch: Launch) -> None:
        units = min(record.cpu, _cores() * UNIT_PER_CORE)
        with self._capacity:
            while self._free_units < units and record.desired == "RUNNING" and not self._stopping:
                self._capacity.wait()
            admitted = record.desired == "RUNNING" and not self._stopping
            if admitted:
                self._free_units -= units
        if not admitted:
            self._finish(
                record, None, record.reason or "Task stopped before it started", record.stop_code or "TaskFailedToStart"
            )
            return
        try:
            self._run(record, launch)
        except Exception as exc:  # a worker that died mid-task, a bug: never leave it RUNNING
            log.exception("task %s failed in the runtime", record.arn)
            if record.status != "STOPPED":
                self._finish(record, None, f"the local cloud lost the task: {exc}", "TaskFailedToStart")
        finally:
            with self._capacity:
                self._free_units += units
                self._capacity.notify_all()

    def _run(self, record: TaskRecord, launch: Launch) -> None:
        self._transition(record, "PENDING")
        if launch.error:
            self._finish(record, None, launch.error, "TaskFailedToStart")
            return
        if launch.log_group and not self._create_log_stream(record, launch):
            return
        outside = containers.outside_image(launch.warm_module) if launch.warm_module else None
        if outside:  # in the daemon's log and the task's, before the task's own output
            log.warning("task %s: %s", record.arn, outside)
            if launch.log_group:
                self._put_logs(record, launch, [{"timestamp": int(time.time() * 1000), "message": outside}])
        read_fd, write_fd = os.pipe()
        try:
            wait, kill = self._start_process(record, launch, write_fd)
        except (OSError, WorkerGone) as exc:
            os.close(read_fd)
            self._finish(record, None, f"CannotStartContainerError: {exc}", "TaskFailedToStart")
            return
        finally:
            os.close(write_fd)
        with self._lock:
            self._processes[record.arn] = kill
            if record.desired != "RUNNING":  # stopped while it was starting
                kill()
        self._transition(record, "RUNNING", started_at=time.time())
        shipping = self._ship_logs(record, launch, read_fd)
        code = wait()
        if code < 0:  # killed by a signal: report it as a container runtime does (128 + signal)
            code = 128 - code
        shipping.join()  # all output is in CloudWatch before the task shows STOPPED
        with self._lock:
            self._processes.pop(record.arn, None)
        if record.desired == "STOPPED":
            self._finish(record, code, record.reason, record.stop_code)
        else:
            self._finish(record, code, "Essential container in task exited", "EssentialContainerExited")

    def _start_process(
        self, record: TaskRecord, launch: Launch, output_fd: int
    ) -> tuple[Callable[[], int], Callable[[], None]]:
        """Start the task (forked warm, or a fresh process); returns (wait, kill)."""
        if launch.warm_module and self._use_warm:
            worker = self._worker(launch)
            task = worker.start(launch.argv[3:], launch.env, output_fd)
            record.pid = task.pid

            def kill_forked() -> None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(task.pid, signal.SIGTERM)

            return task.wait, kill_forked
        process = subprocess.Popen(
            launch.argv,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=output_fd,
            stderr=output_fd,
            close_fds=True,
            start_new_session=True,
        )
        record.pid = process.pid
        return process.wait, process.terminate

    def _worker(self, launch: Launch) -> WarmWorker:
        """The warm worker for this launch, started (once) when needed."""
        with self._lock:
            lock = self._worker_locks.setdefault(launch.warm_key, threading.Lock())
        with lock:
            worker = self._workers.get(launch.warm_key)
            if worker is not None and worker.alive():
                return worker
            log.info("starting a warm worker for %s", launch.warm_key)
            worker = WarmWorker(launch.warm_module or "", launch.env, self.dir / "workers.log")
            with self._lock:
                if self._stopping:
                    worker.stop()
                    raise WorkerGone("the local cloud is stopping")
                self._workers[launch.warm_key] = worker
            return worker

    def _transition(self, record: TaskRecord, status: str, **changes: Any) -> None:
        with self._lock:
            record.status = status
            for key, value in changes.items():
                setattr(record, key, value)
            self._save()

    def _finish(self, record: TaskRecord, code: int | None, reason: str, stop_code: str) -> None:
        with self._lock:
            record.status, record.desired = "STOPPED", "STOPPED"
            record.exit_code, record.reason, record.stop_code = code, reason, stop_code
            record.stopped_at = time.time()
            record.pid = None
            self._save()
        self._stop_in_moto(record, reason)

    # --- logs -------------------------------------------------------------------------

    def _create_log_stream(self, record: TaskRecord, launch: Launch) -> bool:
        reply = self._call(
            record.region,
            "logs",
            f"{LOGS_TARGET}.CreateLogStream",
            {"logGroupName": launch.log_group, "logStreamName": launch.log_stream},
        )
        if reply.status < 400 or b"ResourceAlreadyExists" in reply.body:
            return True
        self._finish(
            record,
            None,
            f"ResourceInitializationError: failed to validate logger args: log group {launch.log_group} does not exist",
            "TaskFailedToStart",
        )
        return False

    def _ship_logs(self, record: TaskRecord, launch: Launch, read_fd: int) -> threading.Thread:
        """Copy the task's output, line by line, to its log stream (in a thread)."""

        def pump() -> None:
            batch: list[dict[str, Any]] = []
            flushed = time.monotonic()
            with open(read_fd, encoding="utf-8", errors="replace") as output:
                for line in output:
                    batch.append({"timestamp": int(time.time() * 1000), "message": line.rstrip("\n")})
                    if time.monotonic() - flushed > FLUSH_EVERY_S or len(batch) >= 500:
                        self._put_logs(record, launch, batch)
                        batch, flushed = [], time.monotonic()
            self._put_logs(record, launch, batch)

        thread = threading.Thread(target=pump, daemon=True, name=f"ecs-logs-{record.task_id}")
        thread.start()
        return thread

    def _put_logs(self, record: TaskRecord, launch: Launch, events: list[dict[str, Any]]) -> None:
        if events and launch.log_group:
            self._call(
                record.region,
                "logs",
                f"{LOGS_TARGET}.PutLogEvents",
                {"logGroupName": launch.log_group, "logStreamName": launch.log_stream, "logEvents": events},
            )

    # --- what a task runs -------------------------------------------------------------

    def _new_record(self, task: dict[str, Any], definition: dict[str, Any]) -> TaskRecord:
        container = definition["containerDefinitions"][0]
        cpu = int(definition.get("cpu") or container.get("cpu") or UNIT_PER_CORE)
        memory = int(definition.get("memory") or container.get("memory") or 0)
        return TaskRecord(
            arn=task["taskArn"],
            cluster=task["clusterArn"],
            region=task["taskArn"].split(":")[3],
            container=container.get("name", ""),
            cpu=cpu,
            memory=memory,
        )

    def _launch(self, record: TaskRecord, definition: dict[str, Any], overrides: dict[str, Any]) -> Launch:
        container = definition["containerDefinitions"][0]
        override: dict[str, Any] = next(
            (o for o in overrides.get("containerOverrides", []) if o.get("name") in (None, container.get("name"))), {}
        )
        image = str(container.get("image", ""))
        entry = container.get("entryPoint") or KNOWN_IMAGES.get(_repository(image), [])
        argv = list(entry) + list(override.get("command") or container.get("command") or [])
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update({e["name"]: e["value"] for e in container.get("environment", [])})
        env.update({e["name"]: e["value"] for e in override.get("environment", [])})
        env.update(
            TASK_CREDENTIALS,
            AWS_ENDPOINT_URL=self.ctx.endpoint,
            AWS_REGION=record.region,
            AWS_DEFAULT_REGION=record.region,
            OMP_NUM_THREADS=str(max(1, record.cpu // UNIT_PER_CORE)),
            TOKENIZERS_PARALLELISM="false",
        )
        options = (container.get("logConfiguration") or {}).get("options", {})
        group = options.get("awslogs-group")
        stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{record.container}/{record.task_id}"
        if not argv or (_repository(image) not in KNOWN_IMAGES and not container.get("entryPoint")):
            error = (
                f"CannotPullContainerError: the local cloud cannot run image {image}; "
                f"it runs images of {', '.join(sorted(KNOWN_IMAGES))} or a task definition's entryPoint"
            )
            return Launch([], env, group, None, None, error=error)
        # Only the payloads of known images are imported into a warm worker.
        payloads = {known[2] for known in KNOWN_IMAGES.values()}
        module = argv[2] if len(argv) > 2 and argv[:2] == [sys.executable, "-m"] and argv[2] in payloads else None
        key: tuple[str, ...] = ()
        if module:
            warm_env = getattr(importlib.import_module(module), "WARM_ENV", ())
            key = (module, *(env.get(name, "") for name in warm_env))
        return Launch(argv, env, group, stream if group else None, module, key)

    def _task_definition(self, region: str, arn: str) -> dict[str, Any]:
        reply = self._call(region, "ecs", f"{ECS_TARGET}.DescribeTaskDefinition", {"taskDefinition": arn})
        return dict(json.loads(reply.body)["taskDefinition"])

    # --- moto and the records -----------------------------------------------------------

    def _call(self, region: str, service: str, target: str, payload: dict[str, Any]) -> Reply:
        """A request to moto from the runtime itself (journaled when it changes state)."""
        request = Recorded(
            method="POST",
            path="/",
            query="",
            body=json.dumps(payload).encode(),
            headers={
                "HTTP_X_AMZ_TARGET": target,
                "CONTENT_TYPE": "application/x-amz-json-1.1",
                "HTTP_HOST": f"{service}.{region}.amazonaws.com",
                "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=introaws/20260101/{region}/"
                f"{service}/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        return self.ctx.forward(request)

    def _stop_in_moto(self, record: TaskRecord, reason: str) -> None:
        """Tell moto the task stopped; a cluster deleted meanwhile is no error."""
        try:
            self._call(
                record.region,
                "ecs",
                f"{ECS_TARGET}.StopTask",
                {"cluster": record.cluster, "task": record.arn, "reason": reason or "stopped"},
            )
        except Exception:  # moto raises plain exceptions for tasks or clusters it lost
            log.warning("moto could not stop task %s", record.arn, exc_info=True)

    def _overlay(self, task: dict[str, Any], record: TaskRecord) -> None:
        """Make moto's view of a task say what really happened to it."""
        task.update(
            lastStatus=record.status,
            desiredStatus=record.desired,
            cpu=str(record.cpu),
            memory=str(record.memory),
            createdAt=record.created_at,
        )
        for key, value in (
            ("startedAt", record.started_at),
            ("stoppedAt", record.stopped_at),
            ("stoppedReason", record.reason or None),
            ("stopCode", record.stop_code or None),
        ):
            if value is not None:
                task[key] = value
            else:
                task.pop(key, None)
        for container in task.get("containers", [])[:1]:
            container.update(name=record.container, taskArn=record.arn, lastStatus=record.status)
            container.pop("exitCode", None)
            if record.exit_code is not None:
                container["exitCode"] = record.exit_code
            if record.status == "STOPPED" and record.exit_code is None:
                container["reason"] = record.reason

    def _load(self) -> None:
        """Read the records back; what was active when the daemon went away is stopped."""
        path = self.dir / "tasks.json"
        with contextlib.suppress(OSError, ValueError):
            self.records = {r["arn"]: TaskRecord(**r) for r in json.loads(path.read_text())}
        interrupted = [r for r in self.records.values() if r.status != "STOPPED"]
        for record in interrupted:
            was_running = record.status == "RUNNING"
            record.status, record.desired, record.pid = "STOPPED", "STOPPED", None
            record.reason = RESTART_REASON
            record.stop_code = "TerminationNotice" if was_running else "TaskFailedToStart"
            record.stopped_at = time.time()
            self._stop_in_moto(record, RESTART_REASON)
        if interrupted:
            log.info("stopped %d tasks left active by the previous daemon", len(interrupted))
            self._save()

    def _save(self) -> None:
        with self._lock:
            records = sorted(self.records.values(), key=lambda r: r.created_at)[-MAX_RECORDS:]
            self.records = {r.arn: r for r in records}
            tmp = self.dir / "tasks.json.tmp"
            tmp.write_text(json.dumps([asdict(r) for r in records]))
            tmp.replace(self.dir / "tasks.json")


def _repository(image: str) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com/name:tag`` -> ``name``."""
    return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _json_reply(reply: Reply, body: dict[str, Any]) -> Reply:
    data = json.dumps(body).encode()
    headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(data))))
    return Reply(reply.status, headers, data)
