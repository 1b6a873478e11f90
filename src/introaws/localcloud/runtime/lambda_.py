"""Lambda functions that really run: ``Invoke`` (sync and async) in warm local worker processes.

What was deployed is read from moto (handler, code zip, environment, role, timeout, memory);
the code is unpacked once per code hash under ``runtime/lambda/``. Each function version has a
pool of warm workers (:mod:`lambda_worker`, started by the executor with the execution role's
credentials in their environment, as Lambda does), bounded by its reserved concurrency and by
``INTROAWS_LAMBDA_CONCURRENCY`` (default 32). A worker past its timeout or its memory size is
killed and the caller gets Lambda's ``FunctionError`` shape; handler errors keep the worker
warm. Idle workers retire after the executor's idle time; a deleted function's workers stop at
once. Logs go to CloudWatch Logs (``/aws/lambda/<name>``) with START/END/REPORT lines. Nothing
here needs restoring after a restart: workers are started again on first use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import selectors
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from introaws import platform
from introaws.localcloud import settings
from introaws.localcloud.adapt import LOCAL_ACCOUNT
from introaws.localcloud.runtime.executor import Executor, Run, StartFailed, Workload
from introaws.localcloud.runtime.logs import LogDestination

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded
    from introaws.localcloud.runtime import Removed, RuntimeContext

_INVOKE_PATH = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase
ASYNC_ATTEMPTS = 3  # an asynchronous invocation is retried twice on error, as on AWS
_OUT_OF_MEMORY = "Runtime exited with error: signal: killed (memory size exceeded)"


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs from a deployed function; equal specs share warm workers."""

    name: str
    arn: str
    region: str
    handler: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_sha: str
    concurrency: int
    role: str | None = None


