"""What differs between the systems introaws runs on (Linux, macOS, WSL2), in one place.

Everything else asks here instead of reading ``/proc``, loading libc or calling ``os.sched_*``:
how many CPUs we may use, whether a pid is still the process we started, a process's resident
memory, children that die with their parent, how warm workers start (fork where it is safe,
spawn elsewhere), the daemon's start lock, and which system this is. psutil answers the
process questions on every system; the Linux-only paths are used where they exist and give
something psutil cannot (CPU affinity, a kernel-enforced "die with the parent").

``INTROAWS_PLATFORM_FALLBACK=1`` makes this module take its portable paths on Linux too, so the
tests prove them on the machine that runs them.

``python -m introaws.platform reap`` is the portable "die with the parent": see :class:`Lifeline`.
"""

from __future__ import annotations

import contextlib
import os
import platform as _stdlib_platform
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from introaws.i18n import _

FALLBACK_ENV = "INTROAWS_PLATFORM_FALLBACK"
# Creation times are the boot time plus a tick count, and the boot time the system reports moves
# with clock adjustments; a pid reused by another process differs by far more.
_SAME_START_S = 2.0
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def portable_only() -> bool:
    """True when the Linux-only paths are switched off (``INTROAWS_PLATFORM_FALLBACK``)."""
    return os.environ.get(FALLBACK_ENV, "") not in ("", "0")


def _linux() -> bool:
    return sys.platform.startswith("linux") and not portable_only()


# --- CPUs -------------------------------------------------------------------------------


def cpu_count() -> int:
    """CPUs this process may run on: its affinity mask where the system has one (Linux, WSL2,
    so a container or ``taskset`` limit counts), else every CPU of the machine."""
    if _linux() and hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- processes --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessRef:
    """A process as it was when we saw it: a pid alone may be reused by another process."""

    pid: int
    started: float  # creation time, seconds since the epoch (as psutil reports it)


def process_ref(pid: int) -> ProcessRef | None:
    """The running process ``pid`` (None when there is none, or it is a zombie)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return ProcessRef(pid, process.create_time())
    except psutil.Error:
        return None


def is_running(ref: ProcessRef) -> bool:
    """``ref``'s process still runs (the same process, not a new one with its pid)."""
    current = process_ref(ref.pid)
    return current is not None and abs(current.started - ref.started) < _SAME_START_S


