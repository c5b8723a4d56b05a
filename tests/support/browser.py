"""Debian's headless Chromium driven by Selenium through Debian's chromedriver."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Flags that work on this project's machines (no sandbox as root, no network but loopback).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def _binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None
        )
        if found:
            return found
    return None


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Selenium WebDriver for headless Chromium with a fresh profile, or skip saying why."""
    browser, driver_binary = _binary("chromium", "chromium-browser"), _binary("chromedriver")
    if browser is None or driver_binary is None:
        pytest.skip(
            "Chromium or chromedriver is not installed (apt-get install chromium "
            "chromium-driver; .ci/run does it as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_binary), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
