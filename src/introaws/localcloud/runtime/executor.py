"""The workload executor: the one way the local cloud runs a payload process.

ECS tasks, Batch jobs and Lambda workers differ in their APIs, not in how a process is run, so
each runtime maps its API onto a :class:`Workload` and calls :meth:`Executor.start`. The
executor then owns, for every runtime alike:

* **starting** the process: warm (from a worker that already imported the payload module, see
  :mod:`~introaws.localcloud.runtime.warm`) or cold (a fresh ``Popen``), in a process group of
  its own, tied to the daemon so it dies with it (:class:`introaws.platform.Lifeline`);
* its **environment**: the payload's own, plus this cloud's endpoint and region and the
  **credentials** of its role, handed over as the service would
  (:mod:`~introaws.localcloud.runtime.credentials`);
* its **time-out** and **memory limit** (resident memory sampled every 0.1 s while it works; a
  process over its limit is killed, as the container runtime would), and stopping it on request;
* its **exit status** (128 + signal when a signal ended it, as container runtimes report it)
  and why it ended (:class:`Exit`);
* shipping its **output** to CloudWatch Logs (:mod:`~introaws.localcloud.runtime.logs`), all of
  it before :meth:`Run.wait` returns;
* the one **CPU budget** runtimes take shares of (:mod:`~introaws.localcloud.runtime.cpu`);
* **idle retirement**: a warm worker unused for ``INTROAWS_WORKER_IDLE_S`` seconds (default
  300) stops, and runtimes with pools of their own (Lambda) are asked to retire theirs.

:meth:`Executor.workers` lists every process it runs, with its resident memory, for
``introaws cloud status``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from introaws import platform
from introaws.localcloud import settings
from introaws.localcloud.runtime.cpu import CpuBudget, local_cores
from introaws.localcloud.runtime.credentials import CredentialsEndpoint, Handover
from introaws.localcloud.runtime.logs import LogDestination, LogGroupMissing, LogShipper
from introaws.localcloud.runtime.warm import TaskRequest, WarmTask, WarmWorker, WorkerGone, start_worker

log = logging.getLogger("introaws.localcloud.executor")

IDLE_ENV = "INTROAWS_WORKER_IDLE_S"
MEMORY_CHECK_S = 0.1
STOP_GRACE_S = 3.0
# The folder that holds the ``introaws`` package: payloads import it from the introaws the
# daemon runs, whatever their working folder.
INTROAWS_ROOT = str(Path(__file__).resolve().parents[3])


def idle_retire_s() -> float:
    """How long a warm worker may sit unused before it stops (``INTROAWS_WORKER_IDLE_S``)."""
    return max(0.5, settings.seconds(IDLE_ENV))


def payload_pythonpath(existing: str | None) -> str:
    return os.pathsep.join(p for p in (INTROAWS_ROOT, existing) if p)


class StartFailed(Exception):
    """The payload could not start; the message says why, as the service would."""


@dataclass
class Workload:
    """One payload process, as a runtime asks for it."""

    kind: str  # "ecs-task", "batch-job", "lambda-worker": for logs and the workers listing
    name: str  # the task id, job id or function name
    owner: str  # the ARN of what it belongs to (cluster, job definition, function)
    region: str
    argv: list[str]
    env: dict[str, str]  # the payload's own environment; endpoint, region and credentials are added
    role_arn: str | None = None  # whose credentials it gets
    handover: Handover = "container"
    cwd: str | None = None
    logs: LogDestination | None = None  # stdout and stderr, as CloudWatch Logs events
    notes: list[str] = field(default_factory=list)  # lines logged before its output
    channel: bool = False  # stdin and stdout are pipes to the runtime; stderr goes to the workers' log
    warm_module: str | None = None  # start it from a warm worker that imported this module
    warm_env: tuple[str, ...] = ()  # the values that decide what the worker preloads (its WARM_ENV)
    timeout_s: float | None = None
    memory_mib: int | None = None


@dataclass(frozen=True)
class Exit:
    code: int  # 128 + N when signal N ended it
    cause: str | None  # None: it ended by itself; else "timeout", "memory" or the reason given to stop()


class Run:
    """A started workload: stop it, wait for it."""

    def __init__(
        self, workload: Workload, pid: int, wait: Callable[[], int], token: str | None, on_end: Callable[[Run], None]
    ) -> None:
        self.workload, self.pid, self.token = workload, pid, token
        self.started_at = time.time()
        self.last_used = time.monotonic()
        self.busy = True  # runtimes that reuse a process (Lambda) say when it idles
        self.cause: str | None = None
        self.stdin: IO[bytes] | None = None
        self.stdout: IO[bytes] | None = None
        self._wait, self._on_end = wait, on_end
        self._ended = threading.Event()
        self._exit: Exit | None = None
        self._lock = threading.Lock()
        self._pump: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    def running(self) -> bool:
        return not self._ended.is_set()

    def stop(self, reason: str, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM now, SIGKILL after ``grace_s`` if it still runs (returns at once)."""
        self._signal(signal.SIGTERM, reason)
        if grace_s <= 0:
            self._signal(signal.SIGKILL, reason)
            return
        timer = threading.Timer(grace_s, self._signal, args=(signal.SIGKILL, reason))
        timer.daemon = True
        timer.start()

    def kill(self, reason: str) -> None:
        self._signal(signal.SIGKILL, reason)

    def wait(self) -> Exit:
        """Its end, once all its output is shipped (the first caller reaps it)."""
        with self._lock:
            if self._exit is None:
                try:
                    code = self._wait()
                except WorkerGone:
                    code = 128 + signal.SIGKILL
                self._ended.set()
                if self._timer:
                    self._timer.cancel()
                if self._pump:
                    self._pump.join()
                self._exit = Exit(128 - code if code < 0 else code, self.cause)
                self._on_end(self)
            return self._exit

    def _signal(self, sig: int, reason: str) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.running():
                if self.cause is None:
                    self.cause = reason
                os.killpg(self.pid, sig)


