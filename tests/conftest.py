"""Shared test fixtures: one private introaws home and one real local cloud per test session
(per pytest-xdist worker: each has its own session).

Tests drive the real CLI (exit codes, stdin that is not a terminal, stdout/stderr kept apart)
against the real daemon: moto's server over HTTP behind introaws's front, and the real deploy
engine. The CLI runs in the test process through ``main(args, env)`` with its own streams and
environment variables (as a new process would see them), which saves starting Python and
importing boto3 for every call; ``run_exe`` starts the real executable for the tests that are
about the process itself (imports at start-up, signals, a terminal).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_", "LC_"))}
    env.update(
        LANG="C.UTF-8",  # the tests read English unless they choose a locale (test_i18n.py)
        INTROAWS_HOME=str(home),
        INTROAWS_SSH_DIR=str(home / "ssh"),
        COLUMNS="200",
        NO_COLOR="1",
        PYTHONPATH=str(ROOT / "src"),
    )
    env.update(extra)
    return env


def run_cli(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300, input: str | None = None
) -> Result:
    """``introaws ARGS`` in this process, as a new process with ``env`` would run it (the time
    limit is pytest-timeout's here; ``run_exe`` enforces ``timeout`` itself)."""
    from introaws.cli.app import main
    from introaws.cli.environment import Environment

    stdout, stderr = _Captured(), _Captured()
    environment = Environment(io.StringIO(input or ""), stdout, stderr, env or cli_env(home))
    try:
        code = main(list(args), environment)
    except Exception:  # --debug lets the error out, as the interpreter would print it
        traceback.print_exc(file=stderr)
        code = 1
    return Result(code, stdout.text(), stderr.text())


class _Captured(io.TextIOWrapper):
    """A text stream over bytes, like a process's stdout (``.buffer`` takes raw output)."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO()
        super().__init__(self._bytes, encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        return self._bytes.getvalue().decode("utf-8", errors="replace")


def run_exe(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300, input: str | None = None
) -> Result:
    """The real ``introaws`` executable in a new process."""
    proc = subprocess.run(
        [sys.executable, "-m", "introaws", *args],
        env=env or cli_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


HANDS_ON_MARKERS = ("ec2", "dnn", "qa", "batch", "haiku", "lambda", "ddb", "s3")
MARKER_ALIASES = {"mnist": "batch"}  # the sweep's payload


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the hands-on its file is about (test_haiku_web.py: haiku), so
    ``pytest -m haiku`` runs one hands-on's tests."""
    for item in items:
        words = Path(str(item.fspath)).stem.split("_")[1:]
        for word in words:
            marker = MARKER_ALIASES.get(word, word)
            if marker in HANDS_ON_MARKERS:
                item.add_marker(marker)


def stop_cloud(home: Path) -> None:
    run_cli(home, "cloud", "stop", timeout=60)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory):
    """The session's introaws home; its local cloud is stopped at the end."""
    path = tmp_path_factory.mktemp("introaws-home")
    yield path
    stop_cloud(path)


@pytest.fixture(scope="session")
def cli(home: Path):
    """Run ``introaws ARGS`` against the session's local cloud."""

    def call(*args: str, **kwargs) -> Result:
        return run_cli(home, *args, **kwargs)

    return call


@pytest.fixture(scope="session")
def cfn_lint(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[str]]:
    """``cfn_lint(template, ignore=())``: cfn-lint's findings (empty when clean); every template
    the tests lint is linted in one cfn-lint run (``tests/lint.py``)."""
    from lint import LintSession

    return LintSession(home, tmp_path_factory.mktemp("cfn-lint")).problems


@pytest.fixture(scope="session")
def haiku_site(cli):
    """Bashoutter deployed once for every test that needs it (its outputs and URLs); the tests
    post and clear haiku but never tear it down. Torn down at the end of the session."""
    up = cli("haiku", "up", "--json")
    assert up.code == 0, up.err
    yield up.json()
    cli("haiku", "down", "--yes")


