"""Helpers shared by the benchmark scripts: run the real CLI in a private home, time it."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_"))}
    env.update(INTROAWS_HOME=str(home), PYTHONPATH=str(ROOT / "src"), NO_COLOR="1")
    env.update(extra)
    return env


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "introaws", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"introaws {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(samples), 4),
        "min_s": round(min(samples), 4),
        "max_s": round(max(samples), 4),
        "runs": len(samples),
    }


def new_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="introaws-bench-"))


def emit(result: dict) -> None:
    print(json.dumps(result, indent=2))
