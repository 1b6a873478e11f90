"""Progress events: how workflows and the engine report without printing.

A workflow takes an optional ``report`` callable and calls it with :class:`Event`s; the CLI
renders them (rich), tests collect them, and ``--json`` runs may ignore them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str  # "step" | "resource" | "info" | "warning" | "progress"
    message: str
    data: dict[str, Any] = field(default_factory=dict)


Reporter = Callable[[Event], None]


def silent(event: Event) -> None:
    """The reporter used when the caller wants none."""
