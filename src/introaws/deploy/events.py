"""A stack's events since a point in its history, oldest first, across every page.

CloudFormation lists events newest first, a page at a time, and keeps every event of the
stack's life. A cursor remembers the newest event it has seen and reads back to it, so "the
events of this deploy" never depends on this machine's clock agreeing with AWS's, and a
failure long ago is never mistaken for this deploy's. Cursors follow a stack by its id, so a
deleted stack's last events still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from introaws.i18n import _
from introaws.progress import Event, Reporter

StackEvent = dict[str, Any]


@dataclass
class EventCursor:
    cfn: Any
    stack_id: str
    mark: str | None = None  # the newest event id already read
    seen: list[StackEvent] = field(default_factory=list)  # every event read since the start, oldest first

    @classmethod
    def from_now(cls, cfn: Any, stack_id: str) -> EventCursor:
        """A cursor that will read only the events that come after this moment."""
        newest = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
        return cls(cfn, stack_id, newest[0]["EventId"] if newest else None)

    def read(self) -> list[StackEvent]:
        """The events since the last read, oldest first."""
        fresh = list(self._newer_than_mark())
        fresh.reverse()
        if fresh:
            self.mark = fresh[-1]["EventId"]
            self.seen.extend(fresh)
        return fresh

    def _newer_than_mark(self) -> Iterator[StackEvent]:
        for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack_id):
            for event in page["StackEvents"]:
                if event["EventId"] == self.mark:
                    return
                yield event

    def first_failure(self) -> StackEvent | None:
        """The first event read that failed: the cause; what follows it is mostly cancellations."""
        return next((e for e in self.seen if e["ResourceStatus"].endswith("_FAILED")), None)

    def still_in_progress(self) -> list[StackEvent]:
        """Resources whose last event read says they are still being worked on."""
        latest: dict[str, StackEvent] = {}
        for event in self.seen:
            latest[event["LogicalResourceId"]] = event
        return [
            e
            for e in latest.values()
            if e["ResourceStatus"].endswith("_IN_PROGRESS") and e.get("ResourceType") != "AWS::CloudFormation::Stack"
        ]


def describe_event(event: StackEvent) -> str:
    """``Logical (Type): reason`` — how a failed resource is named to the user."""
    reason = event.get("ResourceStatusReason") or _("no reason given")
    return f"{event['LogicalResourceId']} ({event.get('ResourceType', '')}): {reason}"


def report_events(events: list[StackEvent], report: Reporter) -> None:
    for event in events:
        report(
            Event(
                "resource",
                f"{event['LogicalResourceId']} {event['ResourceStatus']}",
                {
                    "logical_id": event["LogicalResourceId"],
                    "type": event.get("ResourceType", ""),
                    "status": event["ResourceStatus"],
                    "reason": event.get("ResourceStatusReason") or "",
                },
            )
        )
