"""The local cloud's numeric settings: environment variables its daemon reads when it starts.

One place for their names, defaults and parsing. The CLI checks them before it starts a daemon,
so a mistyped value is one line that names the variable, instead of a daemon that exits with a
traceback in its log (the daemon refuses it the same way when started by hand). Like the rest
of the local cloud, it speaks English (docs/translating.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

N = TypeVar("N", int, float)

SECONDS: dict[str, float] = {
    "INTROAWS_WORKER_IDLE_S": 300.0,  # a warm or Lambda worker unused this long stops
    "INTROAWS_TTL_MINUTE_S": 60.0,  # one minute of an EC2 instance's time to live
    "INTROAWS_APIGW_TIMEOUT_S": 29.0,  # API Gateway's integration limit (then 504)
}
COUNTS: dict[str, int] = {
    "INTROAWS_LAMBDA_CONCURRENCY": 32,  # the account's concurrent executions
    "INTROAWS_COMPACT_AFTER": 5000,  # journal entries before a stop rewrites it as state
    "INTROAWS_LOCAL_CORES": 0,  # 0: every core this process may use
}


class BadSetting(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def seconds(name: str, environ: Mapping[str, str] | None = None) -> float:
    return _read(name, SECONDS[name], float, "a number of seconds above 0", environ)


def count(name: str, environ: Mapping[str, str] | None = None) -> int:
    return _read(name, COUNTS[name], int, "a whole number above 0", environ)


def check(environ: Mapping[str, str]) -> None:
    """Raise :class:`BadSetting` for the first setting that is set to anything but a number above 0."""
    for name in SECONDS:
        seconds(name, environ)
    for name in COUNTS:
        count(name, environ)


def _read(name: str, default: N, parse: type[N], kind: str, environ: Mapping[str, str] | None) -> N:
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        value = parse(text)
    except ValueError:
        value = parse(0)
    if not value > 0:
        shown = f" ({default:g})" if default else ""
        raise BadSetting(f"{name}={text!r} is not {kind}", f"unset it for the default{shown}, or give one")
    return value
