"""The write-ahead journal: every state-changing request, in the order moto applied it.

Each line is flushed to the OS before the response leaves, so a ``kill -9`` of the daemon
loses at most the request in flight; a torn last line is ignored on replay. Replay reseeds
moto's random generator with each entry's sequence number, exactly as the live request did,
so generated names and ids (stack resources, table names) come back identical.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from introaws.localcloud.requests import Recorded


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self.next_seq = 1
        self.appended = 0  # entries written since the daemon started

    def entries(self) -> Iterator[Recorded]:
        """Complete entries in order; stops at the first torn or corrupt line."""
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as handle:
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
