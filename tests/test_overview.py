"""Cross-cutting commands: status of everything, down --all, doctor."""

from __future__ import annotations

import json
import os

import pytest

from conftest import ROOT, aws_env, cli_env, run_cli, run_exe


def test_status_and_down_all(fresh_home):
    assert run_cli(fresh_home, "ddb", "up").code == 0
    assert run_cli(fresh_home, "s3", "up").code == 0
    rows = run_cli(fresh_home, "status", "--json").json()
    assert sorted(r["hands_on"] for r in rows) == ["ddb", "s3"]
    assert all(r["status"] == "CREATE_COMPLETE" and r["created"] for r in rows)
    table = run_cli(fresh_home, "status")
    assert "SimpleDynamoDb" in table.out and "SimpleS3" in table.out
    # The AWS code path (at the local endpoint) prices each stack in its region.
    at_local = aws_env(fresh_home, INTROAWS_PRICES="table")
    aws_rows = run_cli(fresh_home, "--cloud", "aws", "--region", "ap-northeast-1", "status", "--json", env=at_local)
    assert aws_rows.code == 0, aws_rows.err
    assert [(r["region"], r["hourly_usd"]) for r in aws_rows.json()] == [("ap-northeast-1", 0.0)] * 2
    assert run_cli(fresh_home, "down", "--all").code != 0  # refuses without --yes here
    done = run_cli(fresh_home, "down", "--all", "--yes")
    assert done.code == 0, done.err
    assert run_cli(fresh_home, "status", "--json").json() == []


def test_doctor_local(cli):
    result = cli("doctor", "--json")
    checks = {c["check"]: c for c in result.json()}
    assert checks["python"]["ok"] and checks["node"]["ok"]
    assert checks["local cloud"]["ok"]
    assert checks["identity"]["ok"] and "123456789012" in checks["identity"]["detail"]
    assert result.code == (0 if all(c["ok"] or not c["required"] for c in checks.values()) else 7)


def test_doctor_aws_without_credentials_says_what_to_do(home, tmp_path):
    env = cli_env(
        home,
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = run_cli(home, "--cloud", "aws", "--region", "ap-northeast-1", "doctor", "--json", env=env)
    checks = {c["check"]: c for c in result.json()}
    assert checks["identity"]["ok"] is False
    assert "aws configure" in checks["identity"]["fix"]
    assert result.code == 7


def test_doctor_asks_the_docker_engine_the_builds_would_use(home, docker_engine):
    """doctor asks the engine through the SDK client the image builds use (DOCKER_HOST here):
    one that does not answer is reported with what to do; one that answers shows its version."""
    engine_host = docker_engine[1]
    for host in ("tcp://127.0.0.1:9", engine_host):
        env = cli_env(home, DOCKER_HOST=host)
        docker = {c["check"]: c for c in run_cli(home, "doctor", "--json", env=env).json()}["docker"]
        if host == engine_host:
            assert docker["ok"] and "engine stand-in at " + engine_host in docker["detail"]
        else:
            assert not docker["ok"] and not docker["required"]
            assert "no Docker engine answers at tcp://127.0.0.1:9" in docker["detail"]
            assert "start Docker" in docker["fix"]


def test_doctor_names_the_system_and_what_runs_there(home):
    checks = run_cli(home, "doctor", "--json").json()
    system = checks[0]
    assert system["check"] == "platform" and system["ok"]
    assert system["platform"]["name"] in ("Linux", "WSL2", "macOS")
    assert "every hands-on runs on the local cloud" in system["detail"]


@pytest.mark.parametrize(
    "uname, name, advice",
    [("Windows/10/AMD64", "Windows", "WSL 2 (wsl --install)"), ("Linux/4.4.0-19041-Microsoft/x86_64", "WSL1", "WSL 2")],
)
def test_doctor_on_a_system_it_does_not_support_says_what_to_use(home, uname, name, advice):
    env = cli_env(home, INTROAWS_TEST_UNAME=uname)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "elsewhere"), env["PYTHONPATH"]])
    result = run_exe(home, "doctor", "--json", env=env)
    system = json.loads(result.out)[0]
    assert result.code != 0
    assert (system["platform"]["name"], system["ok"]) == (name, False)
    assert advice in system["fix"]
