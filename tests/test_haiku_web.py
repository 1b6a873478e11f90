"""Bashoutter's web page in real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): post through the form, see it listed, like it, see the count change."""

from __future__ import annotations

import uuid

import pytest

import browsers

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
)


@pytest.fixture(scope="module")
def site(haiku_site):
    return haiku_site


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in LAUNCH_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def test_post_list_and_like_in_the_browser(site, browser):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The page re-renders its list after each change: elements found before may go stale, so
    # every check looks them up again inside a wait that retries on staleness.
    wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(site["website_url"])
    wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    assert browser.find_element(By.ID, "endpoint").get_attribute("value") == site["api_endpoint"]

    marker = uuid.uuid4().hex[:6]
    for field, text in (("first", f"古池や {marker}"), ("second", "蛙飛びこむ"), ("third", "水の音")):
        browser.find_element(By.ID, field).send_keys(text)
    name = browser.find_element(By.ID, "username")
    name.clear()
    name.send_keys("芭蕉")
    browser.find_element(By.ID, "post").click()

    def card(b):
        for item in b.find_elements(By.CSS_SELECTOR, "#haiku-list li.haiku"):
            if marker in item.find_element(By.CLASS_NAME, "first").text:
                return item
        return False

    def text_of(b, part: str) -> str:
        found = card(b)
        return found.find_element(By.CLASS_NAME, part).text if found else ""

    def click_like(b) -> bool:
        found = card(b)
        if found:
            found.find_element(By.CLASS_NAME, "like").click()
        return bool(found)

    wait.until(lambda b: text_of(b, "username") == "芭蕉" and text_of(b, "likes") == "0")
    wait.until(click_like)
    wait.until(lambda b: text_of(b, "likes") == "1")

    browser.find_element(By.ID, "refresh").click()  # the like is stored, not only shown
    wait.until(lambda b: text_of(b, "likes") == "1")
    assert browser.find_element(By.ID, "status").text in ("", "Posted.")
