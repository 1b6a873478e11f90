"""The hands-ons where Linux-only APIs are absent, as on macOS: every Python of this module (the
CLI, the daemon, its workers and payloads) starts with ``tests/portable/sitecustomize.py``,
which removes ``os.sched_getaffinity`` and refuses to load libc (so no ``prctl``), and with
``INTROAWS_PLATFORM_FALLBACK=1``, so the platform seam spawns warm workers instead of forking
and ties children to the daemon with its reaper. One local cloud serves the whole module, in
the order a reader would go."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, Result, cli_env, run_cli, target_for
from test_qa import CONTEXT, QUESTION, build_tiny_model

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="removes Linux-only APIs to test the other path")
PORTABLE = ROOT / "tests" / "portable"


@pytest.fixture(scope="module")
def portable(tmp_path_factory: pytest.TempPathFactory, home: Path):
    """One fresh home for the whole module, its cloud stopped at the end."""
    path = tmp_path_factory.mktemp("portable-home")
    if (home / "cache").exists():  # synthesized templates: synth costs seconds each
        import shutil

        shutil.copytree(home / "cache", path / "cache")
    yield path
    run(path, "cloud", "stop")


def env(home: Path) -> dict[str, str]:
    return cli_env(
        home,
        PYTHONPATH=os.pathsep.join([str(PORTABLE), str(ROOT / "src")]),
        INTROAWS_PLATFORM_FALLBACK="1",
        MNIST_DATA_DIR=str(ROOT / "src" / "introaws" / "data" / "mnist-sample"),
        INTROAWS_LOCAL_CORES="2",
    )


def run(home: Path, *args: str) -> Result:
    return run_cli(home, *args, env=env(home))


def ok(home: Path, *args: str) -> Result:
    result = run(home, *args)
    assert result.code == 0, f"introaws {' '.join(args)}: {result.err}"
    return result


def http(method: str, url: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return reply.status, json.loads(reply.read() or b"null")


def test_the_linux_only_apis_are_gone_and_the_daemon_takes_the_portable_path(portable):
    import subprocess

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ctypes, ctypes.util, os\n"
            "print(hasattr(os, 'sched_getaffinity'))\n"
            "try:\n    ctypes.CDLL(ctypes.util.find_library('c'))\nexcept OSError:\n    print('no libc')",
        ],
        env=env(portable),
        capture_output=True,
        text=True,
    )
    assert probe.stdout.split("\n")[:2] == ["False", "no libc"]
    ok(portable, "cloud", "start")
    runtime = ok(portable, "cloud", "status", "--json").json()["runtime"]
    assert runtime["worker_start"] == "spawn" and runtime["die_with_parent"] == "reaper"
    assert runtime["cores"] == 2 and runtime["memory_limits"] is True


def test_ddb(portable):
    ok(portable, "ddb", "up")
    ok(portable, "ddb", "write", "100", "--seed", "3")
    found = ok(portable, "ddb", "search", "--under-age", "10", "--json").json()
    assert found and all(item["age"] <= 10 for item in found)


def test_haiku_api(portable):
    api = ok(portable, "haiku", "up", "--json").json()["api_endpoint"]
    status, created = http(
        "POST", api + "haiku", {"username": "芭蕉", "first": "古池や", "second": "蛙飛び込む", "third": "水の音"}
    )
    assert status == 201
    status, items = http("GET", api + "haiku")
    assert status == 200 and [i["item_id"] for i in items] == [created["item_id"]]  # type: ignore[index]


def test_ec2_ssh(portable):
    ok(portable, "keypair", "create", "HirakeGoma")
    ok(portable, "ec2", "up", "--yes")
    uname = ok(portable, "ec2", "ssh", "--", "uname", "-a")
    assert uname.out.startswith(os.uname().sysname)


def test_batch_job(portable):
    ok(portable, "batch", "up")
    swept = ok(portable, "batch", "sweep", "--lr", "0.1", "--momentum", "0.5", "--epochs", "1", "--json").json()
    assert [j["status"] for j in swept["jobs"]] == ["SUCCEEDED"]
    assert ok(portable, "batch", "results", swept["sweep_id"], "--json").json()["points"][0]["epochs_run"] == 1


def test_qa_task(portable, tmp_path_factory):
    model = build_tiny_model(tmp_path_factory.mktemp("portable-qa-model"))  # test_qa's own stays qa-model0
    ok(portable, "qa", "up", "--model", str(model))
    asked = ok(portable, "qa", "ask", CONTEXT, QUESTION, "--json").json()
    assert asked["status"] == "answered" and CONTEXT[asked["start"] : asked["end"]] == asked["answer"]


def test_stop_and_start_keep_the_data(portable):
    before = ok(portable, "ddb", "scan", "--json").json()
    ok(portable, "cloud", "stop")
    assert run(portable, "cloud", "status", "--json").json()["running"] is False
    ok(portable, "cloud", "start")
    assert ok(portable, "ddb", "scan", "--json").json() == before


def test_a_killed_daemon_is_stale_and_takes_its_workloads_along(portable):
    ok(portable, "lambda", "up")
    ok(portable, "lambda", "invoke")  # a Lambda worker is a child now
    sleeper = run_sleeper_task(portable)  # and a task that would run for two minutes
    status = ok(portable, "cloud", "status", "--json").json()
    children = [
        p for p in psutil.Process(status["pid"]).children(recursive=True) if "sshd" not in " ".join(p.cmdline())
    ]
    commands = [" ".join(p.cmdline()) for p in children]
    assert any("lambda_worker" in c for c in commands) and any(sleeper in c for c in commands)
    os.kill(status["pid"], signal.SIGKILL)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], [" ".join(p.cmdline()) for p in alive]
    stale = run(portable, "cloud", "status", "--json").json()
    assert stale["running"] is False and stale["pid"] is None
    assert ok(portable, "ddb", "search", "--under-age", "10", "--json").json()  # it comes back on demand


def run_sleeper_task(home: Path) -> str:
    """Start an ECS task that sleeps (a plain process, not a worker that notices the daemon go)."""
    marker = "introaws-portable-sleeper"
    stack = ok(home, "qa", "status", "--json").json()["outputs"]
    ecs = target_for(home).client("ecs")
    definition = ecs.register_task_definition(
        family="sleeper",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "qa",
                "image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/introaws-qa",
                "memory": 512,
                "entryPoint": ["python", "-c", "import time; time.sleep(120)", marker],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(cluster=stack["ClusterName"], taskDefinition=definition, launchType="FARGATE")["tasks"][0][
        "taskArn"
    ]
    deadline = time.monotonic() + 60
    while ecs.describe_tasks(cluster=stack["ClusterName"], tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline, "the sleeper never ran"
        time.sleep(0.1)
    return marker
