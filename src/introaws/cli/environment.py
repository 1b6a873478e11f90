"""What one run of the CLI reads and writes: its streams and its environment variables.

``main(args, env)`` takes one of these (HTTPie's pattern), so the tests run the CLI in their
own process with captured streams and a chosen environment instead of starting Python for
every call. A real run uses the process's own streams and variables and changes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Environment:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    variables: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @property
    def debug_requested(self) -> bool:
        """``INTROAWS_DEBUG=1`` asks for tracebacks like ``--debug`` does."""
        return self.variables.get("INTROAWS_DEBUG") == "1"

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Make this environment the process's for the duration of one run, and put the
        previous one back afterwards (a no-op for the process's own environment)."""
        saved_streams = sys.stdin, sys.stdout, sys.stderr
        saved_variables = None if self.variables is os.environ else dict(os.environ)
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.stdout, self.stderr
        if saved_variables is not None:
            _replace(os.environ, self.variables)
        try:
            yield
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            if saved_variables is not None:
                _replace(os.environ, saved_variables)


def _replace(target: os._Environ[str], variables: Mapping[str, str]) -> None:
    for name in [name for name in target if name not in variables]:
        del target[name]
    target.update(variables)
