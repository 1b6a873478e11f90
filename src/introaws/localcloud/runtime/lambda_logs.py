"""Ship Lambda output to CloudWatch Logs in batches, off the invocation's path.

Each line becomes one log event in ``/aws/lambda/<function>`` under the worker's stream, as
on AWS. A background thread flushes once a second, so an invocation never waits on a
``PutLogEvents`` round trip through the local cloud.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

FLUSH_INTERVAL_S = 1.0


class LogShipper:
    def __init__(self, endpoint: str, credentials: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self._pending: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._known: set[tuple[str, str, str]] = set()
        self._clients: dict[str, Any] = {}
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
                import logging

                logging.getLogger("introaws.localcloud").exception("shipping Lambda logs failed")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL_S):
            self.flush()

    def _send(self, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        logs = self._client(region)
        if (region, group, stream) not in self._known:
            for call, kwargs in ((logs.create_log_group, {"logGroupName": group}),
                                 (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream})):
                try:
                    call(**kwargs)
                except logs.exceptions.ResourceAlreadyExistsException:
                    pass
            self._known.add((region, group, stream))
        for start in range(0, len(events), 10_000):
            logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=events[start:start + 10_000])

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            import boto3

            self._clients[region] = boto3.client(
                "logs", region_name=region, endpoint_url=self.endpoint,
                aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[region]