@pytest.fixture(scope="session")
def ddb_stack(cli) -> Result:
    """The DynamoDB hands-on deployed once for the tests that read and write it (the first
    ``ddb up``'s result); torn down at the end of the session."""
    first = cli("ddb", "up")
    assert first.code == 0, first.err
    yield first
    cli("ddb", "down", "--yes")


def target_for(home: Path):
    """A Target on ``home``'s local cloud (started if needed), for checks behind the CLI's back."""
    from introaws.target import resolve

    previous = os.environ.get("INTROAWS_HOME")
    os.environ["INTROAWS_HOME"] = str(home)
    try:
        return resolve("local")
    finally:
        if previous is None:
            os.environ.pop("INTROAWS_HOME", None)
        else:
            os.environ["INTROAWS_HOME"] = previous


@pytest.fixture(scope="session")
def target(home: Path):
    return target_for(home)


def instance_ssh(home: Path, key: str, instance_id: str) -> list[str]:
    """OpenSSH's command line into a local-cloud instance, asked where its sshd listens, with no
    host-key bookkeeping: add the remote command."""
    import urllib.request

    endpoint = target_for(home).endpoint_url
    with urllib.request.urlopen(f"{endpoint}/_introaws/ec2/instances/{instance_id}/ssh", timeout=30) as reply:
        where = json.load(reply)
    return [
        "ssh", "-i", str(home / "ssh" / f"{key}.pem"), "-p", str(where["port"]),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
        f"{where['user']}@127.0.0.1",
    ]  # fmt: skip


def aws_keys(home: Path) -> dict[str, str]:
    """``AWS_*`` variables that aim any AWS client (``introaws --cloud aws`` included) at
    ``home``'s local cloud: endpoint, region, and keys it accepts, as ``introaws cloud env
    --json`` gives them to a user."""
    shown = run_cli(home, "cloud", "env", "--json")
    assert shown.code == 0, shown.err
    return shown.json()


def aws_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of ``introaws --cloud aws`` at ``home``'s local cloud through
    ``AWS_ENDPOINT_URL``: the AWS path, with no profile or key of this machine in it."""
    nowhere = str(home / "no-aws-config")
    return cli_env(home, **aws_keys(home), AWS_CONFIG_FILE=nowhere, AWS_SHARED_CREDENTIALS_FILE=nowhere, **extra)


def _home_beside(home: Path, path: Path) -> Path:
    path.mkdir(exist_ok=True)
    if (home / "cache").exists():  # reuse synthesized templates: synth costs seconds each
        shutil.copytree(home / "cache", path / "cache", dirs_exist_ok=True)
    return path


@pytest.fixture
def fresh_home(tmp_path: Path, home: Path):
    """A home of its own (its own local cloud) for tests that stop, kill or wipe it."""
    path = _home_beside(home, tmp_path / "home")
    yield path
    stop_cloud(path)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory, home: Path):
    """A home (and local cloud) for one test module, for tests that take down hands-ons the
    session's shared deployments (``haiku_site``, ``ddb_stack``) would lose."""
    path = _home_beside(home, tmp_path_factory.mktemp("module-home"))
    yield path
    stop_cloud(path)


def path_without_node() -> dict[str, str]:
    """PATH with the directory that holds ``node`` removed (and python kept)."""
    node = shutil.which("node")
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep) if not (node and Path(p, "node").exists())]
    return {"PATH": os.pathsep.join(keep + [str(Path(sys.executable).parent)])}


@pytest.fixture
def docker_engine():
    """A stand-in Docker engine (see docker_standin.py): its record and its DOCKER_HOST."""
    from docker_standin import Engine, serve

    engine = Engine()
    server, host = serve(engine)
    yield engine, host
    server.shutdown()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the screenshots tests keep for a person to look at (``record_property("screenshot",
    path)``), also when pytest-xdist ran them in a worker, whose output is not shown."""
    reports = [r for outcome in ("passed", "failed") for r in terminalreporter.stats.get(outcome, [])]
    shots = [value for r in reports if r.when == "call" for name, value in r.user_properties if name == "screenshot"]
    if shots:
        terminalreporter.write_sep("-", "screenshots to look at")
        for shot in shots:
            terminalreporter.write_line(str(shot))
