"""The platform seam, each function on both of its paths: the Linux one, and the portable one
(``INTROAWS_PLATFORM_FALLBACK=1``, what macOS gets). Real processes throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT
from introaws import platform

PATHS = ["linux", "portable"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param == "portable":
        monkeypatch.setenv(platform.FALLBACK_ENV, "1")
    else:
        monkeypatch.delenv(platform.FALLBACK_ENV, raising=False)
    return request.param


def sleeper(*args: str) -> subprocess.Popen[bytes]:
    """A process that sleeps, returned once it runs (right after exec its command line reads empty)."""
    code = "import time; print('up', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"up\n"
    return child


def gone_within(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if platform.process_ref(pid) is None:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs to pin a process to one")
def test_cpu_count(path):
    """A process pinned to one CPU (as taskset or a container does): the Linux path counts its
    affinity, the portable one the machine's CPUs."""
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); from introaws import platform; print(platform.cpu_count())"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    pinned = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(pinned.stdout) == (1 if path == "linux" else os.cpu_count())


def test_process_identity(path):
    child = sleeper("introaws-marker")
    try:
        ref = platform.process_ref(child.pid)
        assert ref is not None and platform.is_running(ref)
        assert platform.is_our_process(child.pid, "introaws-marker", ref.started)
        assert not platform.is_our_process(child.pid, "another-marker")
        assert not platform.is_our_process(child.pid, "introaws-marker", ref.started - 10)  # pid reused
        assert not platform.is_running(platform.ProcessRef(child.pid, ref.started - 10))
    finally:
        child.kill()
    time.sleep(0.2)  # exited, not yet reaped: a zombie is not running
    assert platform.process_ref(child.pid) is None
    assert not platform.is_our_process(child.pid, "introaws-marker")
    child.wait()


def test_memory_and_process_tree(path):
    assert (platform.rss_bytes(os.getpid()) or 0) > 10 * 2**20
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    parent = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "INTROAWS_TEST_MARK": "tree"})
    try:
        deadline = time.monotonic() + 10
        while len(platform.descendants(parent.pid)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        (grandchild,) = platform.descendants(parent.pid)
        marked = platform.processes_with_env("INTROAWS_TEST_MARK", "tree")
        assert sorted(marked) == sorted([parent.pid, grandchild])  # the environment is inherited
        platform.end_processes([parent.pid, grandchild], grace_s=2)
        assert gone_within(grandchild)
    finally:
        parent.kill()
        parent.wait()
    assert platform.rss_bytes(parent.pid) is None


def test_peak_memory_outlasts_a_spike_where_the_system_keeps_it(path):
    code = "del bytearray(200 * 2**20)[:]; print('freed', flush=True); import time; time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"freed\n"
        peak, now = platform.peak_rss_bytes(child.pid), platform.rss_bytes(child.pid) or 0
        if path == "portable" or not sys.platform.startswith("linux"):
            assert peak is None  # sampling alone
        else:
            assert peak is not None and peak > 200 * 2**20 > now
    finally:
        child.kill()
        child.wait()


def test_end_processes_kills_what_ignores_sigterm(path):
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline()  # its handler is set
    platform.end_processes([stubborn.pid], grace_s=0.5)
    assert stubborn.wait(timeout=5) == -signal.SIGKILL


PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from introaws import platform
    lifeline = platform.Lifeline()
    started = lifeline.popen([sys.executable, "-c", "import time; time.sleep(60)"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    lifeline.adopt(other.pid)
    print(lifeline.kind, started.pid, other.pid, flush=True)
    time.sleep(60)
    """
)


def test_children_die_with_their_parent_killed_with_sigkill(path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], env=env, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    kind, started, adopted = parent.stdout.readline().split()
    assert kind == ("prctl" if path == "linux" else "reaper")
    assert platform.process_ref(int(started)) and platform.process_ref(int(adopted))
    parent.kill()
    parent.wait()
    assert gone_within(int(started))
    if path == "portable":  # adopted processes are the reaper's; prctl covers what the lifeline starts
        assert gone_within(int(adopted))
    else:
        os.kill(int(adopted), signal.SIGKILL)


def test_lifeline_close_ends_what_is_still_registered(path):
    lifeline = platform.Lifeline()
    child = lifeline.popen([sys.executable, "-c", "import time; time.sleep(60)"])
    lifeline.close()
    if path == "portable":
        assert gone_within(child.pid)
    child.kill()
    child.wait()


def test_after_fork_and_worker_start(path):
    assert platform.worker_start() == ("fork" if path == "linux" else "spawn")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(writer, b"1" if platform.die_with_parent_after_fork() else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(reader, 1) == (b"1" if path == "linux" else b"0")


def test_file_lock_excludes_another_process(tmp_path: Path):
    lock, log = tmp_path / "start.lock", tmp_path / "order"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from introaws import platform
                with platform.file_lock(Path({str(lock)!r})):
                    print("held", flush=True)
                    time.sleep(1)
                    Path({str(log)!r}).write_text("holder done")
                """
            ),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    with platform.file_lock(lock):
        assert log.read_text() == "holder done"  # we got it only once the holder let go
    assert holder.wait(timeout=10) == 0


@pytest.mark.parametrize(
    "uname, name, arch, supported",
    [
        (("Linux", "6.8.0-45-generic", "x86_64"), "Linux", "x86_64", True),
        (("Linux", "6.1.0-rpi7", "aarch64"), "Linux", "arm64", True),
        (("Linux", "5.15.153.1-microsoft-standard-WSL2", "x86_64"), "WSL2", "x86_64", True),
        (("Linux", "4.4.0-19041-Microsoft", "x86_64"), "WSL1", "x86_64", False),
        (("Darwin", "23.1.0", "arm64"), "macOS", "arm64", True),
        (("Darwin", "22.6.0", "x86_64"), "macOS", "x86_64", True),
        (("Windows", "10", "AMD64"), "Windows", "x86_64", False),
    ],
)
def test_which_system(uname, name, arch, supported):
    info = platform.classify(*uname)
    assert (info.name, info.arch, info.supported) == (name, arch, supported)
    assert bool(info.note) is not supported
    if name == "Windows":
        assert "WSL" in info.note


def test_this_system_is_supported():
    info = platform.system()
    assert info.supported and info.name in ("Linux", "WSL2", "macOS")
