"""A real browser for the tests, the demo's screenshots and the benchmark: Debian's chromium, headless, driven
by Selenium through Debian's chromedriver (nothing is downloaded: Selenium is given both paths)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# No background traffic (this machine has no internet: chromium would try Google's hosts at every start).
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--lang=vi-VN")


PHONE = {"width": 360, "height": 780, "pixelRatio": 2.0}  # a cheap Android phone's screen (720 x 1560 pixels)
PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 12; SM-A035F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
               "Mobile Safari/537.36")


@contextmanager
def chromium(width: int = 1366, height: int = 900, *, phone: bool = False,
             javascript: bool = True) -> Iterator[webdriver.Chrome]:
    """`phone`: Chromium's own emulation of a phone (its screen, touch and user agent) instead of a PC's window;
    `javascript=False`: a browser whose scripts are off (what a page must still do without them)."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: make install installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE, "userAgent": PHONE_AGENT})
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def full_page_png(driver: WebDriver) -> bytes:
    """The whole page as PNG, below the window's fold too (Chromium's DevTools)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    return base64.b64decode(shot["data"])


def left(element: WebElement) -> bool:
    """Whether `element` left with its page: selenium's `staleness_of`, and chromedriver's other words for it ("Node
    with given id does not belong to the document", "No node with given id found"), which it says now and then of an
    element of a page being replaced (SeleniumHQ/selenium#15401)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as failed:
        if "does not belong to the document" in str(failed.msg) or "No node with given id" in str(failed.msg):
            return True
        raise
    return False
