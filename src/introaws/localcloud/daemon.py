"""The client side of the local cloud daemon: find it, start it on demand, stop it.

One daemon per ``INTROAWS_HOME`` (or per user). ``daemon.json`` in the state directory
names its pid, start time and port; a pid that is gone, or is another process now (its start
time or command line differ), is stale and ignored.
The port is kept between runs (``port`` file) so URLs printed by ``up`` stay valid after a
restart; if someone else took it, a new free port is chosen.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from introaws import paths, platform
from introaws.errors import LocalCloudError, UsageError
from introaws.localcloud import settings
from introaws.localcloud.identity import admin
from introaws.localcloud.identity.mode import BadMode, mode_from

STATE_FILE = "daemon.json"
PORT_FILE = "port"
LOG_FILE = "daemon.log"
JOURNAL_FILE = "journal.jsonl"
START_TIMEOUT_S = 90.0
REFUSED = 3  # the server's exit code when it will not start on the state it found
REPLAY_S_PER_MB = 1.5  # a long journal (before its first compaction) replays at ~1 MB/s here


@dataclass(frozen=True)
class DaemonStatus:
    running: bool
    endpoint: str | None
    pid: int | None
    state_dir: str
    iam: str | None = None  # how the running daemon treats workloads' requests (INTROAWS_IAM)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def state_dir() -> Path:
    return paths.localcloud_dir()


def status() -> DaemonStatus:
    directory = state_dir()
    info = _read_state(directory)
    health = _health(info["port"], directory) if info and _is_our_server(info) else None
    if info and health:
        return DaemonStatus(True, _endpoint(info["port"]), info["pid"], str(directory), health.get("iam"))
    return DaemonStatus(False, None, None, str(directory))


def workers() -> dict[str, Any]:
    """The processes the running daemon runs for workloads, and what this system lets it do
    (``{"workers": [...], "runtime": {...}}``; no workers when it is not running)."""
    current = status()
    if not current.running or not current.endpoint:
        return {"workers": [], "runtime": None}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    with opener.open(f"{current.endpoint}/_introaws/workers", timeout=10) as reply:
        return dict(json.load(reply))


def ensure_running() -> str:
    """The endpoint of the running daemon, starting it first when needed."""
    current = status()
    if current.running and current.endpoint:
        return current.endpoint
    return start().endpoint or ""


def start() -> DaemonStatus:
    system = platform.system()
    if not system.supported:
        raise LocalCloudError(f"the local cloud does not run on {system.name}", system.note)
    try:
        mode_from(os.environ)
        settings.check(os.environ)
    except BadMode as exc:
        raise UsageError(str(exc)) from None
    except settings.BadSetting as exc:
        raise UsageError(str(exc), exc.hint) from None
    directory = state_dir()
    directory.chmod(0o700)  # its journal, keys and issued credentials are the owner's alone
    with platform.file_lock(directory / "start.lock"):
        current = status()
        if current.running:
            return current
        admin.credentials(directory)  # created before the first start, read by clients and daemon
        (directory / STATE_FILE).unlink(missing_ok=True)
        port = _choose_port(directory)
        log = (directory / LOG_FILE).open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "introaws.localcloud.server", "--state-dir", str(directory), "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        timeout = START_TIMEOUT_S + _journal_mb(directory) * REPLAY_S_PER_MB
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() == REFUSED:  # it said why, in one line, as its last words
                raise LocalCloudError(log_tail(1)[0] if log_tail(1) else "the local cloud refused to start")
            if process.poll() is not None:
                raise LocalCloudError(
                    f"the local cloud exited while starting (code {process.returncode})",
                    f"see its log with 'introaws cloud logs' ({directory / LOG_FILE})",
                )
            info = _read_state(directory)
            health = _health(info["port"], directory) if info and info["pid"] == process.pid else None
            if info and health:
                (directory / PORT_FILE).write_text(str(info["port"]))
                return DaemonStatus(True, _endpoint(info["port"]), process.pid, str(directory), health.get("iam"))
            time.sleep(0.1)
        process.kill()
        raise LocalCloudError(
            f"the local cloud did not answer within {timeout:.0f} s",
            "see 'introaws cloud logs'",
        )


def stop(timeout: float = 15.0) -> bool:
    """Stop the daemon; True when one was running."""
    directory = state_dir()
    info = _read_state(directory)
    if not info or not _is_our_server(info):
        (directory / STATE_FILE).unlink(missing_ok=True)
        return False
    pid = info["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_our_server(info):
        time.sleep(0.05)
    if _is_our_server(info):
        os.kill(pid, signal.SIGKILL)
    # A process that has exited may still be letting go of its threads and sockets; the next
    # start must find the port free to keep the URLs printed so far.
    while time.monotonic() < deadline and not _port_free(info["port"]):
        time.sleep(0.05)
    (directory / STATE_FILE).unlink(missing_ok=True)
    return True


def reset() -> None:
    """Stop the daemon and wipe everything it stored but the administrator's credentials
    (shells that exported them with ``cloud env`` keep working)."""
    stop()
    directory = state_dir()
    keys = admin.path(directory)
    kept = keys.read_bytes() if keys.exists() else None
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    if kept is not None:
        descriptor = os.open(keys, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(kept)


def log_tail(lines: int = 50) -> list[str]:
    path = state_dir() / LOG_FILE
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


def _endpoint(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / STATE_FILE).read_text())
        started = data.get("started")
        return {"pid": int(data["pid"]), "port": int(data["port"]), "started": float(started) if started else None}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_our_server(info: dict[str, Any]) -> bool:
    """The pid of ``daemon.json`` is still the server of this state directory that wrote it."""
    marker = f"introaws.localcloud.server --state-dir {state_dir()}"
    return platform.is_our_process(info["pid"], marker, info["started"])


def _health(port: int, directory: Path) -> dict[str, Any] | None:
    """The daemon's health answer when it is this directory's daemon that answers."""
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        with opener.open(f"{_endpoint(port)}/_introaws/health", timeout=5) as reply:
            answer = json.load(reply)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return answer if isinstance(answer, dict) and answer.get("home") == str(directory) else None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: connections of the previous run lingering in TIME_WAIT
        # must not make us give up the port that printed URLs point at.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _journal_mb(directory: Path) -> float:
    try:
        return (directory / JOURNAL_FILE).stat().st_size / 2**20
    except OSError:
        return 0.0


def _choose_port(directory: Path) -> int:
    with contextlib.suppress(OSError, ValueError):
        previous = int((directory / PORT_FILE).read_text())
        if _port_free(previous):
            return previous
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
