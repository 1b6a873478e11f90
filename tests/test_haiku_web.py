"""Bashoutter's web page in real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): post through the form, see it listed, like it, see the count change; in the reader's
language (Japanese or English), with a Japanese haiku in vertical columns and times in the
browser's time zone. The Japanese page is kept as a screenshot under `.artifacts/`."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import browsers
from conftest import ROOT

CHROMIUM, DRIVER = browsers.chromium(), browsers.chromedriver()
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs a Chromium and its driver (.ci/run installs Debian's chromium and chromium-driver)",
)
LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=900,1200",
)
ARTIFACTS = ROOT / ".artifacts"  # git-ignored: pictures for a person to look at
TOKYO = "Asia/Tokyo"


@pytest.fixture(scope="module")
def site(haiku_site):
    return haiku_site


@pytest.fixture(scope="module")
def open_browser():
    """``open_browser(language, time_zone=None)``: a headless Chromium whose reader prefers
    ``language``; all are closed at the end of the module."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def launch(language: str, time_zone: str | None = None):
        options = Options()
        options.binary_location = CHROMIUM
        for flag in (*LAUNCH_FLAGS, f"--lang={language}"):
            options.add_argument(flag)
        # Headless Chromium keeps navigator.languages at en-US whatever --lang says (checked on
        # Chromium 156); the accept-languages preference is what the page sees.
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        driver = webdriver.Chrome(options=options, service=Service(DRIVER))
        drivers.append(driver)
        if time_zone:
            driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": time_zone})
        return driver

    yield launch
    for driver in drivers:
        driver.quit()


