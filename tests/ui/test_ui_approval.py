"""Approval from the UI: alice's domain must approve jobs it is a party of; she accepts
one and rejects another, each after a confirmation; the jobs list filters by state."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.ui.conftest import (
    ALICE,
    OPERATOR,
    api,
    click_action,
    confirm,
    listed,
    sign_in,
    wait_until,
)


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"alice"})


def held_job(base_url: str, job_id: str) -> None:
    task = {"app_image": "dagwire-noop", "parties": [{"domain_id": "alice"}], "alias": "only"}
    body = {"job_id": job_id, "initiator": "alice", "tasks": [task]}
    assert api(base_url, "/api/v1/job/create", body, OPERATOR)["status"]["code"] == 0


def state(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "state").get_attribute("data-state") or ""


def test_alice_approves_one_job_and_rejects_another(
    browser: webdriver.Chrome, base_url: str
) -> None:
    held_job(base_url, "ui-held-yes")
    held_job(base_url, "ui-held-no")
    sign_in(browser, base_url, ALICE)

    browser.get(f"{base_url}/ui/jobs")
    Select(browser.find_element(By.NAME, "state")).select_by_visible_text("AwaitingApproval")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(browser, lambda d: sorted(listed(d)) == ["ui-held-no", "ui-held-yes"])

    browser.get(f"{base_url}/ui/jobs/ui-held-yes")
    wait_until(browser, lambda d: state(d) == "awaitingapproval")
    click_action(browser, "actions", "approve")
    confirm(browser, reason="looks right")
    wait_until(browser, lambda d: state(d) == "succeeded")

    browser.get(f"{base_url}/ui/jobs/ui-held-no")
    wait_until(browser, lambda d: state(d) == "awaitingapproval")
    click_action(browser, "actions", "reject")
    confirm(browser, reason="wrong data")
    wait_until(browser, lambda d: state(d) == "approvalreject")

    browser.get(f"{base_url}/ui/jobs")
    Select(browser.find_element(By.NAME, "state")).select_by_visible_text("Succeeded")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(browser, lambda d: listed(d) == ["ui-held-yes"])
    Select(browser.find_element(By.NAME, "state")).select_by_visible_text("any")
    browser.find_element(By.NAME, "name").send_keys("held-n")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(browser, lambda d: listed(d) == ["ui-held-no"])


def test_a_thousand_task_job_is_drawn_once_and_then_only_recoloured(
    browser: webdriver.Chrome, base_url: str
) -> None:
    party = [{"domain_id": "alice"}]
    tasks = [
        {
            "alias": f"l{layer}-{i}",
            "app_image": "dagwire-noop",
            "parties": party,
            "dependencies": [f"l{layer - 1}-{i}", f"l{layer - 1}-{(i + 1) % 100}"] if layer else [],
        }
        for layer in range(10)
        for i in range(100)
    ]
    body = {"job_id": "ui-thousand", "initiator": "alice", "max_parallelism": 1000, "tasks": tasks}
    assert api(base_url, "/api/v1/job/create", body, OPERATOR)["status"]["code"] == 0
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/jobs/ui-thousand")
    graph = browser.find_element(By.ID, "graph")
    wait_until(browser, lambda d: graph.get_attribute("data-ready") == "true", timeout=50)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph g.node")) == 1000
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph path.edge")) == 1800
    wait_until(browser, lambda d: state(d) == "awaitingapproval")
    svg = browser.find_element(By.CSS_SELECTOR, "#graph svg")
    click_action(browser, "actions", "approve")
    confirm(browser)
    wait_until(browser, lambda d: state(d) == "succeeded")
    # Every node turned green in the same drawing: no second layout replaced it.
    assert svg == browser.find_element(By.CSS_SELECTOR, "#graph svg")
    states = browser.execute_script(
        "return [...document.querySelectorAll('#graph g.node')].map(n => n.dataset.state)"
    )
    assert set(states) == {"succeeded"}
