"""CLI start-up: `introaws --help` and `--version` beside a bare `python -c pass`, interleaved
run by run so the machine's load weighs on all three alike (JSON; medians and ratios)."""

from __future__ import annotations

import subprocess
import sys
import time

from _util import emit, env_for, new_home, summary, timed

RUNS = 15


def bare_python(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    env = env_for(new_home())
    samples: dict[str, list[float]] = {"python -c pass": [], "--help": [], "--version": []}
    for _ in range(RUNS):
        samples["python -c pass"].append(bare_python(env))
        samples["--help"].append(timed(["--help"], env))
        samples["--version"].append(timed(["--version"], env))
    medians = {name: summary(values) for name, values in samples.items()}
    bare = medians["python -c pass"]["median_s"]
    emit(
        {
            "benchmark": "startup",
            **medians,
            "help_over_bare_python": round(medians["--help"]["median_s"] / bare, 1),
            "version_over_bare_python": round(medians["--version"]["median_s"] / bare, 1),
        }
    )