class Page:
    """The page in one browser. It re-renders its list after each change, so elements found
    before may go stale: every check looks them up again inside a wait that retries."""

    def __init__(self, browser, url: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser = browser
        self.wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
        browser.get(url)
        self.wait.until(lambda b: self.element("body", by="tag name").get_attribute("data-ready") == "true")

    def element(self, value: str, by: str = "id"):
        return self.browser.find_element(by, value)

    def post(self, lines: tuple[str, str, str], username: str | None = None) -> None:
        for field, line in zip(("first", "second", "third"), lines, strict=True):
            self.element(field).send_keys(line)
        if username is not None:
            self.element("username").clear()
            self.element("username").send_keys(username)
        self.element("post").click()

    def card(self, marker: str) -> Callable:
        """A wait condition: the listed haiku whose first line holds ``marker``, else False."""

        def find(browser):
            for item in browser.find_elements("css selector", "#haiku-list li.haiku"):
                if marker in item.find_element("class name", "first").text:
                    return item
            return False

        return find

    def text_of(self, marker: str, part: str) -> str:
        found = self.card(marker)(self.browser)
        return found.find_element("class name", part).text if found else ""

    def lines(self, marker: str, writing_mode: str) -> list[dict]:
        """The rectangles of that haiku's three lines and its poet, once it is listed in
        ``writing_mode``."""
        poem = self.wait.until(lambda b: (card := self.card(marker)(b)) and card.find_element("class name", "poem"))
        assert poem.value_of_css_property("writing-mode") == writing_mode
        return [poem.find_element("class name", part).rect for part in ("first", "second", "third", "username")]

    def like(self, marker: str) -> None:
        def click(browser) -> bool:
            found = self.card(marker)(browser)
            if found:
                found.find_element("class name", "like").click()
            return bool(found)

        self.wait.until(click)
        self.wait.until(lambda b: self.text_of(marker, "likes") == "1")


def keep_screenshot(page: Page, shot: Path, record_property) -> None:
    """Save the page under pytest's tmp dir and copy it to `.artifacts/` for a person to see."""
    assert page.browser.save_screenshot(str(shot))
    ARTIFACTS.mkdir(exist_ok=True)
    record_property("screenshot", str(shutil.copy(shot, ARTIFACTS / shot.name)))


def below(lower: dict, upper: dict) -> bool:
    """Element rectangles one under the other (a pixel of rounding allowed)."""
    return lower["y"] >= upper["y"] + upper["height"] - 1


def left_of(left: dict, right: dict) -> bool:
    return right["x"] >= left["x"] + left["width"] - 1


def test_english_reader_posts_likes_and_reads_english(site, open_browser, tmp_path, record_property):
    from selenium.webdriver.support.expected_conditions import staleness_of

    page = Page(open_browser("en-US"), site["website_url"])
    assert page.element("endpoint").get_attribute("value") == site["api_endpoint"]
    assert page.browser.execute_script("return document.documentElement.lang") == "en"
    assert page.element("post").text == "Post"
    assert page.element("first").get_attribute("placeholder") == "First line (5)"

    marker = uuid.uuid4().hex[:6]
    page.post((f"Spring rain {marker}", "the whole street smells of wet stone", "one late bicycle"), "Kiyoko")
    page.wait.until(lambda b: page.text_of(marker, "username") == "Kiyoko" and page.text_of(marker, "likes") == "0")
    page.wait.until(lambda b: page.element("status").text == "Posted.")
    page.like(marker)
    shown = page.wait.until(page.card(marker))
    page.element("refresh").click()  # the like is stored, not only shown: a new list says so
    page.wait.until(staleness_of(shown))
    page.wait.until(lambda b: page.text_of(marker, "likes") == "1")
    assert page.element("status").text == ""
    assert page.element("count").text.endswith(" haiku")

    # A poem in Latin script: three horizontal lines, one under the other.
    first, second, third, poet = page.lines(marker, "horizontal-tb")
    assert below(second, first) and below(third, second)
    assert first["x"] == second["x"] == third["x"] and below(poet, third)
    # A poem in Japanese script is printed in columns for this reader too.
    other = uuid.uuid4().hex[:6]
    page.post((f"夕立や{other}", "濡れた石の", "町の匂い"))
    page.lines(other, "vertical-rl")
    keep_screenshot(page, tmp_path / "haiku-en.png", record_property)


def test_japanese_reader_sees_japanese_and_a_haiku_in_vertical_columns(site, open_browser, tmp_path, record_property):
    problem = browsers.missing_japanese_font()
    if problem:
        pytest.fail(problem, pytrace=False)
    page = Page(open_browser("ja", time_zone=TOKYO), site["website_url"])
    assert page.browser.execute_script("return document.documentElement.lang") == "ja"
    assert page.element("post").text == "投稿する"
    assert page.element("refresh").text == "再読み込み"
    assert page.element("first").get_attribute("placeholder") == "上の句（五）"
    assert page.element("username").get_attribute("value") == "詠み人知らず"

    marker = uuid.uuid4().hex[:4]
    page.post((f"古池や{marker}", "蛙飛びこむ", "水の音"))
    page.wait.until(lambda b: page.text_of(marker, "username") == "詠み人知らず")
    page.wait.until(lambda b: page.element("status").text == "投稿しました。")
    assert page.element("count").text.endswith("句")
    page.like(marker)

    first, second, third, poet = page.lines(marker, "vertical-rl")
    # Three columns side by side, read from the right, each taller than wide, tops level; the
    # poet's name in a column of its own to their left.
    assert left_of(second, first) and left_of(third, second) and left_of(poet, third)
    assert all(line["height"] > line["width"] for line in (first, second, third))
    assert first["y"] == second["y"] == third["y"]

    # The time in the browser's zone (Tokyo, 9 hours ahead of UTC), not the API's UTC string.
    created = page.wait.until(page.card(marker)).find_element("class name", "created")
    posted_at = datetime.fromisoformat(created.get_attribute("datetime"))
    in_tokyo, in_utc = posted_at.astimezone(ZoneInfo(TOKYO)), posted_at.astimezone(ZoneInfo("UTC"))
    shown = created.text
    assert f"{in_tokyo.hour}:{in_tokyo.minute:02d}" in shown and "JST" in shown, shown
    assert f"{in_utc.hour}:{in_utc.minute:02d}" not in shown and posted_at.isoformat() not in shown, shown
    assert f"{in_tokyo.month}月{in_tokyo.day}日" in shown, shown

    keep_screenshot(page, tmp_path / "haiku-ja.png", record_property)