def is_our_process(pid: int, marker: str, started: float | None = None) -> bool:
    """``pid`` runs (not a zombie) with ``marker`` in its command line (its arguments joined by
    spaces), and was created at ``started`` when given: how a pid file is told from a stale one."""
    import psutil

    current = process_ref(pid)
    if current is None or (started is not None and not is_running(ProcessRef(pid, started))):
        return False
    try:
        return marker in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid``; None when the system will not say (or it is gone)."""
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return None


def peak_rss_bytes(pid: int) -> int | None:
    """The most resident memory ``pid`` has held since it started (Linux's ``VmHWM``), so a
    spike between two samples of :func:`rss_bytes` still counts; None where the system does not
    keep it for a running process (the memory checks then rely on sampling alone)."""
    if not _linux():
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def processes_with_env(name: str, value: str) -> list[int]:
    """This user's processes whose environment has ``name=value``: what a marker variable
    finds after its process was re-parented (a ``nohup … &`` started over SSH)."""
    import psutil

    found = []
    uid = os.getuid()
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid and process.environ().get(name) == value:
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def end_processes(pids: list[int], grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL what is left after ``grace_s``."""
    import psutil

    alive = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            process.terminate()
            alive.append(process)
    _, left = psutil.wait_procs(alive, timeout=grace_s)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()


# --- children that die with their parent ---------------------------------------------------


class Lifeline:
    """Starts child processes that do not outlive this one, even when it is killed with -9.

    On Linux the kernel does it: each child asks for ``SIGKILL`` when its parent goes
    (``prctl(PR_SET_PDEATHSIG)``). That signal follows the *thread* that started the child, so
    every child is started from one thread that lives as long as the lifeline.

    Elsewhere (macOS) a small reaper process (``python -m introaws.platform reap``, in a session
    of its own) holds a pipe from us and the list of our children's process groups; when the
    pipe closes — we exited or were killed — it kills every group still there. Children are
    registered as they start (:meth:`adopt` for processes started by another process of ours).
    """

    def __init__(self) -> None:
        self._prctl = _load_prctl() if _linux() else None
        self.kind: Literal["prctl", "reaper"] = "prctl" if self._prctl else "reaper"
        self._lock = threading.Lock()
        self._spawner: ThreadPoolExecutor | None = None
        self._reaper: subprocess.Popen[bytes] | None = None
        if self._prctl:
            self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifeline")
        else:
            self._reaper = subprocess.Popen(
                [sys.executable, "-m", "introaws.platform", "reap"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a kill of our process group must not take it along
                close_fds=True,
            )

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(argv, **kwargs)`` in a new session, tied to this process."""
        kwargs["start_new_session"] = True
        if self._spawner is not None:
            parent = os.getpid()
            prctl = self._prctl

            def die_with_parent() -> None:  # runs in the child, between fork and exec
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # type: ignore[misc]
                if os.getppid() != parent:  # the parent went before the line above
                    os._exit(1)

            return self._spawner.submit(lambda: subprocess.Popen(argv, preexec_fn=die_with_parent, **kwargs)).result()
        process = subprocess.Popen(argv, **kwargs)
        self.adopt(process.pid)
        return process

    def adopt(self, pid: int) -> None:
        """Tie ``pid`` (a process group leader started by a process of ours) to us as well."""
        ref = process_ref(pid)
        if self._reaper is not None and ref is not None:
            self._tell(f"+{ref.pid} {ref.started!r}\n")

    def release(self, pid: int) -> None:
        """``pid`` ended (or must outlive us): forget it."""
        if self._reaper is not None:
            self._tell(f"-{pid}\n")

    def close(self) -> None:
        """Stop the lifeline; children still registered are killed."""
        if self._spawner is not None:
            self._spawner.shutdown(wait=True)
        if self._reaper is not None and self._reaper.stdin is not None:
            with contextlib.suppress(OSError):
                self._reaper.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reaper.wait(timeout=5)

    def _tell(self, line: str) -> None:
        assert self._reaper is not None and self._reaper.stdin is not None
        with self._lock, contextlib.suppress(OSError):
            self._reaper.stdin.write(line.encode())
            self._reaper.stdin.flush()


def die_with_parent_after_fork() -> bool:
    """In a child just forked (no exec): ask for SIGKILL when the parent goes. False where the
    system cannot; the parent must then :meth:`Lifeline.adopt` the child."""
    prctl = _load_prctl() if _linux() else None
    if prctl is None:
        return False
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return True


def _load_prctl() -> Any | None:
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def _reap() -> None:
    """The reaper: remember ``+PID STARTED`` / ``-PID`` lines; at end of input, kill the rest."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    children: dict[int, float] = {}
    for line in sys.stdin.buffer:
        text = line.decode().strip()
        if text.startswith("+"):
            pid, started = text[1:].split()
            children[int(pid)] = float(started)
        elif text.startswith("-"):
            children.pop(int(text[1:]), None)
    for pid, started in children.items():
        if is_running(ProcessRef(pid, started)):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# --- warm workers ----------------------------------------------------------------------------


def worker_start() -> Literal["fork", "spawn"]:
    """How warm workers start tasks: forked from a process that already imported the payload
    (Linux), or as pre-started processes that each run one task (macOS, where forking after
    the Objective-C runtime or Accelerate is loaded can crash the child)."""
    return "fork" if _linux() else "spawn"


# --- the daemon's start lock -------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes, released when the block ends (or the
    process dies)."""
    import fcntl  # POSIX: Linux, macOS, WSL2 (native Windows is not supported, see system())

    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- which system ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemInfo:
    name: str  # "Linux", "macOS", "WSL2", "WSL1", "Windows", or what the system calls itself
    arch: str  # "x86_64", "arm64", ...
    release: str  # the kernel (or OS) release
    supported: bool
    note: str  # what to do instead when it is not supported

    def describe(self) -> str:
        return f"{self.name} ({self.arch}, {self.release})"


def system() -> SystemInfo:
    """The system introaws runs on."""
    uname = _stdlib_platform.uname()
    info = classify(uname.system, uname.release, uname.machine)
    if info.name == "macOS":
        return SystemInfo("macOS", info.arch, _stdlib_platform.mac_ver()[0] or uname.release, True, "")
    return info


def classify(kernel: str, release: str, machine: str) -> SystemInfo:
    """What ``uname`` (system, release, machine) means for introaws. WSL is Linux whose kernel
    release names Microsoft: ``…-microsoft-standard-WSL2`` for WSL 2, ``…-Microsoft`` for WSL 1."""
    arch = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine.lower(), machine)
    if kernel == "Darwin":
        return SystemInfo("macOS", arch, release, True, "")
    if kernel == "Linux":
        lowered = release.lower()
        if "microsoft-standard" in lowered or lowered.endswith("wsl2"):
            return SystemInfo("WSL2", arch, release, True, "")
        if "microsoft" in lowered:
            return SystemInfo("WSL1", arch, release, False, _("convert it to WSL 2 (wsl --set-version <distro> 2)"))
        return SystemInfo("Linux", arch, release, True, "")
    if kernel == "Windows":
        return SystemInfo(
            "Windows", arch, release, False, _("run introaws inside WSL 2 (wsl --install), as the textbook says")
        )
    return SystemInfo(kernel, arch, release, False, _("introaws runs on Linux, macOS and Windows through WSL 2"))


if __name__ == "__main__" and sys.argv[1:] == ["reap"]:
    _reap()
