"""A warm worker: a payload module imported (and its model loaded) once, forked per task.

A cold task pays for Python, torch and transformers imports and the model load every time
(seconds each); a fork of a process that already did all that starts in milliseconds. The
worker is a separate, single-threaded process (``python -m introaws.localcloud.runtime.warm
MODULE SOCKET``) so forking is safe: it calls ``MODULE.warm()`` before serving, then for each
request on its Unix socket forks a child that takes the task's environment, argv and output
file descriptors (passed with ``SCM_RIGHTS``) and runs ``MODULE.main(argv)``. The worker
reports the child's pid, then its exit code, on the request's connection.

:class:`WarmWorker` is the daemon's side.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

_HEADER = 8  # bytes of the request's length, sent with the file descriptors
READY = "ready"


class WorkerGone(Exception):
    """The warm worker died or did not answer."""


class WarmWorker:
    """The daemon's handle on one warm worker process."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, start_timeout: float = 300) -> None:
        self.module = module
        self._dir = tempfile.mkdtemp(prefix="introaws-warm-")
        self.socket_path = os.path.join(self._dir, "worker.sock")
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "introaws.localcloud.runtime.warm", module, self.socket_path],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        ready = selector.select(start_timeout)
        selector.close()
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if line != READY:
            self.stop()
            raise WorkerGone(f"the warm worker for {module} did not start (see {log_path})")

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, argv: list[str], env: dict[str, str], output_fd: int) -> WarmTask:
        """Fork a task whose stdout and stderr go to ``output_fd``; returns at once."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket_path)
            body = json.dumps({"argv": argv, "env": env}).encode()
            socket.send_fds(conn, [len(body).to_bytes(_HEADER, "big")], [output_fd])
            conn.sendall(body)
            reader = conn.makefile("r", encoding="utf-8")
            first = reader.readline()
            if not first:
                raise WorkerGone("the warm worker closed the connection")
            return WarmTask(conn, reader, int(json.loads(first)["pid"]))
        except (OSError, ValueError, KeyError) as exc:
            conn.close()
            raise WorkerGone(f"the warm worker for {self.module} failed: {exc}") from exc

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
            os.rmdir(self._dir)


class WarmTask:
    """A forked task: its pid, and its exit code once it ends."""

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


# --- the worker process ----------------------------------------------------------------


def _serve(module_name: str, socket_path: str) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # no Rust thread pool across fork
    module = importlib.import_module(module_name)
    warm = getattr(module, "warm", None)
    if callable(warm):
        warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    parent = os.getppid()
    print(READY, flush=True)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while os.getppid() == parent:  # the daemon gone: stop too
        for _ in selector.select(timeout=0.05):
            conn, _addr = listener.accept()
            try:
                pid = _fork_task(module, conn, listener)
            except (OSError, ValueError) as exc:
                print(f"warm worker: bad request: {exc}", file=sys.stderr, flush=True)
                conn.close()
                continue
            conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
            children[pid] = conn
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in children:
                conn = children.pop(pid)
                with contextlib.suppress(OSError):
                    conn.sendall((json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n").encode())
                conn.close()


def _fork_task(module: ModuleType, conn: socket.socket, listener: socket.socket) -> int:
    header, fds, _flags, _addr = socket.recv_fds(conn, _HEADER, 1)
    if len(header) != _HEADER or len(fds) != 1:
        raise ValueError("expected a length and one file descriptor")
    length = int.from_bytes(header, "big")
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ValueError("request cut short")
        body += chunk
    request = json.loads(body)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(fds[0])
        return pid
    # The child: become the task.
    code = 1
    try:
        listener.close()
        conn.close()
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.dup2(fds[0], 1)
        os.dup2(fds[0], 2)
        os.close(fds[0])
        os.environ.clear()
        os.environ.update(request["env"])
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
    _serve(sys.argv[1], sys.argv[2])
