"""Opening a report in Debian's headless Chromium through chromedriver (selenium): what it
rendered, what its console said, which requests it made, and a screenshot."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)  # fmt: skip


@dataclass
class Opened:
    parts: dict[str, list[str]]
    """Per project section id, the data-part of each part that holds a drawn plot, a table or
    a sentence saying it is empty."""
    plots: int
    """Plots plotly drew."""
    console_errors: list[str]
    requests: list[str]
    screenshot: Path


def open_report(page: Path, screenshot: Path, profile: Path) -> Opened:
    """Open `page` (a file), wait until plotly drew every plot, and look at it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete' && [...document.querySelectorAll("
                "'.plotly-graph-div')].every(div => div.querySelector('.main-svg'))"
            )
        )
        parts = driver.execute_script(
            "const found = {};"
            "for (const section of document.querySelectorAll('section.project')) {"
            "  found[section.id] = [...section.querySelectorAll('.part')].filter(part =>"
            "    part.querySelector('.plotly-graph-div .main-svg, table, p.empty'))"
            "    .map(part => part.dataset.part); }"
            "return found;"
        )
        drawn = driver.execute_script(
            "return [...document.querySelectorAll('.plotly-graph-div')]"
            ".filter(div => div.querySelector('.main-svg')).length"
        )
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 100, 16000))
        driver.save_screenshot(str(screenshot))
        console = driver.get_log("browser")
        performance = driver.get_log("performance")
    finally:
        driver.quit()
    errors = [entry["message"] for entry in console if entry["level"] == "SEVERE"]
    requests = []  # those of the page (not of the browser's own start page), data: URIs aside
    for entry in performance:
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        params = message["params"]
        url = params["request"]["url"]
        if params.get("documentURL") == page.resolve().as_uri() and not url.startswith("data:"):
            requests.append(url)
    return Opened(parts, drawn, errors, requests, screenshot)
