"""Headless Chromium (Debian's `chromium` and `chromium-driver`, installed by `make browser`)
driven by Selenium, for the catalog page's tests and benchmark."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

# The page's own timing of the last navigation, in ms from its start.
NAVIGATION_TIMING = """
const n = performance.getEntriesByType('navigation')[0];
return {response: n.responseEnd, interactive: n.domInteractive,
        loaded: n.loadEventEnd, bytes: n.transferSize, html: n.decodedBodySize};
"""


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"{names[0]} not found: run 'make browser' (Debian packages chromium and "
                       "chromium-driver)")


@contextmanager
def chromium(width: int = 1400, height: int = 900) -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", f"--window-size={width},{height}",
                     "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_binary("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def navigation_timing(driver: webdriver.Chrome) -> dict[str, Any]:
    timing: dict[str, Any] = driver.execute_script(NAVIGATION_TIMING)
    return timing


def console_problems(driver: webdriver.Chrome) -> list[str]:
    """What the browser complained about: a refused style or resource, a failed load."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] in ("SEVERE", "WARNING")]


def full_page_screenshot(driver: webdriver.Chrome, path: Path, width: int = 1400) -> None:
    """The whole page, not just the window: the window grows to the page's size for it."""
    before = driver.get_window_size()
    size = driver.execute_script("const e = document.documentElement; "
                                 "return [e.scrollWidth, e.scrollHeight]")
    driver.set_window_size(max(width, int(size[0])), max(int(size[1]), 400))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(before["width"], before["height"])
