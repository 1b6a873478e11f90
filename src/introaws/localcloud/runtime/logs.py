"""The one log shipper: workload output to CloudWatch Logs, in batches, off the workload's path.

Every line becomes one log event of its stream, stamped when it was read. A background thread
sends what is pending once a second (an invocation or a task never waits on a
``PutLogEvents``); :meth:`LogShipper.flush` sends a stream's events at once, so a task's or
job's output is all in CloudWatch before it is reported as ended. Sends are serialized, so a
stream's events arrive in the order they were read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from introaws.localcloud.runtime.inprocess import InProcessClients

FLUSH_INTERVAL_S = 1.0
BATCH_EVENTS = 10_000  # PutLogEvents' limit per call
log = logging.getLogger("introaws.localcloud")


class LogGroupMissing(Exception):
    """The destination's log group does not exist (and is not to be created)."""


@dataclass(frozen=True)
class LogDestination:
    region: str
    group: str
    stream: str
    create_group: bool = True  # Lambda and Batch create their group; an ECS task needs it to exist


class LogShipper:
    def __init__(self, clients: InProcessClients) -> None:
        self._clients = clients
        self._pending: dict[LogDestination, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()  # guards _pending
        self._sending = threading.Lock()  # one send at a time: events stay in order
        self._known: set[LogDestination] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="log-shipper")
        self._thread.start()

    def open(self, destination: LogDestination) -> None:
        """Create the destination's stream (and group when asked) now; raises
        :class:`LogGroupMissing` when the group does not exist and is not to be created."""
        with self._sending:
            self._ensure(destination)

    def put(self, destination: LogDestination, text: str) -> None:
        """Queue ``text``'s non-empty lines as events."""
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in text.splitlines() if line.strip()]
        if events:
            with self._lock:
                self._pending[destination].extend(events)

    def flush(self, destination: LogDestination | None = None) -> None:
        """Send what is pending (for one destination, or all) and return when it is sent."""
        with self._sending:
            with self._lock:
                if destination is None:
                    batches, self._pending = self._pending, defaultdict(list)
                else:
                    events = self._pending.pop(destination, [])
                    batches = {destination: events} if events else {}
            for each, events in batches.items():
                try:
                    self._send(each, events)
                except Exception:  # logs are best effort; the daemon log keeps the reason
                    log.exception("shipping logs to %s %s failed", each.group, each.stream)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL_S):
            self.flush()

    def _send(self, destination: LogDestination, events: list[dict[str, Any]]) -> None:
        logs = self._clients.client("logs", destination.region)
        for start in range(0, len(events), BATCH_EVENTS):
            batch = events[start : start + BATCH_EVENTS]
            self._ensure(destination)
            try:
                logs.put_log_events(logGroupName=destination.group, logStreamName=destination.stream, logEvents=batch)
            except logs.exceptions.ResourceNotFoundException:  # deleted meanwhile (a stack went): make it again
                self._known.discard(destination)
                self._ensure(destination)
                logs.put_log_events(logGroupName=destination.group, logStreamName=destination.stream, logEvents=batch)

    def _ensure(self, destination: LogDestination) -> None:
        if destination in self._known:
            return
        logs = self._clients.client("logs", destination.region)
        if destination.create_group:
            try:
                logs.create_log_group(logGroupName=destination.group)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
        try:
            logs.create_log_stream(logGroupName=destination.group, logStreamName=destination.stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        except logs.exceptions.ResourceNotFoundException as exc:
            raise LogGroupMissing(destination.group) from exc
        self._known.add(destination)
