"""Warm workers: a payload module imported (and its model loaded) before the task that needs it.

A cold task pays for Python, torch and transformers imports and the model load every time
(seconds each). A warm worker (``python -m introaws.localcloud.runtime.warm MODULE SOCKET``)
imports ``MODULE``, calls its ``warm()`` if it has one, prints ``ready`` and then takes tasks on
its Unix socket: each request passes the task's output file descriptor (``SCM_RIGHTS``) and its
argv, environment and working directory; the task runs ``MODULE.main(argv)``. How a task gets
its own process depends on the system (:func:`introaws.platform.worker_start`):

* ``fork`` (Linux): the worker stays single-threaded and forks a child per task, which starts
  in milliseconds. The worker reports the child's pid, then its exit status, on the request's
  connection; children die with the worker, and the worker with the daemon.
* ``spawn`` (macOS, where forking after the Objective-C runtime or Accelerate is loaded can
  crash the child): each worker runs ``--once``, i.e. becomes the one task it is given. The
  daemon keeps a spare started ahead, so a task finds one ready while the next one imports.

:func:`start_worker` is the daemon's side; both kinds answer :meth:`start`, :meth:`alive`,
:meth:`pids` and :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from introaws import platform

_HEADER = 8  # bytes of the request's length, sent with the file descriptor
READY = "ready"
START_TIMEOUT_S = 300.0
log = logging.getLogger("introaws.localcloud.warm")


class WorkerGone(Exception):
    """The warm worker died or did not answer."""


@dataclass(frozen=True)
class TaskRequest:
    argv: list[str]  # after ``python -m MODULE``
    env: dict[str, str]
    cwd: str | None = None


class WarmTask(Protocol):
    pid: int

    def wait(self) -> int:
        """The task's exit status (negative: killed by that signal)."""
        ...


class WarmWorker(Protocol):
    module: str

    def start(self, request: TaskRequest, output_fd: int) -> WarmTask: ...

    def alive(self) -> bool: ...

    def pids(self) -> list[int]: ...

    def stop(self) -> None: ...


def start_worker(module: str, env: dict[str, str], log_path: Path, lifeline: platform.Lifeline) -> WarmWorker:
    """A warm worker for ``module`` of the kind this system supports (ready when returned)."""
    if platform.worker_start() == "fork":
        return ForkServer(module, env, log_path, lifeline)
    return SparePool(module, env, log_path, lifeline)


class _Process:
    """One warm worker process, ready once :meth:`wait_ready` returned."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, lifeline: platform.Lifeline, once: bool):
        self.module = module
        self._dir = tempfile.mkdtemp(prefix="introaws-warm-")  # short: Unix socket paths are limited
        self.socket_path = os.path.join(self._dir, "worker.sock")
        argv = [sys.executable, "-m", "introaws.localcloud.runtime.warm", module, self.socket_path]
        with log_path.open("ab") as log_file:
            self.popen = lifeline.popen(
                argv + (["--once"] if once else []),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                close_fds=True,
            )
        self._lifeline = lifeline
        self._log_path = log_path

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        assert self.popen.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.popen.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        line = self.popen.stdout.readline().decode().strip() if ready else ""
        if line != READY:
            self.stop()
            raise WorkerGone(f"the warm worker for {self.module} did not start (see {self._log_path})")

    def send(self, request: TaskRequest, output_fd: int) -> tuple[socket.socket, Any, int]:
        """Hand over a task; returns the connection, a reader on it and the task's pid."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket_path)
            body = json.dumps({"argv": request.argv, "env": request.env, "cwd": request.cwd}).encode()
            socket.send_fds(conn, [len(body).to_bytes(_HEADER, "big")], [output_fd])
            conn.sendall(body)
            reader = conn.makefile("r", encoding="utf-8")
            first = reader.readline()
            if not first:
                raise WorkerGone("the warm worker closed the connection")
            return conn, reader, int(json.loads(first)["pid"])
        except (OSError, ValueError, KeyError) as exc:
            conn.close()
            raise WorkerGone(f"the warm worker for {self.module} failed: {exc}") from exc

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        _end_group(self.popen)
        self._lifeline.release(self.popen.pid)
        self.cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


