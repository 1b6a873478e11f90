"""The Lambda mini hands-on (textbook §12.1): invoke once, then many times asynchronously.

``invoke_many`` reads what happened from CloudWatch Logs, as on AWS: every invocation logs
``START``/``END`` lines with its request id, so completions and the peak number of
invocations running at once are counted from the logs (the console's graph lags minutes).
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from introaws.errors import IntroawsError, UsageError
from introaws.i18n import _
from introaws.progress import Event, Reporter, silent
from introaws.target import Target
from introaws.workflows import lifecycle

NAME = "lambda"
_LINE = re.compile(r"^(START|END) RequestId: ([0-9a-f-]+)")


def function_name(target: Target) -> str:
    return lifecycle.output(target, NAME, "FunctionName")


def invoke(target: Target) -> dict[str, Any]:
    """One synchronous invocation: what the function returned, and how long it took."""
    name = function_name(target)
    started = time.perf_counter()
    reply = target.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    seconds = time.perf_counter() - started
    payload = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        raise IntroawsError(
            _("the function failed: {message}").format(message=message),
            _("see its log: introaws lambda logs --lines 20"),
        )
    return {"function": name, "result": payload, "seconds": round(seconds, 3)}


@dataclass
class ManyResult:
    function: str
    submitted: int
    completed: int
    peak_concurrency: int
    seconds: float  # from the first submission to the last completion seen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def invoke_many(target: Target, count: int, *, wait_s: float = 120.0, report: Reporter = silent) -> ManyResult:
    """Fire ``count`` asynchronous invocations, then follow them in CloudWatch Logs."""
    if count < 1:
        raise UsageError(
            _("cannot invoke {count} times").format(count=count),
            _("give a positive number, e.g. 'lambda invoke-many 100'"),
        )
    name = function_name(target)
    client = target.client("lambda")
    started_ms = int(time.time() * 1000) - 1000

    def submit(_: int) -> str:
        reply = client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        return str(reply["ResponseMetadata"]["RequestId"])

    report(Event("step", _("submitting {count} asynchronous invocations to {name}").format(count=count, name=name)))
    with ThreadPoolExecutor(max_workers=16) as pool:
        request_ids = set(pool.map(submit, range(count)))
    report(Event("info", _("Submitted {count} tasks to Lambda!").format(count=count)))

    deadline = time.monotonic() + wait_s
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    while True:
        _read_log_lines(target, name, started_ms, request_ids, starts, ends)
        done = len(ends)
        report(
            Event(
                "progress", _("{done}/{count} completed").format(done=done, count=count), {"done": done, "total": count}
            )
        )
        if done >= count or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    return ManyResult(
        function=name,
        submitted=count,
        completed=len(ends),
        peak_concurrency=_peak(starts, ends),
        seconds=round(((max(ends.values()) if ends else started_ms) - started_ms) / 1000, 1),
    )


def logs(target: Target, function: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """A function's log lines, oldest first (the last ``limit`` when given); by default the
    hands-on's function. Lambda writes each worker's output to a stream of its own under
    ``/aws/lambda/<name>``; the lines of every stream are merged by time."""
    name = function or function_name(target)
    events = function_log_events(target, name)
    lines = [e["message"].rstrip("\n") for e in events]
    return {"function": name, "lines": lines[-limit:] if limit else lines}


def function_log_events(target: Target, name: str) -> list[dict[str, Any]]:
    """Every log event of function ``name`` (``timestamp``, ``message``), by time."""
    logs = target.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}"}
    events: list[dict[str, Any]] = []
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            break  # it has not run yet
        events.extend(page.get("events", []))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return sorted(events, key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))


def _read_log_lines(
    target: Target, name: str, since_ms: int, wanted: set[str], starts: dict[str, int], ends: dict[str, int]
) -> None:
    logs = target.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}", "startTime": since_ms}
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return  # no invocation has logged yet
        for event in page.get("events", []):
            match = _LINE.match(event["message"])
            if match and match.group(2) in wanted:
                (starts if match.group(1) == "START" else ends)[match.group(2)] = event["timestamp"]
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def _peak(starts: dict[str, int], ends: dict[str, int]) -> int:
    """The most invocations running at one moment, from their START and END times."""
    edges = sorted(
        [(t, 1) for r, t in starts.items() if r in ends] + [(t, -1) for r, t in ends.items() if r in starts],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _source, step in edges:
        running += step
        peak = max(peak, running)
    return peak
