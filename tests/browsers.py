"""Where a Chromium and its driver are: Debian's packages (`.ci/run`), or the Chrome and
chromedriver a GitHub runner ships (Linux and macOS), for the Selenium tests; and whether
Chromium here has a font for Japanese."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def missing_japanese_font() -> str | None:
    """Why Chromium would draw Japanese as empty boxes here, or None. Linux finds fonts through
    fontconfig, which may have none for Japanese; macOS ships Japanese fonts. Where fc-list is
    absent there is nothing to ask, and None."""
    fc_list = shutil.which("fc-list")
    if not sys.platform.startswith("linux") or not fc_list:
        return None
    listed = subprocess.run([fc_list, ":lang=ja", "family"], capture_output=True, text=True, check=False)
    if listed.stdout.strip():
        return None
    return (
        "no font for Japanese here ('fc-list :lang=ja' lists none), so Chromium draws Japanese as "
        "empty boxes: install one, e.g. 'apt-get install fonts-noto-cjk' (.ci/run does)"
    )
