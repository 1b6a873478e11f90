"""Sweep makespan on the local cloud, jobs started cold and warm, and the payload's time per
epoch. Prints JSON.

    python bench/batch_sweep.py [--lr 0.1,0.01] [--momentum 0.5,0.1] [--epochs 2]
        [--data-dir src/introaws/data/mnist-sample] [--cores N] [--vcpus 1]
        [--epoch-data-dir DIR_WITH_FULL_MNIST] [--out bench/out/batch_sweep.json]

The same sweep runs twice in one invocation, each on a private local cloud (a temporary
INTROAWS_HOME) that deploys SimpleBatch and runs it through the real CLI: once with jobs started
cold (``INTROAWS_BATCH_WORKER=cold``: a new Python that imports torch per job) and once warm
(forked, or handed to a spare, from a worker that imported the payload). ``warm_vs_cold`` is
how much shorter the warm makespan is. The ideal makespan is the jobs' total CPU time (each job
process's user+system time, from its summary; a warm job's excludes the imports its worker did)
divided by the cores the local cloud may use; efficiency = ideal / makespan.
``--epoch-data-dir`` also times one training epoch in-process on that data with 1 thread and
with every core.
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
sys.path.insert(0, str(ROOT / "src"))

from introaws import platform  # noqa: E402  (after the path above)


def cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "introaws", *args], env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"introaws {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def sweep(args: argparse.Namespace, cores: int, start: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="introaws-bench-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_"))}
        env.update(
            INTROAWS_HOME=str(home),
            INTROAWS_LOCAL_CORES=str(cores),
            INTROAWS_BATCH_WORKER=start,
            MNIST_DATA_DIR=str(args.data_dir),
            PYTHONPATH=str(ROOT / "src"),
            NO_COLOR="1",
        )
        try:
            cli(home, env, "batch", "up")
            started = time.time()
            done = cli(
                home,
                env,
                "batch",
                "sweep",
                "--lr",
                args.lr,
                "--momentum",
                args.momentum,
                "--epochs",
                str(args.epochs),
                "--vcpus",
                str(args.vcpus),
                "--json",
            )
            wall = time.time() - started
            submitted = json.loads(done.stdout)
            os.environ["INTROAWS_HOME"] = str(home)
            from introaws.target import resolve
            from introaws.workflows import batch

            target = resolve("local")
            states = batch.job_states(target, [j["job_id"] for j in submitted["jobs"]])
            bucket = batch.Stack.of(target).bucket
            s3 = target.client("s3")
            jobs = []
            for job in submitted["jobs"]:
                state = states[job["job_id"]]
                summary = _summary(s3, bucket, submitted["sweep_id"], job["lr"], job["momentum"])
                epochs = summary.get("epochs", []) if summary else []
                jobs.append(
                    {
                        "name": job["name"],
                        "status": state["status"],
                        "wall_s": round((state["stoppedAt"] - state["startedAt"]) / 1000, 2),
                        "queued_s": round((state["startedAt"] - state["createdAt"]) / 1000, 2),
                        "cpu_s": round(summary["cpu_seconds"], 2) if summary else None,
                        "train_wall_s": round(summary["wall_seconds"], 2) if summary else None,
                        "epoch_s": round(sum(e["seconds"] for e in epochs) / len(epochs), 3) if epochs else None,
                    }
                )
            first = min(s["createdAt"] for s in states.values())
            last = max(s["stoppedAt"] for s in states.values())
            makespan = (last - first) / 1000
            cpu_total = sum(j["cpu_s"] or 0 for j in jobs)
            ideal = cpu_total / cores
            packed = sum(j["wall_s"] for j in jobs) / min(cores, len(jobs))
            return {
                "start": start,
                "jobs": len(jobs),
                "epochs": args.epochs,
                "cores": cores,
                "vcpus_per_job": args.vcpus,
                "data_dir": str(args.data_dir),
                "makespan_s": round(makespan, 2),
                "ideal_s": round(ideal, 2),
                "efficiency": round(ideal / makespan, 3) if makespan else None,
                # The scheduler alone: job wall times packed perfectly onto the cores vs the makespan
                # (1.0 = no core ever idle while a job waited). Differs from efficiency when other
                # processes on the machine take CPU from the jobs.
                "packing": round(packed / makespan, 3) if makespan else None,
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "cli_wall_s": round(wall, 2),
                "total_job_cpu_s": round(cpu_total, 2),
                "mean_epoch_s_in_jobs": round(sum(j["epoch_s"] or 0 for j in jobs) / len(jobs), 3),
                "per_job": jobs,
            }
        finally:
            cli(home, env, "cloud", "stop")


def _summary(s3: object, bucket: str, sweep_id: str, lr: float, momentum: float) -> dict | None:
    from introaws.tasks.mnist.__main__ import summary_name

    try:
        body = s3.get_object(Bucket=bucket, Key=f"{sweep_id}/{summary_name(lr, momentum)}")["Body"].read()  # type: ignore[attr-defined]
    except Exception:
        return None
    return json.loads(body)


def epoch_times(data_dir: Path, cores: int) -> dict[str, object]:
    from introaws.tasks.mnist import data, train

    mnist = data.load(data_dir)
    timings = {}
    for threads in sorted({1, cores}):
        result = train.train(mnist, train.Config(lr=0.01, momentum=0.5, epochs=1), device="cpu", threads=threads)
        timings[f"{threads}_threads"] = {
            "epoch_s": round(result.epochs[0].seconds, 2),
            "val_accuracy": round(result.epochs[0].val_accuracy, 2),
            "test_accuracy": round(result.test_accuracy, 2),
        }
    return {"data_dir": str(data_dir), "train_images": int(len(mnist.train_images)), **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", default="0.1,0.01")
    parser.add_argument("--momentum", default="0.5,0.1")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--vcpus", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "src" / "introaws" / "data" / "mnist-sample")
    parser.add_argument("--cores", type=int, default=platform.cpu_count())
    parser.add_argument("--epoch-data-dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine_cores": platform.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    cold, warm = sweep(args, args.cores, "cold"), sweep(args, args.cores, "warm")
    report.update(
        cold_makespan_s=cold["makespan_s"],
        warm_makespan_s=warm["makespan_s"],
        warm_vs_cold=f"{1 - float(warm['makespan_s']) / float(cold['makespan_s']):.0%} shorter",  # type: ignore[arg-type]
        cold=cold,
        warm=warm,
    )
    if args.epoch_data_dir:
        report["epoch"] = epoch_times(args.epoch_data_dir, args.cores)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
