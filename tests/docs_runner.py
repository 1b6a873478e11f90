"""The shell blocks of README.md and docs/*.md, run the way a reader runs them.

A page's ``sh`` blocks become one bash script, run in one session (``set -e``: the first
command that fails fails the page), so a variable or file one block makes is there in the next.
What the docs test must not or cannot run is marked in the page, where a reader sees it too:

* ``<!-- aws-only -->`` on the line before a fence: the whole block is for AWS.
* ``<!-- set-up -->`` before a fence: the set-up commands themselves, which CI runs
  (``.ci/run``, ``.github/workflows/ci.yml``); the docs test runs inside that set-up.
* ``<!-- maintainer -->`` before a fence: a maintainer's commands that change the repository
  (the translation catalog), not a reader's.
* a command line ending in a comment that starts ``# AWS only``: that command is for AWS.
* a command line ending in ``# until Ctrl-C``: it runs until it prints a URL, then gets
  SIGINT, as from a reader's Ctrl-C, and must end with status 0.
* a command line ending in ``# a shell``: an interactive session; it gets a terminal on
  which ``hostname`` and ``exit`` are typed.

Fences in another language (``text``, ``python``, ``yaml``…) are not run; a fence without a
language is refused by the test, so no block escapes by accident.

``python tests/docs_runner.py ctrl-c|shell COMMAND...`` is how the script runs the last two kinds.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = ("sh", "bash", "shell")
BLOCK_MARKERS = ("aws-only", "set-up", "maintainer")
AWS_ONLY_LINE = re.compile(r"\s#\s*AWS only\b")
CTRL_C_LINE = re.compile(r"\s#\s*until Ctrl-C\b")
SHELL_LINE = re.compile(r"\s#\s*a shell\b")
TYPED = b"hostname\nexit\n"  # what the reader types in an interactive session


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    marker: str | None
    text: str

    @property
    def runs(self) -> bool:
        return self.language in SHELL_LANGUAGES and self.marker is None


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, each with the marker on the line before it, if any."""
    from markdown_it import MarkdownIt

    found = []
    previous = None
    for token in MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8")):
        if token.type == "fence" and token.map:
            comment = previous.content.strip() if previous is not None and previous.type == "html_block" else ""
            marker = next((m for m in BLOCK_MARKERS if comment == f"<!-- {m} -->"), None)
            language = token.info.split()[0] if token.info.strip() else ""
            found.append(Block(page, token.map[0] + 1, language, marker, token.content))
        previous = token
    return found


def commands(text: str) -> list[str]:
    """A block's lines with backslash continuations joined, as the shell reads them."""
    joined: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        joined.append(pending + line)
        pending = ""
    return joined + ([pending] if pending else [])


def script(page: Path) -> str:
    """The bash script that runs ``page``'s runnable blocks in order."""
    helper = f"{sys.executable} {Path(__file__).resolve()}"
    lines = ["set -eo pipefail", "PS4='+ [${SECONDS}s] $ '", "set -x"]  # each command, with its start time
    for block in filter(lambda b: b.runs, blocks(page)):
        lines.append(f": '{page.name} line {block.line}'")
        for command in commands(block.text):
            if AWS_ONLY_LINE.search(command):
                continue
            if CTRL_C_LINE.search(command):
                command = f"{helper} ctrl-c {command}"
            elif SHELL_LINE.search(command):
                command = f"{helper} shell {command}"
            lines.append(command)
    return "\n".join(lines) + "\n"


def until_ctrl_c(argv: list[str], limit_s: float = 300) -> int:
    """Run ``argv`` until it prints a URL, then interrupt it as Ctrl-C does; its exit status."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + limit_s
    for line in process.stdout:
        sys.stdout.write(line)
        if "http://" in line or time.monotonic() > deadline:
            break
    time.sleep(1)  # the rest of what it prints with the URL
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    sys.stdout.write(rest)
    return process.returncode


def on_a_terminal(argv: list[str], limit_s: float = 120) -> int:
    """Run ``argv`` on a new pseudo-terminal, type :data:`TYPED` once the session has printed
    something (what is typed before the program puts the terminal in raw mode is flushed, as
    for a reader who types too soon), and show what it printed."""
    import pty
    import termios

    leader, follower = pty.openpty()
    termios.tcsetwinsize(follower, (24, 80))
    process = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    typed = False
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        readable, _, _ = select.select([leader], [], [], 1.0)
        if readable:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the terminal closed (Linux)
                break
            if not data:  # (macOS)
                break
            sys.stdout.buffer.write(data)
            if not typed:
                time.sleep(1)  # the rest of the greeting and the prompt
                os.write(leader, TYPED)
                typed = True
        elif process.poll() is not None:
            break
    os.close(leader)
    sys.stdout.flush()
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return 124


if __name__ == "__main__":
    mode, *argv = sys.argv[1:]
    sys.exit(until_ctrl_c(argv) if mode == "ctrl-c" else on_a_terminal(argv))
