"""The haiku API on the local cloud: POST and GET throughput/latency at 1, 8 and 32 clients,
beside the raw DynamoDB PutItem/Scan rate of the same local cloud (the ceiling), Lambda
warm vs cold invoke time, and what identity costs: POST/s at 8 clients with the local cloud's
IAM enforcement on and off (``INTROAWS_IAM``), side by side in one run. Prints JSON.

    python bench/haiku_api.py [--home DIR] [--posts 300] [--gets 60] [--iam-rounds 3] [--iam-only]

The IAM comparison restarts the daemon in each mode, alternately (enforce, off, enforce, …),
warms the workers, and measures; each POST's PutItem is signed by the POST function's role and,
with enforcement on, checked (signature and policy) before it reaches DynamoDB.

``--home`` reuses an INTROAWS_HOME (its template cache saves the synth); by default a fresh
temporary home is made and its local cloud is stopped at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
CLIENTS = (1, 8, 32)
POEM = {"username": "bench", "first": "古池や", "second": "蛙飛びこむ", "third": "水の音"}


def cli(home: Path, *args: str, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INTROAWS_"))}
    env.update(INTROAWS_HOME=str(home), PYTHONPATH=str(ROOT / "src"), NO_COLOR="1", **extra)
    proc = subprocess.run([sys.executable, "-m", "introaws", *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"introaws {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def rate(count: int, clients: int, action) -> dict[str, float]:
    """Run ``action(n)`` ``count`` times from ``clients`` threads: per second, latency and how
    many calls failed (``action`` returns False or raises)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    numbers = iter(range(count))

    def worker() -> None:
        nonlocal errors
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                ok = action(n) is not False
            except Exception:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if not ok:
                    errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": count,
        "per_s": round(count / seconds, 1),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "errors": errors,
    }


def raw_dynamodb(target, posts: int, scans: int) -> dict:
    """PutItem and Scan straight to the local cloud's DynamoDB: the ceiling for the API."""
    ddb = target.client("dynamodb")
    name = f"bench-raw-{uuid.uuid4().hex[:6]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
    )
    item = {k: {"S": v} for k, v in POEM.items()}

    def put(n: int) -> None:
        ddb.put_item(
            TableName=name,
            Item={
                **item,
                "item_id": {"S": uuid.uuid4().hex},
                "created_at": {"S": "2026-01-01T00:00:00+00:00"},
                "likes": {"N": "0"},
            },
        )

    puts = [rate(posts, clients, put) for clients in CLIENTS]
    filled = sum(p["requests"] for p in puts)
    if filled < 1000:
        rate(1000 - filled, 8, put)

    def scan_all(n: int) -> None:
        kwargs = {"TableName": name}
        while True:
            page = ddb.scan(**kwargs)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    count = ddb.scan(TableName=name, Select="COUNT")["Count"]
    result = {"put_item": puts, "scan_items": count, "scan": rate(scans, 1, scan_all)}
    ddb.delete_table(TableName=name)
    return result


def api(base: str, posts: int, gets: int, clear) -> dict:
    from introaws.workflows import httpjson

    client = httpjson.Client(base)

    def post(n: int) -> bool:
        return client.call("POST", "haiku", POEM).status == 201

    def get(n: int) -> bool:
        return client.call("GET", "haiku").status == 200

    clear()
    # Warm the workers first (up to 32 per function): cold starts are measured on their own.
    rate(max(CLIENTS), max(CLIENTS), post)
    post_rates = [rate(posts, clients, post) for clients in CLIENTS]
    filled = max(CLIENTS) + sum(p["requests"] for p in post_rates)
    if filled < 1000:
        rate(1000 - filled, 8, post)
    extra = len(client.call("GET", "haiku").json()) - 1000
    if extra > 0:  # GET is measured on exactly 1,000 items
        for item in client.call("GET", f"haiku?limit={extra}").json():
            client.call("DELETE", f"haiku/{item['item_id']}")
    items = len(client.call("GET", "haiku").json())
    rate(max(CLIENTS), max(CLIENTS), get)
    get_rates = [rate(gets, clients, get) for clients in CLIENTS]
    return {"workers_warmed_first": True, "post": post_rates, "get_items": items, "get": get_rates}


def iam_cost(home: Path, base: str, posts: int, rounds: int) -> dict:
    """POST/s at 8 clients with IAM enforcement on and off, measured alternately ``rounds``
    times each on a restarted daemon with warmed workers; the medians and their ratio."""
    from introaws.workflows import httpjson

    runs: dict[str, list[dict]] = {"enforce": [], "off": []}
    for _ in range(rounds):
        for mode in runs:
            cli(home, "cloud", "stop")
            cli(home, "cloud", "start", INTROAWS_IAM=mode)
            client = httpjson.Client(base)

            def post(n: int, client: httpjson.Client = client) -> bool:
                return client.call("POST", "haiku", POEM).status == 201

            rate(max(CLIENTS), max(CLIENTS), post)  # warm the workers
            runs[mode].append(rate(posts, 8, post))
    cli(home, "cloud", "stop")
    cli(home, "cloud", "start")  # back to the default (enforce)
    median = {mode: statistics.median(r["per_s"] for r in found) for mode, found in runs.items()}
    return {
        "clients": 8,
        "post_per_s_median": median,
        "enforce_vs_off": round(median["enforce"] / median["off"], 3),
        "errors": sum(r["errors"] for found in runs.values() for r in found),
        "runs": runs,
    }


def lambda_warm_cold(target, runs: int) -> dict:
    client = target.client("lambda")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import boto3\n\ndef handler(event, context):\n    return event\n")
    role = target.client("iam").create_role(RoleName=f"bench-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    name = f"bench-{uuid.uuid4().hex[:6]}"
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": buffer.getvalue()}
    )

    def timed_invoke() -> float:
        started = time.perf_counter()
        client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()
        return (time.perf_counter() - started) * 1000

    cold = []
    for run in range(runs):  # a configuration change retires the warm workers: next is cold
        client.update_function_configuration(FunctionName=name, Environment={"Variables": {"RUN": str(run)}})
        cold.append(timed_invoke())
    warm = [timed_invoke() for _ in range(runs * 4)]
    client.delete_function(FunctionName=name)
    return {
        "handler_imports": "boto3",
        "cold_ms_median": round(statistics.median(cold), 1),
        "warm_ms_median": round(statistics.median(warm), 1),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--gets", type=int, default=60)
    parser.add_argument("--iam-rounds", type=int, default=3, help="restarts per IAM mode (0: skip)")
    parser.add_argument("--iam-only", action="store_true", help="only the IAM enforcement comparison")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="introaws-bench-"))
    os.environ["INTROAWS_HOME"] = str(home)
    try:
        up = json.loads(cli(home, "haiku", "up", "--json"))
        from introaws.target import resolve

        result: dict = {"benchmark": "haiku_api_local", "cpus": os.cpu_count()}
        if not args.iam_only:
            target = resolve("local")
            result["raw_dynamodb"] = raw_dynamodb(target, args.posts, 10)
            result["api"] = api(up["api_endpoint"], args.posts, args.gets, lambda: cli(home, "haiku", "clear", "--yes"))
            result["lambda"] = lambda_warm_cold(target, 5)
            target.close()
        if args.iam_rounds:
            result["iam"] = iam_cost(home, up["api_endpoint"], args.posts, args.iam_rounds)
        cli(home, "haiku", "clear", "--yes")
        print(json.dumps(result, indent=2))
    finally:
        if args.home is None:
            cli(home, "cloud", "stop")


if __name__ == "__main__":
    main()
