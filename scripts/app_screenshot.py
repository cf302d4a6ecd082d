"""Regenerate ``docs/app.png``: the web app's denoise tab on a bundled example, in headless Chromium.

    .venv/bin/python scripts/app_screenshot.py [-o docs/app.png]

Needs the ``app`` and ``dev`` extras and Debian's ``chromium`` + ``chromium-driver``. The picture
is reduced to a 256-colour palette when that is what keeps it under 300 KB.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from restore.app import AppConfig, build_app, serve

MAX_BYTES = 300_000
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1020",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def take(output: Path) -> None:
    config = AppConfig()
    demo = serve(build_app(config), config, port=_free_port(), prevent_thread_lock=True)
    profile = tempfile.mkdtemp(prefix="restore-chromium-")
    options = webdriver.ChromeOptions()
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        driver.get(demo.local_url)
        wait.until(lambda d: d.find_element(By.ID, "denoise-run"))
        # The second denoise example: the colour photograph with its clean original.
        example = [e for e in driver.find_elements(By.XPATH, "//*[text()='chelsea.png']") if e.is_displayed()][0]
        example.click()
        wait.until(lambda d: "Estimated noise level" in d.find_element(By.TAG_NAME, "body").text)
        driver.find_element(By.ID, "denoise-run").click()
        wait.until(lambda d: "PSNR" in d.find_element(By.ID, "denoise-info").text)
        driver.execute_script("window.scrollTo(0, 0)")
        raw = Path(profile) / "shot.png"
        driver.save_screenshot(str(raw))
    finally:
        driver.quit()
        demo.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(raw, output)
    if output.stat().st_size > MAX_BYTES:
        Image.open(raw).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(output, optimize=True)
    shutil.rmtree(profile, ignore_errors=True)
    print(f"{output}: {output.stat().st_size / 1000:.0f} KB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/app.png"))
    take(parser.parse_args().output)
