"""The machine's cores, shared by every workload that asks for CPU (ECS tasks, Batch jobs).

Measured in ECS's CPU units (1024 a core). A task or job holds its share while it runs, so
tasks and jobs together never hold more threads than there are cores and parallel work does
not oversubscribe the CPU. ``INTROAWS_LOCAL_CORES`` on the daemon sets how many cores the local
cloud may use (default: the CPUs this process may run on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from introaws import platform
from introaws.localcloud import settings

CORES_ENV = "INTROAWS_LOCAL_CORES"
UNITS_PER_CORE = 1024


def local_cores() -> int:
    return settings.count(CORES_ENV) or platform.cpu_count()


class CpuBudget:
    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.total = cores * UNITS_PER_CORE
        self.free = self.total
        self._changed = threading.Condition()
        self._on_release: list[Callable[[], None]] = []

    def try_take(self, units: int) -> bool:
        """Take ``units`` if they are free now."""
        with self._changed:
            if units > self.free:
                return False
            self.free -= units
            return True

    def take(self, units: int, wanted: Callable[[], bool]) -> bool:
        """Wait for ``units``; False (nothing taken) once ``wanted()`` turns false. Whoever
        makes it false calls :meth:`wake`."""
        with self._changed:
            while units > self.free and wanted():
                self._changed.wait()
            if not wanted():
                return False
            self.free -= units
            return True

    def give(self, units: int) -> None:
        with self._changed:
            self.free = min(self.total, self.free + units)
            self._changed.notify_all()
        for listener in self._on_release:
            listener()

    def wake(self) -> None:
        """Let waiters re-check whether they still want CPU."""
        with self._changed:
            self._changed.notify_all()

    def on_release(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (without the budget's lock held) whenever units come back."""
        self._on_release.append(listener)

    def share(self, units: int) -> int:
        """What a workload asking for ``units`` holds: never more than the whole machine."""
        return max(1, min(units, self.total))
