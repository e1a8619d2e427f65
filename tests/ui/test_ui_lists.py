"""The runs list: filters become the API's filter, pages follow its page tokens."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.ui.conftest import ALICE, create_run, listed, sign_in, wait_until

DEMO = "name: demo\nentry_points:\n  a: {command: 'echo a'}\n"


def test_the_runs_list_filters_by_name_and_status_and_pages(
    browser: webdriver.Chrome, base_url: str
) -> None:
    alphas = [create_run(base_url, DEMO.replace("demo", "alpha"), ALICE) for _ in range(21)]
    beta = create_run(base_url, DEMO.replace("demo", "beta"), ALICE)
    sign_in(browser, base_url, ALICE)
    wait_until(browser, lambda d: len(listed(d)) == 20)
    browser.find_element(By.ID, "next").click()
    wait_until(browser, lambda d: len(listed(d)) == 2)
    assert browser.find_element(By.ID, "next").get_attribute("disabled") is not None
    browser.find_element(By.ID, "prev").click()
    wait_until(browser, lambda d: len(listed(d)) == 20)
    seen = set(listed(browser))
    browser.find_element(By.ID, "next").click()
    wait_until(browser, lambda d: len(listed(d)) == 2)
    assert seen | set(listed(browser)) == {*alphas, beta}

    browser.find_element(By.NAME, "name").send_keys("beta")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(browser, lambda d: listed(d) == [beta])
    Select(browser.find_element(By.NAME, "status")).select_by_visible_text("terminated")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#list tr.empty"))
    assert listed(browser) == []
