"""The write-ahead journal: every state-changing request, in the order moto applied it.

Each line is flushed to the OS before the response leaves, so a ``kill -9`` of the daemon
loses at most the request in flight; a torn last line is ignored on replay. Replay reseeds
moto's random generator with each entry's sequence number, exactly as the live request did,
so generated names and ids (stack resources, table names) come back identical.

The first line is a header naming the journal format and the moto version that applied the
entries. Replay is only faithful on the same moto (its ids, defaults and gaps differ between
versions), so a journal from another moto or format is refused, never replayed half-right.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from introaws import __version__
from introaws.localcloud.requests import Recorded

FORMAT = 1  # raise it when an entry's meaning changes


def header() -> dict[str, Any]:
    """What this introaws writes as a journal's first line."""
    return {"journal_format": FORMAT, "moto": metadata.version("moto"), "introaws": __version__}


class JournalMismatch(Exception):
    """The journal was written by another moto or journal format; the message says what to do."""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self.next_seq = 1
        self.appended = 0  # entries written since the daemon started

    def check(self) -> None:
        """Raise :class:`JournalMismatch` when the header is not this one's: read before moto is
        imported, so a refused start takes a fraction of a second."""
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as handle:
            first = handle.readline()
        if first.endswith("\n"):
            _check_header(first)

    def entries(self) -> Iterator[Recorded]:
        """Complete entries in order; stops at the first torn or corrupt line. Raises
        :class:`JournalMismatch` before the first entry when the header is not this one's."""
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as handle:
            first = handle.readline()
            if not first.endswith("\n"):
                return  # empty, or only a torn header: nothing was journaled
            _check_header(first)
            for line in handle:
                if not line.endswith("\n"):
                    break
                try:
                    entry = Recorded.from_json(line)
                except ValueError:
                    break
                self.next_seq = entry.seq + 1
                yield entry

    def open_for_append(self) -> None:
        self._truncate_torn_tail()
        self._file = self.path.open("a", encoding="utf-8")
        if self._file.tell() == 0:
            self._file.write(json.dumps(header()) + "\n")
            self._file.flush()

    def append(self, entry: Recorded) -> None:
        assert self._file is not None, "open_for_append() first"
        with self._lock:
            self._file.write(entry.to_json() + "\n")
            self._file.flush()
            self.appended += 1

    def rewrite(self, entries: Iterable[Recorded]) -> None:
        """Replace the whole journal with ``entries``, atomically: a crash midway leaves the
        old journal in place."""
        staging = self.path.with_name(self.path.name + ".compacting")
        with staging.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(header()) + "\n")
            for entry in entries:
                handle.write(entry.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with self._lock:
            self.close()
            staging.replace(self.path)
            self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _truncate_torn_tail(self) -> None:
        """Drop a partly written last line so new entries start on a line of their own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with self.path.open("r+b") as handle:
                handle.truncate(cut)


def _check_header(line: str) -> None:
    try:
        found = json.loads(line)
    except ValueError:
        found = None
    if not isinstance(found, dict) or "journal_format" not in found:
        found = {"journal_format": 0}  # introaws wrote no header before format 1
    expected = header()
    if found.get("journal_format") == expected["journal_format"] and found.get("moto") == expected["moto"]:
        return
    writer = (
        f"introaws {found.get('introaws', '?')} with moto {found['moto']} (journal format {found['journal_format']})"
        if "moto" in found
        else "an introaws older than journal format 1"
    )
    raise JournalMismatch(
        f"the local cloud's state was written by {writer}, and this introaws {expected['introaws']} runs moto "
        f"{expected['moto']} (journal format {expected['journal_format']}); replaying it could rebuild it wrong. "
        f"Start empty with 'introaws cloud reset' (it deletes the local cloud's stacks and data), or go on with "
        f"the introaws that wrote it"
    )
