"""``INTROAWS_IAM``: how the daemon treats workloads' requests that their roles do not allow.

``enforce`` (the default) refuses them as AWS does; ``soft`` logs each denial and lets the
request through; ``off`` does not evaluate them. Callers are authenticated in every mode. The
daemon reads it when it starts (the environment of the command that started it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

VARIABLE = "INTROAWS_IAM"
MODES = ("enforce", "soft", "off")
Mode = Literal["enforce", "soft", "off"]


class BadMode(ValueError):
    pass


def mode_from(environ: Mapping[str, str]) -> Mode:
    """The mode ``INTROAWS_IAM`` names (``enforce`` when unset); :class:`BadMode` otherwise."""
    value = environ.get(VARIABLE, "").strip().lower() or "enforce"
    if value not in MODES:
        raise BadMode(f"{VARIABLE}={value!r} is not a mode: use enforce (the default), soft or off")
    return value  # type: ignore[return-value]
