"""What the hands-ons cost per hour in the region they run in, so nobody is surprised by a bill.

On AWS each rate comes from the Pricing API (cached for a week, see :mod:`.api`); when that
cannot answer, or ``INTROAWS_PRICES=table``, from the built-in table (:mod:`.table`), which
knows the course's region (ap-northeast-1) and us-east-1. A rate neither knows is ``None``:
callers say the price is unknown rather than guess. Estimates in USD, not a bill.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from introaws.pricing import api, table
from introaws.stacks import DNN_ROOT_VOLUME_GIB
from introaws.target import Target

# Hands-ons that keep an instance (with its root volume and public IPv4 address) while deployed;
# the others cost per request or per run and nothing while idle.
ROOT_VOLUME_GIB = {"ec2": 8, "dnn": DNN_ROOT_VOLUME_GIB}  # ec2: Amazon Linux 2023's own size
PER_USE = {"ddb", "s3", "lambda", "haiku", "qa", "batch"}
# Sessions whose Pricing API did not answer: one wait per run is enough.
_UNANSWERED: weakref.WeakSet[Any] = weakref.WeakSet()


def rate(target: Target, key: str) -> float | None:
    """One rate (``ec2:<type>``, ``fargate:vcpu-hour``, … see ``table.UNITS``) in the target's region."""
    if not target.kind.bills or os.environ.get("INTROAWS_PRICES") == "table":
        return table.rate(target.region, key)
    found = api.cached(target.region, key)
    if found is None and target.session not in _UNANSWERED:
        try:
            found = api.fetch(target, key)
        except Exception:  # no permission, no network, an answer of another shape: use the table
            _UNANSWERED.add(target.session)  # and do not wait for it again in this run
        if found is not None:
            api.remember(target.region, key, found)
    return found if found is not None else table.rate(target.region, key)


def ec2_hourly(target: Target, instance_type: str) -> float | None:
    return rate(target, f"ec2:{instance_type}")


def fargate_hourly(target: Target, vcpus: float, memory_gib: float) -> float | None:
    """A running Fargate task of that size, per hour."""
    cpu, memory = rate(target, "fargate:vcpu-hour"), rate(target, "fargate:gb-hour")
    return None if cpu is None or memory is None else vcpus * cpu + memory_gib * memory


def idle_hourly(target: Target, hands_on: str, instance_type: str | None = None) -> float | None:
    """What a deployed hands-on costs per hour while nobody uses it: for ``ec2`` and ``dnn``
    the running instance of ``instance_type``, its root volume and its public IPv4 address."""
    if hands_on in PER_USE:
        return 0.0
    if hands_on not in ROOT_VOLUME_GIB or not instance_type:
        return None
    parts = (
        ec2_hourly(target, instance_type),
        rate(target, "ebs:gp3-gb-month"),
        rate(target, "ipv4:hour"),
    )
    if any(part is None for part in parts):
        return None
    instance, volume, address = (float(p or 0) for p in parts)
    return instance + ROOT_VOLUME_GIB[hands_on] * volume / api.HOURS_PER_MONTH + address
