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
    wait_until(
        browser,
        lambda d: (
            [
                r.get_attribute("data-id")
                for r in d.find_elements(By.CSS_SELECTOR, "#list tr[data-id]")
            ]
            == ["ui-held-yes"]
        ),
    )
