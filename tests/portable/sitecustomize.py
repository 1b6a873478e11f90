"""Takes away the Linux-only APIs introaws must not need, in every Python that starts with this
folder on ``PYTHONPATH`` (the CLI, the daemon, its workers and payloads): as on macOS, there
is no ``os.sched_getaffinity`` and libc cannot be loaded for ``prctl``. ``tests/test_portable.py``
runs the hands-ons this way, with ``INTROAWS_PLATFORM_FALLBACK=1`` for what the seam decides
itself (fork or spawn)."""

import ctypes
import os

for _name in ("sched_getaffinity", "sched_setaffinity", "sched_getscheduler"):
    if hasattr(os, _name):
        delattr(os, _name)


class _CDLLWithoutLibc(ctypes.CDLL):
    def __init__(self, name, *args, **kwargs):
        if name is None or os.path.basename(str(name)).split(".")[0] == "libc":
            raise OSError(f"{name}: libc cannot be loaded here (introaws's portable test)")
        super().__init__(name, *args, **kwargs)


ctypes.CDLL = _CDLLWithoutLibc  # type: ignore[misc]
