"""The UI shows a caller what the API shows it: bob sees none of alice's runs, neither in
the list nor at the run's own address, which answers as a missing run does."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.ui.conftest import ALICE, BOB, create_run, listed_runs, sign_in, wait_until

DEMO = "name: demo\nentry_points:\n  a: {command: 'echo a'}\n"


def test_a_second_tenant_sees_neither_the_list_entry_nor_the_page_of_the_first_ones_run(
    browser: webdriver.Chrome, base_url: str
) -> None:
    alices = create_run(base_url, DEMO, ALICE)
    bobs = create_run(base_url, DEMO, BOB)

    sign_in(browser, base_url, ALICE)
    assert listed_runs(browser) == [alices]

    browser.find_element(By.ID, "signout").click()
    sign_in(browser, base_url, BOB)
    assert listed_runs(browser) == [bobs]

    browser.get(f"{base_url}/ui/runs/{alices}")
    wait_until(browser, lambda d: d.find_element(By.ID, "graph").get_attribute("data-ready"))
    assert browser.find_element(By.ID, "graph").get_attribute("data-ready") == "refused"
    assert browser.find_element(By.ID, "notice").text == f"run '{alices}' does not exist"
    assert not browser.find_elements(By.CSS_SELECTOR, "#graph g.node")
    assert not browser.find_elements(By.CSS_SELECTOR, "#actions button")

    # A run that does not exist reads the same, character for character.
    missing = alices[:-1] + ("0" if alices[-1] != "0" else "1")
    browser.get(f"{base_url}/ui/runs/{missing}")
    wait_until(browser, lambda d: d.find_element(By.ID, "notice").text)
    assert browser.find_element(By.ID, "notice").text == f"run '{missing}' does not exist"


def test_a_page_without_a_token_asks_to_sign_in(browser: webdriver.Chrome, base_url: str) -> None:
    browser.get(f"{base_url}/ui/runs")
    text = wait_until(browser, lambda d: d.find_element(By.ID, "notice").text)
    assert text == "missing token: send it as the HTTP header 'Token'"
    assert browser.find_element(By.ID, "signin-link").is_displayed()
