"""Only the platform seam (src/introaws/platform.py) may use what exists on Linux alone, so
introaws runs on macOS and WSL 2 too. Scripts that run on an EC2 instance (stacks/dnn.py's
idle-stop timer) are Linux by definition and may."""

from __future__ import annotations

import re

from conftest import ROOT

LINUX_ONLY = re.compile(r"/proc/|\bsched_\w+|\bctypes\b|libc\.so|\bprctl\b|\bfcntl\b")
ALLOWED = {"src/introaws/platform.py", "src/introaws/stacks/dnn.py"}


def test_nothing_outside_the_platform_seam_uses_linux_only_apis():
    offenders = []
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if LINUX_ONLY.search(code) and not code.strip().startswith(('"""', "'''")):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []
