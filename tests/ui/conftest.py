"""Fixtures for the web UI's tests: a real server with the gateway (and so the UI) on a
free port, three callers (alice's and bob's tenants, an operator), and headless Chromium
driven by Selenium through Debian's chromedriver (`make browser` installs both).

A test is skipped, saying why, when Chromium cannot start on this machine."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ServerThread

ALICE = "ui-alice-7c41"
BOB = "ui-bob-0e93"
OPERATOR = "ui-ops-5b12"
TOKENS = f"""tokens:
  - {{token: {ALICE}, domain: alice}}
  - {{token: {BOB}, domain: bob}}
  - {{token: {OPERATOR}, name: ops}}
"""
T = TypeVar("T")
WAIT = 30.0


@pytest.fixture
def server_overrides(tmp_path: Path) -> dict[str, Any]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(TOKENS)
    return {
        "http_listen": "127.0.0.1:0",
        "token_file": tokens,
        # The tenants' runs are free `command:` steps (sandboxed).
        "command_domains": frozenset({"alice", "bob"}),
    }


@pytest.fixture
def base_url(dagwire_server: ServerThread) -> str:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    return dagwire_server.server.http.url


def chromium_driver(width: int = 1400, height: int = 900) -> webdriver.Chrome:
    """Headless Chromium; pytest.skip with the reason when it cannot start."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("Chromium or chromedriver is not installed (make browser installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root, Chromium's own sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    try:
        return webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as error:
        pytest.skip(f"Chromium cannot start here: {error.msg}")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium_driver()
    try:
        yield driver
    finally:
        driver.quit()


def api(base_url: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    """A call to the gateway's API, as a script would make it: its answer, which must
    come with HTTP 200 (Kuscia's in-band refusals do)."""
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{path}: {error.code} {error.read().decode()}") from None
    return answer


def create_run(base_url: str, run_yaml: str, token: str) -> str:
    answer = api(base_url, "/api/v1/workflow/run/create", {"run_yaml": run_yaml}, token)
    run_id: str = answer["run"]["run_id"]
    return run_id


def wait_until(
    driver: webdriver.Chrome, what: Callable[[webdriver.Chrome], T], timeout: float = WAIT
) -> T:
    """What `what` returns once it is truthy (Selenium's explicit wait: no sleeps). An
    element replaced while `what` read it (a list re-rendered) means: look again."""
    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(what)


def sign_in(driver: webdriver.Chrome, base_url: str, token: str) -> None:
    driver.get(base_url + "/ui/signin")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "signin-submit").click()
    wait_until(driver, lambda d: d.current_url.endswith("/ui/runs"))


def node_state(driver: webdriver.Chrome, node: str) -> str:
    """The state the graph shows for a node ("" before it is drawn)."""
    found = driver.find_elements(By.CSS_SELECTOR, f'#graph g.node[data-node="{node}"]')
    return found[0].get_attribute("data-state") or "" if found else ""


def listed(driver: webdriver.Chrome) -> list[str]:
    """The ids of the rows a list page shows."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#list tbody tr[data-id]")
    return [row.get_attribute("data-id") or "" for row in rows]


def listed_runs(driver: webdriver.Chrome) -> list[str]:
    """The runs listed once the list has loaded (a row, or the empty list's line)."""
    wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#list tbody tr"))
    return listed(driver)


def notice(driver: webdriver.Chrome) -> WebElement:
    return driver.find_element(By.ID, "notice")


def confirm(driver: webdriver.Chrome, **fields: str) -> None:
    """Fills the confirmation dialog's fields and confirms."""
    dialog = wait_until(driver, lambda d: d.find_element(By.ID, "confirm").is_displayed() and d)
    for name, value in fields.items():
        box = dialog.find_element(By.CSS_SELECTOR, f'#confirm input[data-field="{name}"]')
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, "confirm-ok").click()


def open_node(driver: webdriver.Chrome, node: str) -> None:
    """Clicks a node of the graph once it is drawn."""
    selector = f'#graph g.node[data-node="{node}"] rect'
    wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector)).click()


def click_action(driver: webdriver.Chrome, holder: str, action: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#{holder} button[data-action="{action}"]').click()
