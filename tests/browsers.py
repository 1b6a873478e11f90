"""Where a Chromium and its driver are: Debian's packages (`.ci/run`), or the Chrome and
chromedriver a GitHub runner ships (Linux and macOS), for the Selenium tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MAC_CHROME = Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")


def chromium() -> str | None:
    found = next((shutil.which(name) for name in _BROWSERS if shutil.which(name)), None)
    return found or (str(_MAC_CHROME) if _MAC_CHROME.exists() else None)


def chromedriver() -> str | None:
    folder = os.environ.get("CHROMEWEBDRIVER")  # GitHub's runners
    if folder and Path(folder, "chromedriver").exists():
        return str(Path(folder, "chromedriver"))
    return shutil.which("chromedriver")
