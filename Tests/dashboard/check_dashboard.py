"""The dashboard in a real browser: Debian's chromium, headless, driven through selenium by Debian's chromedriver.

Starts a supervisor of the built binary with `control.http` on loopback (and an API key), opens its dashboard, and
checks, step by step, that the page asks for the key once, that every daemon's row appears, that clicking Trigger
makes the run count go up without a page reload, that a broken save of the manifest shows its error with
file:line:col, that a valid save shows the new daemon, that the log pane follows the selected daemon, and that the
page fits a phone's width. It saves a screenshot (--screenshot), and exits non-zero at the first step that fails.

    python check_dashboard.py --binary .build/debug/orchestrate --screenshot .build/dashboard.png
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

KEY = "dashboard-key"
MANIFEST = """\
control: {{http: "127.0.0.1:{port}", api_key_env: CONTROL_KEY}}
daemons:
  sync:
    kind: periodic
    interval: 1h
    command: ["sh", "-c", "echo synced"]
  docs:
    kind: process
    command: ["sleep", "3600"]
  report:
    kind: periodic
    interval: 30s
    depends_on: [docs]
    command: ["true"]
"""


def free_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def step(text):
    print(f"dashboard: {text}", flush=True)


def wait(driver, condition, what, timeout=15):
    # The page draws its table anew at each event: an element read a moment ago may be gone.
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
    except Exception as error:
        raise SystemExit(f"dashboard: FAILED waiting for {what}: {type(error).__name__}\n"
                         f"page text:\n{driver.find_element(By.TAG_NAME, 'body').text[:2000]}")


def click(driver, selector):
    """Clicks the element `selector` finds, finding it again if the page redrew it meanwhile."""
    def attempt():
        driver.find_element(By.CSS_SELECTOR, selector).click()
        return True
    wait(driver, attempt, f"a click on {selector}")


def cell(driver, daemon, name):
    cells = driver.find_elements(By.CSS_SELECTOR, f'tr[data-daemon="{daemon}"] td.{name}')
    return cells[0].text if cells else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--screenshot")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    for tool in ("chromium", "chromedriver"):
        if not shutil.which(tool):
            sys.exit(f"dashboard: {tool} is missing: `make test-tools` installs it (Debian's chromium and "
                     "chromium-driver)")
    folder = tempfile.mkdtemp(prefix="orchestrate-dashboard-")
    port = free_port()
    manifest = os.path.join(folder, "daemons.yaml")
    with open(manifest, "w") as file:
        file.write(MANIFEST.format(port=port))
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONTROL_KEY": KEY}
    up = subprocess.run([binary, "-f", manifest, "up", "-d", "--wait"], env=environment, capture_output=True,
                        text=True, timeout=60)
    if up.returncode != 0:
        sys.exit(f"dashboard: the supervisor did not start: {up.stderr}")
    supervisor = int(open(os.path.join(folder, ".orchestrate", "orchestrate.pid")).read().strip())
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        url = f"http://127.0.0.1:{port}/"
        driver.get(url)
        step(f"opened {url}")
        wait(driver, lambda: driver.find_element(By.ID, "key").is_displayed(), "the form asking for the key")
        driver.find_element(By.ID, "key-input").send_keys(KEY)
        click(driver, "#key button")
        step("the page asked for the API key once; it was given")

        wait(driver, lambda: all(cell(driver, name, "name") == name for name in ("sync", "docs", "report")),
             "a row for each daemon")
        wait(driver, lambda: cell(driver, "docs", "state") == "running", "docs running")
        step("every daemon's row is there, with its state (docs running)")
        if "docs" not in driver.find_element(By.CSS_SELECTOR, 'tr[data-daemon="report"]').text:
            sys.exit("dashboard: FAILED: report's row does not show that it depends on docs")
        countdown = cell(driver, "report", "next-run")
        wait(driver, lambda: cell(driver, "report", "next-run") != countdown, "report's countdown to move")
        step(f"report's next run counts down ({countdown} -> {cell(driver, 'report', 'next-run')})")

        marker = driver.execute_script("window.notReloaded = true; return window.notReloaded")
        before = int(wait(driver, lambda: cell(driver, "sync", "runs"), "sync's run count"))
        click(driver, 'tr[data-daemon="sync"] button[data-action="trigger"]')
        wait(driver, lambda: int(cell(driver, "sync", "runs") or 0) > before, "sync's run count to go up")
        if not (marker and driver.execute_script("return window.notReloaded === true")):
            sys.exit("dashboard: FAILED: the page was reloaded")
        step(f"clicking Trigger made sync's runs go from {before} to {cell(driver, 'sync', 'runs')}, "
             "without reloading the page")

        click(driver, 'tr[data-daemon="sync"]')
        wait(driver, lambda: "synced" in driver.find_element(By.ID, "log-lines").text, "sync's log in the pane")
        click(driver, 'tr[data-daemon="sync"] button[data-action="trigger"]')
        wait(driver, lambda: driver.find_element(By.ID, "log-lines").text.count("synced") >= 2,
             "the new run's line in the log pane")
        step("the log pane shows sync's log and follows it")

        with open(manifest, "a") as file:
            file.write("  broken: {kind: periodic}\n")
        wait(driver, lambda: "daemons.broken: missing key 'command'" in driver.find_element(By.ID, "last-reload").text,
             "the broken save's error")
        errors = driver.find_element(By.ID, "last-reload").text
        if not re.search(re.escape(manifest) + r":\d+:\d+: daemons\.broken", errors):
            sys.exit(f"dashboard: FAILED: the error has no file:line:col: {errors}")
        step("a broken save of the manifest shows its errors, with file:line:col")
        with open(manifest, "w") as file:
            file.write(MANIFEST.format(port=port) + "  added:\n    kind: periodic\n    interval: 1h\n"
                       "    command: [\"true\"]\n")
        wait(driver, lambda: cell(driver, "added", "name") == "added", "the new daemon's row")
        wait(driver, lambda: "applied" in driver.find_element(By.ID, "last-reload").text, "the applied reload")
        step("a valid save shows the new daemon, and the reload as applied")

        down = subprocess.run([binary, "-f", manifest, "down"], env=environment, capture_output=True, timeout=60)
        wait(driver, lambda: "reconnecting" in driver.find_element(By.ID, "connection").text, "the page to see it go")
        up = subprocess.run([binary, "-f", manifest, "up", "-d", "--wait"], env=environment, capture_output=True,
                            text=True, timeout=60)
        if down.returncode != 0 or up.returncode != 0:
            sys.exit(f"dashboard: FAILED: the supervisor did not restart: {up.stderr}")
        supervisor = int(open(os.path.join(folder, ".orchestrate", "orchestrate.pid")).read().strip())
        wait(driver, lambda: driver.find_element(By.ID, "connection").text == "live"
             and cell(driver, "added", "name") == "added" and f"pid {supervisor}" in driver.find_element(By.ID, "supervisor").text,
             "the page to reconnect to the new supervisor", timeout=20)
        before = int(wait(driver, lambda: cell(driver, "sync", "runs"), "sync's run count"))
        click(driver, 'tr[data-daemon="sync"] button[data-action="trigger"]')
        wait(driver, lambda: int(cell(driver, "sync", "runs") or 0) > before, "a run after the reconnection")
        step(f"after down and up, the page reconnected by itself to the new supervisor (pid {supervisor}) and follows it")

        if arguments.screenshot:
            driver.save_screenshot(arguments.screenshot)
            step(f"screenshot: {arguments.screenshot}")

        driver.set_window_size(390, 844)
        wait(driver, lambda: driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page to fit a phone")
        if not driver.find_element(By.CSS_SELECTOR, 'tr[data-daemon="sync"] button[data-action="trigger"]').is_displayed():
            sys.exit("dashboard: FAILED: at a phone's width, the Trigger button is not shown")
        step("at a phone's width (390 px) the page fits, and its buttons show")

        driver.set_window_size(1280, 900)
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        if background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"):
            sys.exit(f"dashboard: FAILED: dark mode keeps a light background ({background})")
        step(f"in dark mode the background is {background}")

        focusable = driver.execute_script(
            "return [...document.querySelectorAll('tbody tr[data-daemon]')].every(r => r.tabIndex === 0)")
        if not focusable:
            sys.exit("dashboard: FAILED: the rows cannot be reached by keyboard")
        step("rows and buttons are reachable by keyboard")
        # Expected: the first request for data, refused (401) before the key is given, and the requests refused while
        # the supervisor was down.
        logs = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
                and not ("/v1/status" in entry["message"] and "status of 401" in entry["message"])
                and "ERR_CONNECTION_REFUSED" not in entry["message"]]
        if logs:
            sys.exit(f"dashboard: FAILED: the browser logged errors: {logs}")
        step("no error in the browser's console")
    finally:
        driver.quit()
        subprocess.run([binary, "-f", manifest, "down"], env=environment, capture_output=True, timeout=60)
        try:
            os.kill(supervisor, 0)
            os.kill(supervisor, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(folder, ignore_errors=True)
    step("ok")


if __name__ == "__main__":
    main()