class Executor:
    def __init__(self, endpoint: str, credentials: CredentialsEndpoint, shipper: LogShipper, state_dir: Path) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.shipper = shipper
        self.cpu = CpuBudget(local_cores())
        self.lifeline = platform.Lifeline()
        self.log_path = state_dir / "workers.log"
        self.idle_s = idle_retire_s()
        self._runs: dict[int, Run] = {}
        self._warm: dict[tuple[str, ...], _Warm] = {}
        self._warm_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._idle_hooks: list[Callable[[float], None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.memory_limits = platform.rss_bytes(os.getpid()) is not None
        self._memory_warned = False
        system = platform.system()
        log.info(
            "workloads on %s: %d cores, warm workers by %s, children die with the daemon by %s, "
            "idle workers retire after %.0f s",
            system.describe(),
            self.cpu.cores,
            platform.worker_start(),
            self.lifeline.kind,
            self.idle_s,
        )
        if not self.memory_limits:
            log.warning("memory limits are not enforced: this system does not report processes' memory")
        for target, name in ((self._watch_memory, "memory-watch"), (self._retire_idle, "idle-retire")):
            threading.Thread(target=target, daemon=True, name=name).start()

    def capabilities(self) -> dict[str, Any]:
        """What this system lets the runtime do (for ``doctor`` and ``cloud status``)."""
        system = platform.system()
        return {
            "system": system.name,
            "arch": system.arch,
            "release": system.release,
            "cores": self.cpu.cores,
            "worker_start": platform.worker_start(),
            "die_with_parent": self.lifeline.kind,
            "memory_limits": self.memory_limits,
            "idle_retire_s": self.idle_s,
        }

    # --- running a workload -------------------------------------------------------------

    def start(self, workload: Workload) -> Run:
        """Start ``workload``; raises :class:`StartFailed` with the service's reason."""
        public = dict(workload.env)
        public.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION=workload.region,
            AWS_DEFAULT_REGION=workload.region,
            NO_PROXY=",".join(p for p in ("127.0.0.1", "localhost", public.get("NO_PROXY")) if p),
        )
        handover, token = self.credentials.hand_over(workload.handover, workload.role_arn, workload.name)
        try:
            return self._start(workload, public, {**public, **handover}, token)
        except BaseException:
            self.credentials.revoke(token)
            raise

    def _start(self, workload: Workload, public: dict[str, str], env: dict[str, str], token: str | None) -> Run:
        """``public``: the environment without credentials (what a shared warm worker gets)."""
        if workload.logs:
            try:
                self.shipper.open(workload.logs)
            except LogGroupMissing as exc:
                raise StartFailed(
                    f"ResourceInitializationError: failed to validate logger args: log group {exc} does not exist"
                ) from None
            for note in workload.notes:
                self.shipper.put(workload.logs, note)
        if workload.channel:
            return self._start_channel(workload, env, token)
        read_fd, write_fd = os.pipe() if workload.logs else (None, os.open(os.devnull, os.O_WRONLY))
        try:
            if workload.warm_module:
                warm = self._warm_worker(workload, public)
                task = warm.worker.start(TaskRequest(workload.argv[3:], env, workload.cwd), write_fd)
                pid, wait = task.pid, self._warm_wait(warm, task)
                self.lifeline.adopt(pid)  # started by the worker: tie it to the daemon too
            else:
                process = self.lifeline.popen(
                    workload.argv,
                    env=env,
                    cwd=workload.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=write_fd,
                    stderr=write_fd,
                    close_fds=True,
                )
                pid, wait = process.pid, process.wait
        except (OSError, WorkerGone) as exc:
            if read_fd is not None:
                os.close(read_fd)
            raise StartFailed(f"CannotStartContainerError: {exc}") from None
        finally:
            os.close(write_fd)
        run = self._register(workload, pid, wait, token)
        if read_fd is not None and workload.logs:
            run._pump = threading.Thread(
                target=self._pump, args=(read_fd, workload.logs), daemon=True, name=f"output-{pid}"
            )
            run._pump.start()
        if workload.timeout_s:
            run._timer = threading.Timer(workload.timeout_s, run.stop, args=("timeout",))
            run._timer.daemon = True
            run._timer.start()
        return run

    def _start_channel(self, workload: Workload, env: dict[str, str], token: str | None) -> Run:
        try:
            with self.log_path.open("ab") as log_file:
                process = self.lifeline.popen(
                    workload.argv,
                    env=env,
                    cwd=workload.cwd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    close_fds=True,
                )
        except OSError as exc:
            raise StartFailed(f"the runtime could not start: {exc}") from None

        def wait() -> int:
            code = process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()
            return code

        run = self._register(workload, process.pid, wait, token)
        run.stdin, run.stdout = process.stdin, process.stdout
        return run

    def _register(self, workload: Workload, pid: int, wait: Callable[[], int], token: str | None) -> Run:
        run = Run(workload, pid, wait, token, self._ended)
        with self._lock:
            self._runs[pid] = run
        return run

    def _ended(self, run: Run) -> None:
        self.lifeline.release(run.pid)
        self.credentials.revoke(run.token)
        if run.workload.logs:
            self.shipper.flush(run.workload.logs)
        with self._lock:
            if self._runs.get(run.pid) is run:
                del self._runs[run.pid]

    def _pump(self, read_fd: int, destination: LogDestination) -> None:
        with open(read_fd, encoding="utf-8", errors="replace") as output:
            for line in output:
                self.shipper.put(destination, line)

    # --- warm workers -------------------------------------------------------------------

    def _warm_worker(self, workload: Workload, env: dict[str, str]) -> _Warm:
        """The warm worker for this workload's kind, module and warm environment (started once)."""
        key = (workload.kind, workload.warm_module or "", *workload.warm_env)
        with self._lock:
            lock = self._warm_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                warm = self._warm.get(key)
            if warm is None or not warm.worker.alive():
                if self._stopping.is_set():
                    raise WorkerGone("the local cloud is stopping")
                log.info("starting a warm worker for %s", " ".join(key))
                warm = _Warm(start_worker(workload.warm_module or "", env, self.log_path, self.lifeline))
                with self._lock:
                    self._warm[key] = warm
            with self._lock:
                warm.owners.add(workload.owner)
                warm.last_used = time.monotonic()  # not idle: the retirer leaves it be
            return warm

    def _warm_wait(self, warm: _Warm, task: WarmTask) -> Callable[[], int]:
        """How to wait for ``task``; its worker counts as busy until then."""
        with self._lock:
            warm.active += 1

        def wait() -> int:
            try:
                return task.wait()
            finally:
                with self._lock:
                    warm.active -= 1
                    warm.last_used = time.monotonic()
                    done = warm.retiring and warm.active == 0
                if done:  # what it served went while this task ran
                    warm.worker.stop()

        return wait

    def retire_warm(self, kind: str, owner_alive: Callable[[str], bool]) -> None:
        """Stop ``kind``'s warm workers whose owners are all gone (a stack deleted); one still
        running a task stops when its last task ends."""
        with self._lock:
            candidates = [(key, warm, set(warm.owners)) for key, warm in self._warm.items() if key[0] == kind]
        doomed = []
        for key, warm, known in candidates:
            alive = {o for o in known if owner_alive(o)}  # asks moto: not under the lock
            with self._lock:
                owners = warm.owners = alive | (warm.owners - known)  # with owners added meanwhile
                if owners or self._warm.get(key) is not warm:
                    continue
                del self._warm[key]
                warm.retiring = warm.active > 0
                if not warm.retiring:
                    doomed.append(warm)
        for warm in doomed:
            log.info("stopping the warm worker for %s: what it served is gone", warm.worker.module)
            warm.worker.stop()

    # --- watching -----------------------------------------------------------------------

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def on_idle_check(self, retire: Callable[[float], None]) -> None:
        """Call ``retire(cutoff)`` periodically: what was last used before ``cutoff``
        (``time.monotonic()``) should stop."""
        self._idle_hooks.append(retire)

    def _retire_idle(self) -> None:
        while not self._stopping.wait(min(5.0, self.idle_s / 4)):
            cutoff = time.monotonic() - self.idle_s
            with self._lock:
                idle = [k for k, w in self._warm.items() if w.active == 0 and w.last_used < cutoff]
                retired = [self._warm.pop(k) for k in idle]
            for warm in retired:
                log.info("stopping the warm worker for %s: idle for %.0f s", warm.worker.module, self.idle_s)
                warm.worker.stop()
            for retire in self._idle_hooks:
                try:
                    retire(cutoff)
                except Exception:  # one runtime's failure must not stop the others' retirement
                    log.exception("retiring idle workers failed")

    def _watch_memory(self) -> None:
        while not self._stopping.wait(MEMORY_CHECK_S):
            for run in self.runs():
                limit = run.workload.memory_mib
                if not limit or not run.busy or not run.running():  # an idle Lambda worker does not grow
                    continue
                rss = platform.peak_rss_bytes(run.pid) or platform.rss_bytes(run.pid)
                if rss is None:
                    if not self._memory_warned and run.running():
                        self._memory_warned = True
                        log.warning("memory limits are not enforced: the memory of pid %d cannot be read", run.pid)
                elif rss > limit * 2**20:
                    log.info(
                        "%s %s used %d MiB of its %d MiB: killed",
                        run.workload.kind,
                        run.workload.name,
                        rss >> 20,
                        limit,
                    )
                    run.kill("memory")

    def workers(self) -> list[dict[str, Any]]:
        """Every process the runtime runs now, with its resident memory."""
        now = time.monotonic()
        rows: list[dict[str, Any]] = [
            {
                "kind": run.workload.kind,
                "name": run.workload.name,
                "owner": run.workload.owner,
                "pid": run.pid,
                "state": "busy" if run.busy else "idle",
                "idle_s": None if run.busy else round(now - run.last_used, 1),
            }
            for run in self.runs()
        ]
        with self._lock:
            warm = list(self._warm.values())
        for each in warm:
            for pid in each.worker.pids():
                rows.append(
                    {
                        "kind": "warm-worker",
                        "name": each.worker.module,
                        "owner": ",".join(sorted(each.owners)),
                        "pid": pid,
                        "state": "busy" if each.active else "idle",
                        "idle_s": None if each.active else round(now - each.last_used, 1),
                    }
                )
        for row in rows:
            rss = platform.rss_bytes(row["pid"])
            row["rss_mib"] = round(rss / 2**20, 1) if rss is not None else None
        return rows

    def stop(self) -> None:
        """End every workload and warm worker (the daemon is stopping)."""
        self._stopping.set()
        self.cpu.wake()
        runs = self.runs()
        for run in runs:
            run.stop("the local cloud stopped", grace_s=1.0)
        for run in runs:
            with contextlib.suppress(Exception):
                run.wait()
        with self._lock:
            warm, self._warm = list(self._warm.values()), {}
        for each in warm:
            each.worker.stop()
        self.lifeline.close()


@dataclass
class _Warm:
    worker: WarmWorker
    owners: set[str] = field(default_factory=set)
    active: int = 0
    last_used: float = field(default_factory=time.monotonic)
    retiring: bool = False  # no longer handed tasks: stops when the last one ends