@dataclass
class Outcome:
    """One invocation's result: ``payload`` (JSON text) and, on failure, ``error_type``."""

    payload: str
    request_id: str
    error_type: str | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None  # set when this invocation started a worker (a cold start)
    logs: str = ""

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class _WorkerGone(Exception):
    """The worker died or was killed: ``reason`` says why (timeout, memory, crash)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Worker:
    """One process running the handler, reused invocation after invocation."""

    def __init__(self, spec: FunctionSpec, code_dir: Path, env: dict[str, str], executor: Executor) -> None:
        self.spec = spec
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        workload = Workload(
            kind="lambda-worker",
            name=spec.name,
            owner=spec.arn,
            region=spec.region,
            argv=[sys.executable, str(Path(__file__).with_name("lambda_worker.py")), str(code_dir), spec.handler],
            env=dict(env, AWS_LAMBDA_LOG_STREAM_NAME=self.stream),
            role_arn=spec.role,
            handover="environment",
            cwd=str(code_dir),
            channel=True,
            memory_mib=spec.memory_mb,
        )
        try:
            self.run: Run = executor.start(workload)
        except StartFailed as exc:
            raise _WorkerGone("Runtime.Unknown", str(exc)) from None
        self._buffer = b""
        started = time.monotonic()
        hello = self._read(started + INIT_TIMEOUT_S, "Sandbox.Timedout", "init phase timed out")
        self.init_logs = hello.get("logs", "")
        if not hello.get("ready"):
            self.kill()
            error = hello.get("error", {})
            raise _WorkerGone(error.get("errorType", "Runtime.Unknown"), json.dumps(error))
        self.init_ms = (time.monotonic() - started) * 1000
        self.run.busy = False

    @property
    def last_used(self) -> float:
        return self.run.last_used

    def invoke(self, payload: str, request_id: str) -> dict[str, Any]:
        self.run.busy = True
        deadline = time.time() + self.spec.timeout_s
        message = {"payload": payload, "request_id": request_id, "deadline": deadline, "function_arn": self.spec.arn}
        try:
            assert self.run.stdin is not None
            self.run.stdin.write(json.dumps(message).encode() + b"\n")
            self.run.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise _WorkerGone("Runtime.ExitError", f"the runtime exited: {exc}") from None
        reply = self._read(
            time.monotonic() + self.spec.timeout_s,
            "Sandbox.Timedout",
            f"Task timed out after {self.spec.timeout_s:.2f} seconds",
        )
        peak = platform.peak_rss_bytes(self.run.pid)
        if peak is not None and peak > self.spec.memory_mb * 2**20:
            self.kill()  # it passed its memory size between two of the executor's samples
            raise _WorkerGone("Runtime.OutOfMemory", _OUT_OF_MEMORY)
        self.run.busy, self.run.last_used = False, time.monotonic()
        return reply

    def _read(self, deadline: float, timeout_kind: str, timeout_message: str) -> dict[str, Any]:
        """The next line from the worker, watching its deadline (the executor watches memory)."""
        assert self.run.stdout is not None
        fd = self.run.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise _WorkerGone(timeout_kind, timeout_message)
                if selector.select(min(left, 0.1)):
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        end = self.run.wait()
                        if end.cause == "memory":
                            raise _WorkerGone("Runtime.OutOfMemory", _OUT_OF_MEMORY)
                        raise _WorkerGone("Runtime.ExitError", f"Runtime exited with error: exit status {end.code}")
                    self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def kill(self) -> None:
        self.run.kill("stopped")
        self.run.wait()


@dataclass
class Pool:
    """The warm workers of one function version, at most ``spec.concurrency`` at a time."""

    spec: FunctionSpec
    idle: list[Worker] = field(default_factory=list)
    running: int = 0  # workers that exist (idle or busy), counting ones being started
    condition: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False  # the function changed or went: busy workers stop when they are done

    def acquire(self) -> Worker | None:
        """An idle worker, or None when the caller may start a new one (slot reserved)."""
        with self.condition:
            while not self.idle and self.running >= self.spec.concurrency:
                self.condition.wait()
            if self.idle:
                return self.idle.pop()
            self.running += 1
            return None

    def release(self, worker: Worker | None) -> None:
        """Give back a healthy worker, or None for one that died (its slot frees up)."""
        with self.condition:
            if worker is None or self.closed:
                self.running -= 1
            else:
                self.idle.append(worker)
                worker = None
            self.condition.notify()
        if worker is not None:
            worker.kill()

    def retire_idle(self, older_than: float) -> None:
        with self.condition:
            stale = [w for w in self.idle if w.last_used < older_than]
            self.idle = [w for w in self.idle if w.last_used >= older_than]
            self.running -= len(stale)
        for worker in stale:
            worker.kill()

    def close(self) -> None:
        with self.condition:
            self.closed = True
            workers, self.idle = self.idle, []
            self.running -= len(workers)
        for worker in workers:
            worker.kill()


class LambdaRuntime:
    """Answers Lambda ``Invoke`` with real runs; :meth:`invoke` serves API Gateway too."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self.executor = ctx.executor
        self.root = ctx.runtime_dir("lambda")
        self.limit = settings.count("INTROAWS_LAMBDA_CONCURRENCY")
        self.pools: dict[FunctionSpec, Pool] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=max(self.limit * 2, 8), thread_name_prefix="lambda-async")
        self.logs = ctx.logs
        self._stopping = threading.Event()
        self.executor.on_idle_check(self._retire_idle)

    # --- the hook ---------------------------------------------------------------------

    def handle(self, request: Recorded, forward: Any) -> Reply | None:
        from introaws.localcloud.front import Reply

        match = _INVOKE_PATH.fullmatch(request.path)
        if request.method != "POST" or not match or request.service != "lambda":
            return None
        region = request.region
        spec = self.spec(region, unquote(match.group(1)))
        if spec is None:
            return None  # moto answers: ResourceNotFoundException
        kind = request.headers.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        request_id = str(uuid.uuid4())
        base = [("x-amzn-RequestId", request_id), ("X-Amz-Executed-Version", "$LATEST")]
        payload = request.body.decode("utf-8") if request.body else "{}"
        if kind == "DryRun":
            return Reply(204, base, b"")
        if kind == "Event":
            self._async.submit(self._invoke_async, spec, payload, request_id)
            return Reply(202, base + [("Content-Length", "0")], b"")
        outcome = self.invoke(spec, payload, request_id)
        headers = base + [("Content-Type", "application/json")]
        if outcome.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if request.headers.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            tail = outcome.logs.encode()[-4096:]
            headers.append(("X-Amz-Log-Result", base64.b64encode(tail).decode()))
        return Reply(200, headers, outcome.payload.encode())

    def follow_up(self, request: Recorded, removed: Removed) -> None:
        """Functions deleted (alone, or with their stack): their workers stop."""
        if request.service not in ("lambda", "cloudformation"):
            return
        from moto.awslambda.models import lambda_backends

        with self._lock:
            gone = []
            for spec in list(self.pools):
                try:
                    lambda_backends[LOCAL_ACCOUNT][spec.region].get_function(spec.arn)
                except Exception:  # moto raises its not-found error
                    gone.append(self.pools.pop(spec))
        for pool in gone:
            pool.close()

    def stop(self) -> None:
        self._stopping.set()
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools = list(self.pools.values())
        for pool in pools:
            pool.close()

    # --- invoking ---------------------------------------------------------------------

    def spec(self, region: str, name_or_arn: str) -> FunctionSpec | None:
        """The deployed function (by name or ARN), read from moto; None when unknown."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[LOCAL_ACCOUNT][region]
        try:
            fn = backend.get_function(name_or_arn)
        except Exception:
            return None
        if fn is None or getattr(fn, "package_type", "Zip") != "Zip":
            return None
        code_sha = hashlib.sha256(fn.code_bytes).hexdigest()
        self._unpack(code_sha, fn.code_bytes)
        reserved = fn.reserved_concurrency
        limit = self.limit if reserved in (None, "") else max(0, min(self.limit, int(reserved)))
        return FunctionSpec(
            name=fn.function_name,
            arn=fn.function_arn,
            region=region,
            handler=fn.handler or "",  # a Zip function always has one
            timeout_s=float(fn.timeout),
            memory_mb=int(fn.memory_size),
            environment=tuple(sorted((fn.environment_vars or {}).items())),
            code_sha=code_sha,
            concurrency=limit,
            role=fn.role or None,
        )

    def invoke(self, spec: FunctionSpec, payload: str, request_id: str | None = None) -> Outcome:
        """Run the function once on a warm (or new) worker and wait for its answer."""
        request_id = request_id or str(uuid.uuid4())
        if self._stopping.is_set():  # no new worker once the executor has stopped them all
            return _failure(request_id, "ServiceException", "the local cloud is stopping")
        pool = self._pool(spec)
        if spec.concurrency == 0:
            return _failure(request_id, "TooManyRequestsException", "Rate Exceeded. (reserved concurrency is 0)")
        worker = pool.acquire()
        init_ms: float | None = None
        started = time.monotonic()
        try:
            if worker is None:
                worker = Worker(spec, self.root / spec.code_sha, self._environment(spec), self.executor)
                init_ms = worker.init_ms
                if worker.init_logs:
                    self.logs.put(_log_destination(spec, worker.stream), worker.init_logs)
            self.logs.put(_log_destination(spec, worker.stream), f"START RequestId: {request_id} Version: $LATEST\n")
            reply = worker.invoke(payload, request_id)
        except Exception as exc:
            gone = exc if isinstance(exc, _WorkerGone) else _WorkerGone("Runtime.Unknown", f"the runtime failed: {exc}")
            if worker is not None:
                worker.kill()
            pool.release(None)
            outcome = _failure(request_id, gone.kind, str(gone), init_ms)
            stream = worker.stream if worker is not None else f"{time.strftime('%Y/%m/%d')}/[$LATEST]init"
            self._report(spec, stream, outcome, started, f"{request_id} Error: {gone}\n")
            return outcome
        pool.release(worker)
        if "error" in reply:
            outcome = Outcome(json.dumps(reply["error"]), request_id, reply["error"].get("errorType", "Unhandled"))
        else:
            outcome = Outcome(reply["payload"], request_id)
        outcome.init_ms, outcome.logs = init_ms, reply.get("logs", "")
        self._report(spec, worker.stream, outcome, started, outcome.logs)
        return outcome

    def _invoke_async(self, spec: FunctionSpec, payload: str, request_id: str) -> None:
        for _ in range(ASYNC_ATTEMPTS):
            if self._stopping.is_set() or not self.invoke(spec, payload, request_id).failed:
                return

    def _report(self, spec: FunctionSpec, stream: str, outcome: Outcome, started: float, logs: str) -> None:
        outcome.duration_ms = (time.monotonic() - started) * 1000 - (outcome.init_ms or 0)
        init = f"\tInit Duration: {outcome.init_ms:.2f} ms" if outcome.init_ms else ""
        self.logs.put(
            _log_destination(spec, stream),
            f"{logs}END RequestId: {outcome.request_id}\n"
            f"REPORT RequestId: {outcome.request_id}\tDuration: {outcome.duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(outcome.duration_ms))} ms\t"
            f"Memory Size: {spec.memory_mb} MB{init}\n",
        )

    def _pool(self, spec: FunctionSpec) -> Pool:
        with self._lock:
            pool = self.pools.get(spec)
            if pool is None:
                pool = self.pools[spec] = Pool(spec)
                # An older version of the same function retires its workers.
                for other in [s for s in self.pools if s.arn == spec.arn and s != spec]:
                    self.pools.pop(other).close()
            return pool

    def _environment(self, spec: FunctionSpec) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(dict(spec.environment))
        env.update(
            AWS_LAMBDA_FUNCTION_NAME=spec.name,
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_mb),
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{spec.name}",
            LAMBDA_TASK_ROOT=str(self.root / spec.code_sha),
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
            TZ="UTC",
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p and "site-packages" in p),
        )
        return env

    def _unpack(self, code_sha: str, code: bytes) -> None:
        target = self.root / code_sha
        if target.exists():
            return
        staging = self.root / f".{code_sha}.{uuid.uuid4().hex}"
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # unpacked meanwhile by another invocation
            import shutil

            shutil.rmtree(staging, ignore_errors=True)

    def _retire_idle(self, cutoff: float) -> None:
        with self._lock:
            pools = list(self.pools.values())
        for pool in pools:
            pool.retire_idle(cutoff)


def _log_destination(spec: FunctionSpec, stream: str) -> LogDestination:
    return LogDestination(spec.region, f"/aws/lambda/{spec.name}", stream)


def _failure(request_id: str, kind: str, message: str, init_ms: float | None = None) -> Outcome:
    body = {"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": kind}
    return Outcome(json.dumps(body), request_id, kind, init_ms=init_ms)
