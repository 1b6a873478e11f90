"""`introaws --help` and `--version` stay fast: no AWS SDK, CDK or ML imports at start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = ("boto3", "botocore", "aws_cdk", "jsii", "torch", "transformers", "moto")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["ddb", "--help"], ["cloud", "--help"]])
def test_no_heavy_imports(args):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "introaws", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version_prints_version():
    proc = subprocess.run(
        [sys.executable, "-m", "introaws", "--version"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.startswith("introaws ")
