"""`introaws --help` and `--version` stay fast: no AWS SDK, CDK or ML imports at start-up, and
a group's module only when that group runs."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import ROOT
from introaws.cli.app import GROUPS

HEAVY = ("boto3", "botocore", "aws_cdk", "jsii", "torch", "transformers", "moto")


GROUP_MODULES = {module for module, _ in GROUPS.values()}


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "introaws", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["ddb", "--help"], ["cloud", "--help"]])
def test_no_heavy_imports(args):
    tops = {name.split(".")[0] for name in imported_modules(*args)}
    assert not tops & set(HEAVY), sorted(tops & set(HEAVY))


@pytest.mark.parametrize("args, group", [(["--help"], None), (["--version"], None), (["qa", "--help"], "qa")])
def test_only_the_named_group_is_imported(args, group):
    # sys.modules, not -X importtime: importlib.import_module does not pass where it measures
    code = (
        "import sys; from introaws.cli.app import main; code = main(sys.argv[1:]); "
        "print(sorted(sys.modules), file=sys.stderr); sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(ast.literal_eval(proc.stderr.splitlines()[-1])) & GROUP_MODULES
    assert loaded == ({GROUPS[group][0]} if group else set())


def test_version_prints_version():
    proc = subprocess.run(
        [sys.executable, "-m", "introaws", "--version"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.startswith("introaws ")


def test_the_daemon_leaves_out_the_imports_it_never_uses(fresh_home):
    """``rfc3987-syntax`` (here with the [ml] extra's JupyterLab) would cost each daemon start
    ~0.9 s through moto → openapi-spec-validator → jsonschema; the daemon imports moto without it."""
    from conftest import cli_env, run_cli

    assert run_cli(fresh_home, "cloud", "start", env=cli_env(fresh_home, PYTHONPROFILEIMPORTTIME="1")).code == 0
    log = (fresh_home / "data" / "localcloud" / "daemon.log").read_text()
    imported = {line.split("|")[-1].strip() for line in log.splitlines() if line.startswith("import time:")}
    assert {"moto.cloudformation", "jsonschema"} <= imported  # the chain that would pull it in ran
    # (a refused import is listed too, in microseconds; its grammar module is what costs)
    assert "rfc3987_syntax.syntax_helpers" not in imported
