"""ECS tasks that really run: ``RunTask`` starts the container's command as a local process.

moto keeps the API objects (clusters, task definitions, tasks); this runtime maps a task onto
a workload of the executor and owns its life cycle, which moto does not model:

* ``RunTask`` is forwarded to moto (so the task exists, journaled), then each task waits for
  its share of the machine's CPU (``PROVISIONING``, task-level ``cpu`` in ECS units), gets its
  process ready (``PENDING``), runs (``RUNNING``) and ends ``STOPPED`` with the container's exit
  code and a stopped reason, as ECS reports them.
* ``DescribeTasks`` answers are moto's, overlaid with the runtime's record of each task;
  ``StopTask`` ends the process. A stopped task is also stopped in moto (journaled), so
  ``ListTasks`` and replay agree. Tasks of a cluster that is deleted are stopped.
* The command is the task definition's (entry point + command) with ``RunTask`` overrides,
  the environment the container's plus overrides; credentials are the task role's
  (``taskRoleArn``, overridable in ``RunTask``), handed over as ECS does. Images built from
  ``containers/`` are known (:data:`KNOWN_IMAGES`); any other image fails to start, as an image
  that cannot be pulled does. The task's memory is its limit.
* Output goes to CloudWatch Logs per the container's ``awslogs`` options
  (stream ``PREFIX/CONTAINER/TASK_ID``).
* Payload modules run from a warm worker per (module, warm environment) unless the daemon runs
  with ``INTROAWS_ECS_WORKER=cold``.

Records live in ``runtime/ecs/tasks.json``; tasks that were not STOPPED when the daemon went
away are stopped on start, with a reason saying so.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from introaws import containers
from introaws.localcloud.front import Reply
from introaws.localcloud.requests import Recorded
from introaws.localcloud.runtime import Removed, RuntimeContext
from introaws.localcloud.runtime.cpu import UNITS_PER_CORE
from introaws.localcloud.runtime.executor import Run, StartFailed, Workload, payload_pythonpath
from introaws.localcloud.runtime.logs import LogDestination

log = logging.getLogger("introaws.localcloud.ecs")

# Repository name of an image -> its ENTRYPOINT (the image's CMD is empty).
KNOWN_IMAGES: dict[str, list[str]] = {"introaws-qa": ["python", "-m", "introaws.tasks.qa"]}
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
RESTART_REASON = "Task stopped: the local cloud restarted while the task was active"
CLUSTER_GONE_REASON = "Task stopped: its cluster was deleted"
MAX_RECORDS = 2000


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


class EcsRuntime:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.executor = ctx.executor
        self.dir = ctx.runtime_dir("ecs")
        self._lock = threading.RLock()
        self.records: dict[str, TaskRecord] = {}
        self._runs: dict[str, Run] = {}  # arn -> its process, while it runs
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

    def follow_up(self, request: Recorded, removed: Removed) -> None:
        """A cluster may be gone (deleted, or with its stack): its tasks and warm workers stop."""
        if request.service not in ("ecs", "cloudformation"):
            return

        def alive(cluster: str) -> bool:
            return cluster not in removed and self._cluster_active(cluster.split(":")[3], cluster)

        with self._lock:
            clusters = {r.cluster for r in self.records.values() if r.status != "STOPPED"}
        gone = {c for c in clusters if not alive(c)}
        for record in list(self.records.values()):
            if record.status != "STOPPED" and record.cluster in gone:
                self._stop_record(record, CLUSTER_GONE_REASON, "ServiceSchedulerInitiated")
        self.executor.retire_warm("ecs-task", alive)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            runs = list(self._runs.values())
        self.executor.cpu.wake()
        for run in runs:
            run.stop("the local cloud stopped", grace_s=1.0)

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
            workload = self._workload(record, definition, params.get("overrides") or {})
            with self._lock:
                self.records[record.arn] = record
                self._save()
            self._overlay(task, record)
            threading.Thread(
                target=self._lifecycle, args=(record, workload), daemon=True, name=f"ecs-task-{record.task_id}"
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
        with self._lock:
            record = next(
                (r for r in self.records.values() if r.arn == params.get("task") or r.task_id == params.get("task")),
                None,
            )
        if record is not None:
            self._stop_record(record, params.get("reason") or "Task stopped by user", "UserInitiated")
        reply = forward(request)
        if reply.status >= 400 or record is None:
            return reply
        body = json.loads(reply.body)
        with self._lock:
            self._overlay(body.get("task", {}), record)
        return _json_reply(reply, body)

    def _stop_record(self, record: TaskRecord, reason: str, stop_code: str) -> None:
        with self._lock:
            if record.desired == "STOPPED":
                return
            record.desired = "STOPPED"
            record.reason, record.stop_code = reason, stop_code
            run = self._runs.get(record.arn)
            self._save()
        self.executor.cpu.wake()
        if run is not None:
            run.stop(reason, grace_s=30.0)  # ECS's default stopTimeout before SIGKILL

    # --- a task's life ----------------------------------------------------------------

    def _lifecycle(self, record: TaskRecord, workload: Workload | str) -> None:
        cpu = self.executor.cpu
        units = cpu.share(record.cpu)
        if not cpu.take(units, lambda: record.desired == "RUNNING" and not self._stopping):
            self._finish(
                record, None, record.reason or "Task stopped before it started", record.stop_code or "TaskFailedToStart"
            )
            return
        try:
            self._run(record, workload)
        except Exception as exc:  # a bug: never leave a task RUNNING
            log.exception("task %s failed in the runtime", record.arn)
            if record.status != "STOPPED":
                self._finish(record, None, f"the local cloud lost the task: {exc}", "TaskFailedToStart")
        finally:
            cpu.give(units)

    def _run(self, record: TaskRecord, workload: Workload | str) -> None:
        self._transition(record, "PENDING")
        if isinstance(workload, str):  # why it cannot start
            self._finish(record, None, workload, "TaskFailedToStart")
            return
        try:
            run = self.executor.start(workload)
        except StartFailed as exc:
            self._finish(record, None, str(exc), "TaskFailedToStart")
            return
        with self._lock:
            self._runs[record.arn] = run
            stopped_meanwhile = record.desired != "RUNNING"
        if stopped_meanwhile:
            run.stop(record.reason, grace_s=1.0)
        self._transition(record, "RUNNING", started_at=time.time(), pid=run.pid)
        end = run.wait()  # all output is in CloudWatch before the task shows STOPPED
        with self._lock:
            self._runs.pop(record.arn, None)
        if record.desired == "STOPPED":
            self._finish(record, end.code, record.reason, record.stop_code)
        elif end.cause == "memory":
            record.container_reason = "OutOfMemoryError: Container killed due to memory usage"
            self._finish(record, end.code, "Essential container in task exited", "EssentialContainerExited")
        else:
            self._finish(record, end.code, "Essential container in task exited", "EssentialContainerExited")

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

    # --- what a task runs -------------------------------------------------------------

    def _new_record(self, task: dict[str, Any], definition: dict[str, Any]) -> TaskRecord:
        container = definition["containerDefinitions"][0]
        cpu = int(definition.get("cpu") or container.get("cpu") or UNITS_PER_CORE)
        memory = int(definition.get("memory") or container.get("memory") or 0)
        return TaskRecord(
            arn=task["taskArn"],
            cluster=task["clusterArn"],
            region=task["taskArn"].split(":")[3],
            container=container.get("name", ""),
            cpu=cpu,
            memory=memory,
        )

    def _workload(self, record: TaskRecord, definition: dict[str, Any], overrides: dict[str, Any]) -> Workload | str:
        """What the task runs, or why it cannot run (an image this machine cannot run)."""
        container = definition["containerDefinitions"][0]
        override: dict[str, Any] = next(
            (o for o in overrides.get("containerOverrides", []) if o.get("name") in (None, container.get("name"))), {}
        )
        image = str(container.get("image", ""))
        entry = container.get("entryPoint") or KNOWN_IMAGES.get(_repository(image), [])
        argv = list(entry) + list(override.get("command") or container.get("command") or [])
        if not argv or (_repository(image) not in KNOWN_IMAGES and not container.get("entryPoint")):
            return (
                f"CannotPullContainerError: the local cloud cannot run image {image}; "
                f"it runs images of {', '.join(sorted(KNOWN_IMAGES))} or a task definition's entryPoint"
            )
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update({e["name"]: e["value"] for e in container.get("environment", [])})
        env.update({e["name"]: e["value"] for e in override.get("environment", [])})
        env.update(
            OMP_NUM_THREADS=str(max(1, record.cpu // UNITS_PER_CORE)),
            TOKENIZERS_PARALLELISM="false",
            PYTHONPATH=payload_pythonpath(env.get("PYTHONPATH")),
        )
        options = (container.get("logConfiguration") or {}).get("options", {})
        group = options.get("awslogs-group")
        stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{record.container}/{record.task_id}"
        # Only the payloads of known images are imported into a warm worker.
        payloads = {known[2] for known in KNOWN_IMAGES.values()}
        module = argv[2] if len(argv) > 2 and argv[:2] == [sys.executable, "-m"] and argv[2] in payloads else None
        warm_env: tuple[str, ...] = ()
        notes: list[str] = []
        if module:
            warm_env = tuple(env.get(name, "") for name in getattr(importlib.import_module(module), "WARM_ENV", ()))
            outside = containers.outside_image(module)
            if outside:  # in the daemon's log and the task's, before the task's own output
                log.warning("task %s: %s", record.arn, outside)
                notes.append(outside)
        return Workload(
            kind="ecs-task",
            name=record.task_id,
            owner=record.cluster,
            region=record.region,
            argv=argv,
            env=env,
            role_arn=overrides.get("taskRoleArn") or definition.get("taskRoleArn"),
            handover="container",
            logs=LogDestination(record.region, group, stream, create_group=False) if group else None,
            notes=notes,
            warm_module=module if self._use_warm else None,
            warm_env=warm_env,
            memory_mib=record.memory or None,
        )

    def _task_definition(self, region: str, arn: str) -> dict[str, Any]:
        ecs = self.ctx.client("ecs", region)
        return dict(ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"])

    # --- moto and the records -----------------------------------------------------------

    def _cluster_active(self, region: str, cluster: str) -> bool:
        found = self.ctx.client("ecs", region).describe_clusters(clusters=[cluster])["clusters"]
        return any(c.get("status") == "ACTIVE" for c in found)

    def _stop_in_moto(self, record: TaskRecord, reason: str) -> None:
        """Tell moto the task stopped; a cluster deleted meanwhile is no error."""
        try:
            self.ctx.client("ecs", record.region).stop_task(
                cluster=record.cluster, task=record.arn, reason=reason or "stopped"
            )
        except Exception:  # moto fails for tasks or clusters it lost
            log.info("moto could not stop task %s (its cluster is gone)", record.arn)

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
            if record.container_reason:
                container["reason"] = record.container_reason
            elif record.status == "STOPPED" and record.exit_code is None:
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


def _json_reply(reply: Reply, body: dict[str, Any]) -> Reply:
    data = json.dumps(body).encode()
    headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(data))))
    return Reply(reply.status, headers, data)
