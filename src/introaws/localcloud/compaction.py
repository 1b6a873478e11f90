"""Journal compaction: DynamoDB items and log events are kept as state, not as history.

Nearly all of a long journal is item writes (``haiku flood``, ``ddb write``, likes and
clears) and Lambda log batches, and replaying them made a restart take minutes. Compaction
drops those entries and appends requests that put back what exists now: ``BatchWriteItem``
per table, ``PutLogEvents`` per log stream. Every other entry keeps its place and its
sequence number (replay reseeds moto's random stream per entry, so generated names stay
identical). What this loses is history nothing in the local cloud reads: item state at an
earlier moment (no backups or point-in-time restore) and the ingestion times of log events.

The daemon compacts after a replay of a long journal and when it stops after a long run.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from introaws.localcloud import settings
from introaws.localcloud.adapt import LOCAL_ACCOUNT
from introaws.localcloud.requests import Recorded

if TYPE_CHECKING:
    from introaws.localcloud.front import Front

log = logging.getLogger("introaws.localcloud")

# Journal entries; shorter journals replay in a few seconds. The variable is for tests.
COMPACT_AFTER = settings.count("INTROAWS_COMPACT_AFTER")
_HISTORY = frozenset(
    {
        f"DynamoDB_20120810.{action}"
        for action in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
    }
    | {"Logs_20140328.PutLogEvents"}
)
_ITEMS_PER_BATCH = 25  # BatchWriteItem's limit
_EVENTS_PER_BATCH = 5_000  # PutLogEvents takes 10,000 events and 1 MB; Lambda lines are short


def compact(front: Front) -> tuple[int, int]:
    """Rewrite ``front``'s journal (under the moto lock: no request changes state meanwhile);
    returns how many entries it had before and after."""
    with front.moto_lock:
        before = 0
        kept: list[Recorded] = []
        for entry in front.journal.entries():
            before += 1
            if entry.headers.get("HTTP_X_AMZ_TARGET") not in _HISTORY:
                kept.append(entry)
        snapshot = [*_current_items(), *_current_log_events()]
        for request in snapshot:
            request.seq = front.journal.next_seq
            front.journal.next_seq += 1
        front.journal.rewrite(kept + snapshot)
    log.info("compacted the journal: %d entries to %d", before, len(kept) + len(snapshot))
    return before, len(kept) + len(snapshot)


def _current_items() -> Any:
    """``BatchWriteItem`` requests putting back every item of every table."""
    from moto.dynamodb.models import dynamodb_backends

    for region, backend in list(dynamodb_backends[LOCAL_ACCOUNT].items()):
        for name, table in list(backend.tables.items()):
            items = [item.to_json()["Attributes"] for item in table.all_items()]
            for start in range(0, len(items), _ITEMS_PER_BATCH):
                puts = [{"PutRequest": {"Item": item}} for item in items[start : start + _ITEMS_PER_BATCH]]
                yield Recorded.json_call(
                    "dynamodb",
                    region,
                    "DynamoDB_20120810.BatchWriteItem",
                    json.dumps({"RequestItems": {name: puts}}).encode(),
                )


def _current_log_events() -> Any:
    """``PutLogEvents`` requests putting back every event of every log stream."""
    from moto.logs.models import logs_backends

    for region, backend in list(logs_backends[LOCAL_ACCOUNT].items()):
        for group_name, group in list(backend.groups.items()):
            for stream_name, stream in list(group.streams.items()):
                events = [{"timestamp": e.timestamp, "message": e.message} for e in stream.events]
                for start in range(0, len(events), _EVENTS_PER_BATCH):
                    payload = {
                        "logGroupName": group_name,
                        "logStreamName": stream_name,
                        "logEvents": events[start : start + _EVENTS_PER_BATCH],
                    }
                    yield Recorded.json_call("logs", region, "Logs_20140328.PutLogEvents", json.dumps(payload).encode())