class ForkServer:
    """One worker process that forks a child per task (see the module's doc)."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, lifeline: platform.Lifeline) -> None:
        self.module = module
        self._process = _Process(module, env, log_path, lifeline, once=False)
        self._process.wait_ready()

    def start(self, request: TaskRequest, output_fd: int) -> WarmTask:
        conn, reader, pid = self._process.send(request, output_fd)
        return _ForkedTask(conn, reader, pid)

    def alive(self) -> bool:
        return self._process.alive()

    def pids(self) -> list[int]:
        return [self._process.popen.pid] if self.alive() else []

    def stop(self) -> None:
        self._process.stop()


class _ForkedTask:
    def __init__(self, conn: socket.socket, reader: Any, pid: int) -> None:
        self._conn, self._reader, self.pid = conn, reader, pid

    def wait(self) -> int:
        try:
            line = self._reader.readline()
            if not line:
                raise WorkerGone("the warm worker died while the task ran")
            return int(json.loads(line)["exit"])
        finally:
            self._reader.close()
            self._conn.close()


class SparePool:
    """Processes that each imported the module and wait to become one task (see the module's
    doc); one spare is kept started ahead."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, lifeline: platform.Lifeline) -> None:
        self.module = module
        self._new: Callable[[], _Process] = lambda: _Process(module, env, log_path, lifeline, once=True)
        self._lock = threading.Lock()
        self._spares: list[_Process] = []
        self._stopped = False
        self._spares.append(self._ready(self._new()))

    def start(self, request: TaskRequest, output_fd: int) -> WarmTask:
        with self._lock:
            spare = next((s for s in self._spares if s.alive()), None)
            self._spares = [s for s in self._spares if s.alive() and s is not spare]
        if spare is None:
            spare = self._ready(self._new())
        threading.Thread(target=self._replenish, daemon=True, name=f"warm-spare-{self.module}").start()
        conn, reader, pid = spare.send(request, output_fd)
        reader.close()
        conn.close()
        return _SpareTask(spare, pid)

    def alive(self) -> bool:
        return not self._stopped

    def pids(self) -> list[int]:
        with self._lock:
            return [s.popen.pid for s in self._spares if s.alive()]

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.stop()

    def _replenish(self) -> None:
        try:
            spare = self._ready(self._new())
        except WorkerGone as exc:
            log.warning("%s", exc)
            return
        with self._lock:
            if not self._stopped:
                self._spares.append(spare)
                return
        spare.stop()

    @staticmethod
    def _ready(spare: _Process) -> _Process:
        spare.wait_ready()
        return spare


class _SpareTask:
    def __init__(self, spare: _Process, pid: int) -> None:
        self._spare, self.pid = spare, pid

    def wait(self) -> int:
        try:
            return self._spare.popen.wait()
        finally:
            self._spare.cleanup()


def _end_group(popen: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=grace_s)
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()


# --- the worker process ----------------------------------------------------------------


def _serve(module_name: str, socket_path: str, once: bool) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # no Rust thread pool across fork
    module = _payload(module_name)
    warm = getattr(module, "warm", None)
    if callable(warm):
        warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    parent = os.getppid()
    print(READY, flush=True)
    if once:
        conn, _addr = listener.accept()
        request, fd = _receive(conn)
        conn.sendall((json.dumps({"pid": os.getpid()}) + "\n").encode())
        _become_task(module, request, fd, [listener, conn])
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    try:
        while os.getppid() == parent:  # the daemon gone: stop too
            for _ in selector.select(timeout=0.05):
                conn, _addr = listener.accept()
                try:
                    request, fd = _receive(conn)
                except (OSError, ValueError) as exc:
                    print(f"warm worker: bad request: {exc}", file=sys.stderr, flush=True)
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    platform.die_with_parent_after_fork()
                    _become_task(module, request, fd, [listener, conn])
                os.close(fd)
                conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
                children[pid] = conn
            _reap(children)
    finally:
        for pid in children:  # tasks do not outlive their worker
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n").encode())
            conn.close()


def _payload(name: str) -> ModuleType:
    """What ``python -m name`` runs: the module, or a package's ``__main__``."""
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations is not None:
        name = f"{name}.__main__"
    return importlib.import_module(name)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], int]:
    header, fds, _flags, _addr = socket.recv_fds(conn, _HEADER, 1)
    if len(header) != _HEADER or len(fds) != 1:
        raise ValueError("expected a length and one file descriptor")
    length = int.from_bytes(header, "big")
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            os.close(fds[0])
            raise ValueError("request cut short")
        body += chunk
    return json.loads(body), fds[0]


def _become_task(module: ModuleType, request: dict[str, Any], fd: int, sockets: list[socket.socket]) -> None:
    """This process is the task now: its output, environment, folder and argv; never returns."""
    code = 1
    try:
        for each in sockets:
            each.close()
        if os.getpid() != os.getsid(0):
            os.setsid()  # a process group of its own, so it can be stopped as one
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        sys.argv = [module.__name__, *request["argv"]]
        code = _run_main(module, request["argv"])
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _run_main(module: ModuleType, argv: list[str]) -> int:
    try:
        result = module.main(argv)
        return int(result or 0)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # the task's own crash: into its log, like an uncaught exception
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], once="--once" in sys.argv[3:])
