"""The local cloud's numeric settings: environment variables its daemon reads when it starts.

The CLI checks them before it starts a daemon, so a mistyped value is one line that names the
variable and what to give, instead of a daemon that exits with a traceback in its log. Each
module that uses a setting still reads it itself (the daemon's environment is the CLI's). Like
the rest of the local cloud, it speaks English (docs/translating.md).
"""

from __future__ import annotations

from collections.abc import Mapping

# name -> (whole numbers only, an example value a user could give)
NUMBERS: dict[str, tuple[bool, str]] = {
    "INTROAWS_WORKER_IDLE_S": (False, "300"),
    "INTROAWS_TTL_MINUTE_S": (False, "60"),
    "INTROAWS_APIGW_TIMEOUT_S": (False, "29"),
    "INTROAWS_LAMBDA_CONCURRENCY": (True, "32"),
    "INTROAWS_COMPACT_AFTER": (True, "5000"),
    "INTROAWS_LOCAL_CORES": (True, "2"),
}


class BadSetting(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def check(environ: Mapping[str, str]) -> None:
    """Raise :class:`BadSetting` for the first setting that is not a number above 0."""
    for name, (whole, example) in NUMBERS.items():
        text = environ.get(name, "").strip()
        if not text:
            continue
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = 0
        if not value > 0:
            kind = "a whole number above 0" if whole else "a number of seconds above 0"
            raise BadSetting(
                f"{name}={text!r} is not {kind}", f"unset it for the default, or give one like {name}={example}"
            )
