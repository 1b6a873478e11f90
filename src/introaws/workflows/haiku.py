"""Bashoutter (textbook ch. 13): deploy, then use the haiku REST API over plain HTTP.

Every command goes through the deployed API exactly as the textbook's client and web page
do, so the same code works against AWS and the local cloud; only the base URL differs
(on the local cloud, stack outputs name AWS hosts and are mapped to the daemon's own URLs).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from introaws.errors import Conflict, IntroawsError, NotFound, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.workflows import httpjson, lifecycle

NAME = "haiku"


@dataclass(frozen=True)
class Endpoints:
    api: str  # base URL; clients append "haiku"
    website: str


def web_dir() -> Path:
    return Path(str(resources.files("introaws") / "web" / "haiku"))


def up(target: Target, *, dry_run: bool = False, report: Reporter = silent) -> tuple[Any, Endpoints | None]:
    """Deploy the stack, then upload the page with the API endpoint filled in."""
    if not dry_run:
        target.kind.check_account(check_public_website_allowed, report)
    result = lifecycle.up(target, NAME, dry_run=dry_run, report=report)
    if dry_run:
        return result, None
    urls = endpoints(target)
    report(Event("step", _("uploading the web page")))
    from introaws.deploy.assets import upload_directory

    config = json.dumps({"apiEndpoint": urls.api}).encode()
    upload_directory(target, result.outputs["BucketName"], web_dir(), {"config.json": config})
    return result, urls


# The account-level S3 Block Public Access settings that keep the page's bucket from being public:
# the first rejects its public-read policy, the second ignores it.
_BLOCKING = ("BlockPublicPolicy", "RestrictPublicBuckets")


def check_public_website_allowed(target: Target, report: Reporter = silent) -> None:
    """Refuse before deploying when the account's S3 Block Public Access would reject (or
    silence) the website bucket's public-read policy: the stack would fail half-way or serve
    403s. Many accounts, and every new one made by an organization, have it on."""
    from botocore.exceptions import BotoCoreError

    control = target.client("s3control", optional=True)
    try:
        config = control.get_public_access_block(AccountId=target.account_id)["PublicAccessBlockConfiguration"]
    except control.exceptions.NoSuchPublicAccessBlockConfiguration:
        return
    except (control.exceptions.ClientError, BotoCoreError) as exc:  # no permission, or no answer
        code = exc.response["Error"].get("Code") if hasattr(exc, "response") else type(exc).__name__
        report(
            Event(
                "warning",
                _(
                    "could not read the account's S3 Block Public Access ({code}); if the website bucket's "
                    "policy is refused, that setting is why"
                ).format(code=code),
            )
        )
        return
    blocking = [name for name in _BLOCKING if config.get(name)]
    if blocking:
        settings = ",".join(
            f"{name}={'false' if name in _BLOCKING else str(bool(config.get(name))).lower()}"
            for name in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        )
        raise Conflict(
            _(
                "your account's S3 Block Public Access ({settings}) keeps Bashoutter's web page bucket from "
                "being public; nothing was deployed"
            ).format(settings=" and ".join(blocking)),
            _(
                "turn those two settings off for the account (S3 console: 'Block Public Access settings "
                "for this account'; it lets any bucket of yours be made public by its own policy), e.g. "
                "'aws s3control put-public-access-block --account-id {account_id} "
                "--public-access-block-configuration {settings}', then run 'introaws haiku up' again"
            ).format(account_id=target.account_id, settings=settings),
        )


def endpoints(target: Target) -> Endpoints:
    outputs = lifecycle.deployed(target, NAME).outputs
    api, website = outputs.get("ApiEndpoint"), outputs.get("WebsiteUrl")
    if not api or not website:
        raise NotFound(
            _("the Bashoutter stack lacks its ApiEndpoint/WebsiteUrl outputs"), _("redeploy with 'introaws haiku up'")
        )
    return Endpoints(api, website)  # on the local cloud, its own URLs: it answers them in outputs


# The API's functions, by the first word of their logical ids in the stack (stacks/haiku.py).
FUNCTIONS = {"get": "GetHaiku", "post": "PostHaiku", "patch": "PatchHaiku", "delete": "DeleteHaiku"}


def logs(target: Target, which: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """The API's function logs, oldest first (the last ``limit`` lines when given), each line
    marked with its function (``[post] …``); ``which`` is one of :data:`FUNCTIONS`' keys."""
    from introaws.workflows import lambda_

    if which is not None and which not in FUNCTIONS:
        raise UsageError(
            _("no haiku function '{which}'").format(which=which),
            _("use one of {names}").format(names=", ".join(FUNCTIONS)),
        )
    info = lifecycle.deployed(target, NAME)
    resources = target.client("cloudformation").describe_stack_resources(StackName=info.stack_id or info.name)
    names = {
        key: r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["ResourceType"] == "AWS::Lambda::Function"
        for key, prefix in FUNCTIONS.items()
        if r["LogicalResourceId"].startswith(prefix) and (which is None or key == which)
    }
    events = sorted(
        (
            (e["timestamp"], f"[{key}] {e['message'].rstrip()}")
            for key, name in names.items()
            for e in lambda_.function_log_events(target, name)
        ),
        key=lambda e: e[0],
    )
    lines = [line for _, line in events]
    return {"functions": names, "lines": lines[-limit:] if limit else lines}


