"""Ship Lambda output to CloudWatch Logs in batches, off the invocation's path.

Each line becomes one log event in ``/aws/lambda/<function>`` under the worker's stream, as
on AWS. A background thread flushes once a second, so an invocation never waits on a
``PutLogEvents``; the calls go to moto in-process (:meth:`RuntimeContext.call`), because at
hundreds of invocations a second, serializing the events with boto3 and sending them over HTTP
to the daemon itself cost the daemon more than the invocations did.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from introaws.localcloud.runtime import RuntimeContext

FLUSH_INTERVAL_S = 1.0
BATCH_EVENTS = 10_000  # PutLogEvents' limit per call
log = logging.getLogger("introaws.localcloud")


class LogShipper:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        self._pending: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._known: set[tuple[str, str, str]] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="lambda-logs")
        self._thread.start()

    def put(self, region: str, function: str, stream: str, text: str) -> None:
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in text.splitlines() if line.strip()]
        if events:
            with self._lock:
                self._pending[(region, f"/aws/lambda/{function}", stream)].extend(events)

    def flush(self) -> None:
        with self._lock:
            batches, self._pending = self._pending, defaultdict(list)
        for (region, group, stream), events in batches.items():
            try:
                self._send(region, group, stream, events)
            except Exception:  # logs are best effort; the daemon log keeps the reason
                log.exception("shipping Lambda logs failed")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL_S):
            self.flush()

    def _send(self, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        if (region, group, stream) not in self._known:
            self._logs(region, "CreateLogGroup", {"logGroupName": group}, exists_ok=True)
            self._logs(region, "CreateLogStream", {"logGroupName": group, "logStreamName": stream}, exists_ok=True)
            self._known.add((region, group, stream))
        for start in range(0, len(events), BATCH_EVENTS):
            self._logs(
                region,
                "PutLogEvents",
                {"logGroupName": group, "logStreamName": stream, "logEvents": events[start : start + BATCH_EVENTS]},
            )

    def _logs(self, region: str, action: str, payload: dict[str, Any], exists_ok: bool = False) -> None:
        reply = self.ctx.call("logs", region, f"Logs_20140328.{action}", payload)
        if reply.status < 400:
            return
        if exists_ok and b"ResourceAlreadyExistsException" in reply.body:
            return
        raise RuntimeError(f"{action} answered {reply.status}: {reply.body[:300]!r}")
