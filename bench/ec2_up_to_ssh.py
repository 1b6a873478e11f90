"""How long from ``introaws ec2 up`` to the first successful SSH command, on the local cloud.

Runs the real CLI in a private INTROAWS_HOME (its own local cloud): key pair, ``ec2 up --yes``,
then ``ec2 ssh -- true``; ``down`` and ``cloud stop`` afterwards. The first round synthesizes the
template (Node + CDK); later rounds hit the template cache. Prints JSON.

    python bench/ec2_up_to_ssh.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="introaws-bench-ec2-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_"))}
        env.update(INTROAWS_HOME=home, INTROAWS_SSH_DIR=f"{home}/ssh", PYTHONPATH=str(ROOT / "src"))

        def cli(*words: str) -> float:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "introaws", *words],
                env=env,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            return time.perf_counter() - started

        cli("cloud", "start")
        cli("keypair", "create", "Bench")
        rounds = []
        try:
            for n in range(args.rounds):
                up = cli("ec2", "up", "--yes")
                ssh = cli("ec2", "ssh", "--", "true")
                down = cli("ec2", "down", "--yes")
                rounds.append(
                    {
                        "round": n + 1,
                        "up_s": round(up, 2),
                        "first_ssh_s": round(ssh, 2),
                        "up_to_ssh_s": round(up + ssh, 2),
                        "down_s": round(down, 2),
                    }
                )
        finally:
            cli("cloud", "stop")
    warm = [r["up_to_ssh_s"] for r in rounds[1:]]
    print(
        json.dumps(
            {
                "benchmark": "ec2 up -> first successful ssh command (local cloud)",
                "rounds": rounds,
                "first_up_to_ssh_s": rounds[0]["up_to_ssh_s"] if rounds else None,
                "cached_up_to_ssh_s_median": sorted(warm)[len(warm) // 2] if warm else None,
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