def _client(target: Target) -> httpjson.Client:
    return httpjson.Client(endpoints(target).api)


def post(target: Target, username: str, first: str, second: str, third: str) -> dict[str, Any]:
    body = {"username": username, "first": first, "second": second, "third": third}
    return _expect(_client(target).call("POST", "haiku", body), 201)


def list_(target: Target) -> list[dict[str, Any]]:
    return _expect(_client(target).call("GET", "haiku"), 200)


def like(target: Target, item_id: str) -> dict[str, Any]:
    return _expect(_client(target).call("PATCH", f"haiku/{item_id}"), 200)


def delete(target: Target, item_id: str) -> None:
    _expect(_client(target).call("DELETE", f"haiku/{item_id}"), 204)


def clear(target: Target, concurrency: int = 8, report: Reporter = silent) -> int:
    """Delete every haiku through the API; returns how many were deleted."""
    client = _client(target)
    items = _expect(client.call("GET", "haiku"), 200)
    done = 0
    lock = threading.Lock()

    def remove(item: dict[str, Any]) -> None:
        nonlocal done
        reply = client.call("DELETE", f"haiku/{item['item_id']}")
        if reply.status not in (204, 404):  # 404: someone else deleted it meanwhile
            _expect(reply, 204)
        with lock:
            done += 1
            report(
                Event(
                    "progress",
                    f"{done}/{len(items)}",
                    {"done": done, "total": len(items)},
                )
            )

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(remove, items))
    return len(items)


@dataclass
class FloodResult:
    requests: int
    concurrency: int
    succeeded: int
    errors: int
    seconds: float
    requests_per_s: float
    latency_ms: dict[str, float]
    status_counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def flood(target: Target, count: int, concurrency: int = 16, report: Reporter = silent) -> FloodResult:
    """POST ``count`` haiku with ``concurrency`` clients; throughput and latency percentiles."""
    if count < 1 or concurrency < 1:
        raise UsageError(
            _("flood needs a positive count and concurrency"), _("e.g. 'haiku flood 300 --concurrency 16'")
        )
    return measure(
        _client(target),
        "POST",
        "haiku",
        count,
        concurrency,
        report=report,
        body=lambda n: {"username": "flood", "first": f"flood {n}", "second": "load test", "third": "haiku"},
    )


def measure(
    client: httpjson.Client,
    method: str,
    path: str,
    count: int,
    concurrency: int,
    *,
    body: Any = None,
    report: Reporter = silent,
) -> FloodResult:
    """Send ``count`` requests from ``concurrency`` threads; shared by ``flood`` and the bench."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(count))

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            try:
                status = str(client.call(method, path, body(n) if callable(body) else body).status)
            except OSError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                report(
                    Event(
                        "progress",
                        f"{len(latencies)}/{count}",
                        {"done": len(latencies), "total": count},
                    )
                )

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _i in range(min(concurrency, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ok = sum(v for k, v in statuses.items() if k.isdigit() and int(k) < 400)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

    return FloodResult(
        requests=count,
        concurrency=concurrency,
        succeeded=ok,
        errors=count - ok,
        seconds=round(seconds, 3),
        requests_per_s=round(count / seconds, 1),
        latency_ms={
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2),
        },
        status_counts=statuses,
    )


def _expect(reply: httpjson.Response, status: int) -> Any:
    if reply.status == status:
        return reply.json()
    description = ""
    try:
        data = reply.json()
        description = data.get("description") or data.get("message") or ""
    except (ValueError, AttributeError):
        pass
    # The API's own words (English, as AWS's are) after a lead-in in the reader's language.
    message = _("the haiku API answered {status}: {detail}").format(
        status=reply.status, detail=description or reply.text[:200]
    )
    if reply.status == 404:
        raise NotFound(message, _("list the ids with 'introaws haiku list'"))
    if reply.status == 400:
        raise UsageError(message, _("fix the input and try again"))
    raise IntroawsError(message, _("see the functions' logs: introaws haiku logs --lines 20"))
