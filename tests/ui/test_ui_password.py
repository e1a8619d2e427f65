"""Password sign-in: a PaddleFlow user's name and password, which the page exchanges for a
login token at PaddleFlow's login path and then uses exactly as a token.

Written from PaddleFlow's SDK, client/paddleflow/client.py (login: POST /login with
{username, password}; the answer's `authorization` is the token, sent afterwards as
`x-pf-authorization`; a refusal's `message` is what the SDK shows), and its errors,
pkg/apiserver/common/errors.go (AuthFailed for a wrong password). root adds the user
through client/paddleflow/user/user_api.py's POST /user {username, password}."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.ui.conftest import BOB, api, create_run, listed_runs, notice, wait_until

LOGIN = "/api/paddleflow/v1/login"
ROOT_PASSWORD = "rootpass1"
# A user of its own domain (the lower-cased name), free to run `command:` steps.
USER, PASSWORD = "uicarol", "carolpass1"
DEMO = "name: demo\nentry_points:\n  a: {command: 'echo a'}\n"


@pytest.fixture
def server_overrides(server_overrides: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    root_password = tmp_path / "root-password"
    root_password.write_text(ROOT_PASSWORD + "\n")
    domains = server_overrides["command_domains"] | {USER.lower()}
    return server_overrides | {"root_password_file": root_password, "command_domains": domains}


def paddleflow(base_url: str, path: str, body: dict[str, Any], token: str = "") -> Any:
    """A PaddleFlow path called as its SDK calls it: (HTTP status, decoded answer)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["x-pf-authorization"] = token
    request = urllib.request.Request(
        base_url + "/api/paddleflow/v1" + path, data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def user(base_url: str) -> str:
    """USER, added by root (signed in with its own password); USER's login token."""
    status, answer = paddleflow(base_url, "/login", {"username": "root", "password": ROOT_PASSWORD})
    assert status == 200, answer
    root = answer["authorization"]
    status, answer = paddleflow(base_url, "/user", {"username": USER, "password": PASSWORD}, root)
    assert (status, answer) == (200, {"username": USER})
    status, answer = paddleflow(base_url, "/login", {"username": USER, "password": PASSWORD})
    assert status == 200, answer
    token: str = answer["authorization"]
    return token


def sign_in_with_password(driver: webdriver.Chrome, base_url: str, password: str) -> None:
    driver.get(base_url + "/ui/signin")
    driver.find_element(By.ID, "username").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "password-submit").click()


def kept(driver: webdriver.Chrome) -> str:
    """Everything this origin keeps in the browser: both storages and its cookies."""
    script = (
        "return JSON.stringify([Object.entries(localStorage),"
        " Object.entries(sessionStorage), document.cookie]);"
    )
    result: str = driver.execute_script(script)
    return result


def test_a_user_added_by_root_signs_in_with_its_password_and_sees_its_own_run_only(
    browser: webdriver.Chrome, base_url: str, user: str
) -> None:
    own = create_run(base_url, DEMO, user)
    create_run(base_url, DEMO, BOB)  # another tenant's

    sign_in_with_password(browser, base_url, PASSWORD)
    wait_until(browser, lambda d: d.current_url.endswith("/ui/runs"))

    assert listed_runs(browser) == [own]


def test_a_wrong_password_shows_the_apis_refusal_and_stays_on_the_sign_in_page(
    browser: webdriver.Chrome, base_url: str, user: str
) -> None:
    status, refusal = paddleflow(base_url, "/login", {"username": USER, "password": "wrongpass1"})
    assert (status, refusal["code"]) == (400, "AuthFailed")

    sign_in_with_password(browser, base_url, "wrongpass1")
    text = wait_until(browser, lambda d: notice(d).text)

    assert text == f"Sign-in refused: {refusal['message']}"
    assert browser.current_url == base_url + "/ui/signin"
    assert browser.execute_script("return localStorage.getItem('dagwire.token');") is None


def test_the_page_keeps_the_login_token_and_never_the_password(
    browser: webdriver.Chrome, base_url: str, user: str
) -> None:
    sign_in_with_password(browser, base_url, PASSWORD)
    wait_until(browser, lambda d: d.current_url.endswith("/ui/runs"))

    token = browser.execute_script("return localStorage.getItem('dagwire.token');")
    # The kept token is a login token the API takes as any token.
    assert token.count(".") == 2
    assert api(base_url, "/api/v1/workflow/run/list", {}, token).get("runs", []) == []
    assert PASSWORD not in kept(browser)


def test_sign_out_forgets_the_login_token(
    browser: webdriver.Chrome, base_url: str, user: str
) -> None:
    sign_in_with_password(browser, base_url, PASSWORD)
    wait_until(browser, lambda d: d.current_url.endswith("/ui/runs"))

    browser.find_element(By.ID, "signout").click()
    wait_until(browser, lambda d: d.current_url.endswith("/ui/signin"))

    assert kept(browser) == json.dumps([[], [], ""], separators=(",", ":"))
