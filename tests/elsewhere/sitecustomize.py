"""Makes Python report another system (``INTROAWS_TEST_UNAME=System/release/machine``) in every
process that starts with this folder on ``PYTHONPATH``, so ``doctor`` can be seen on a system
this machine is not (native Windows, WSL 1, macOS). Only the standard library's answer changes."""

import os
import platform

_pretend = os.environ.get("INTROAWS_TEST_UNAME")
if _pretend:
    _system, _release, _machine = _pretend.split("/")
    _real = platform.uname()
    _fake = platform.uname_result(_system, _real.node, _release, _real.version, _machine)
    platform.uname = lambda: _fake  # type: ignore[assignment]
