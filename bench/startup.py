"""CLI start-up: `introaws --help` and `--version`, median of several runs (JSON)."""

from __future__ import annotations

from _util import emit, env_for, new_home, summary, timed

RUNS = 10

if __name__ == "__main__":
    env = env_for(new_home())
    emit(
        {
            "benchmark": "startup",
            "help": summary([timed(["--help"], env) for _ in range(RUNS)]),
            "version": summary([timed(["--version"], env) for _ in range(RUNS)]),
        }
    )
