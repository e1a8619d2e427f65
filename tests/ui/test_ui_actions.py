"""Actions from the UI, each after a confirmation; a refused one shows the API's message.
Also the narrow screen, where a run reads as a list, and the Kuscia jobs list."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.ui.conftest import (
    ALICE,
    OPERATOR,
    api,
    chromium_driver,
    click_action,
    confirm,
    create_run,
    open_node,
    sign_in,
    wait_until,
)

SLEEPER = "name: sleeper\nentry_points:\n  nap: {command: 'sleep 20'}\n  after: {command: 'true', deps: nap}\n"


def sleeping_job(base_url: str, job_id: str) -> None:
    task = {
        "app_image": "dagwire-sleep",
        "parties": [{"domain_id": "alice"}, {"domain_id": "bob"}],
        "alias": "nap",
        "task_id": "nap",
        "task_input_config": json.dumps({"sleep_seconds": 20}),
    }
    follower = {**task, "alias": "then", "task_id": "then", "dependencies": ["nap"]}
    body = {"job_id": job_id, "initiator": "alice", "tasks": [task, follower]}
    answer = api(base_url, "/api/v1/job/create", body, OPERATOR)
    assert answer["status"]["code"] == 0, answer


def job_state(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "state").get_attribute("data-state") or ""


def refusal_shown(driver: webdriver.Chrome) -> str:
    notice = driver.find_element(By.ID, "notice")
    return notice.text if notice.get_attribute("class") == "error" else ""


def test_a_job_is_suspended_refused_a_second_suspend_and_cancelled(
    browser: webdriver.Chrome, base_url: str
) -> None:
    sleeping_job(base_url, "ui-actions-1")
    sign_in(browser, base_url, OPERATOR)
    browser.get(f"{base_url}/ui/jobs")
    wait_until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#list tr[data-id="ui-actions-1"]')
    )
    browser.find_element(By.LINK_TEXT, "ui-actions-1").click()
    wait_until(browser, lambda d: job_state(d) == "running")

    click_action(browser, "actions", "suspend")
    # Cancelling the confirmation does nothing.
    wait_until(browser, lambda d: d.find_element(By.ID, "confirm").is_displayed())
    browser.find_element(By.ID, "confirm-cancel").click()
    assert job_state(browser) == "running"

    click_action(browser, "actions", "suspend")
    confirm(browser, reason="lunch")
    wait_until(browser, lambda d: job_state(d) == "suspended")

    click_action(browser, "actions", "suspend")
    confirm(browser, reason="again")
    shown = wait_until(browser, lambda d: refusal_shown(d))
    # The very words the API answers the same refused call with.
    answer = api(base_url, "/api/v1/job/suspend", {"job_id": "ui-actions-1"}, OPERATOR)
    assert answer["status"]["code"] == 11210
    assert shown == answer["status"]["message"]
    assert job_state(browser) == "suspended"

    click_action(browser, "actions", "cancel")
    confirm(browser)
    wait_until(browser, lambda d: job_state(d) == "cancelled")


def test_a_task_shows_its_parties(browser: webdriver.Chrome, base_url: str) -> None:
    sleeping_job(base_url, "ui-parties-1")
    sign_in(browser, base_url, OPERATOR)
    browser.get(f"{base_url}/ui/jobs/ui-parties-1")
    open_node(browser, "nap")
    parties = wait_until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#detail-fields li[data-party]")
    )
    assert [p.get_attribute("data-party") for p in parties] == ["alice", "bob"]


def test_a_run_is_stopped_then_deleted(browser: webdriver.Chrome, base_url: str) -> None:
    run_id = create_run(base_url, SLEEPER, ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: job_state(d) == "running")
    click_action(browser, "actions", "stop")
    confirm(browser)
    wait_until(browser, lambda d: job_state(d) == "terminated")
    click_action(browser, "actions", "delete")
    confirm(browser)
    wait_until(browser, lambda d: d.current_url.endswith("/ui/runs"))
    listed = api(base_url, "/api/v1/workflow/run/list", {}, ALICE)
    assert listed["runs"] == []


def test_on_a_narrow_screen_a_run_reads_as_a_list(base_url: str) -> None:
    run_id = create_run(base_url, SLEEPER, ALICE)
    driver = chromium_driver(width=400, height=800)
    try:
        sign_in(driver, base_url, ALICE)
        driver.get(f"{base_url}/ui/runs/{run_id}")
        wait_until(driver, lambda d: d.find_element(By.ID, "graph").get_attribute("data-ready"))
        assert not driver.find_element(By.ID, "graph").is_displayed()
        items = driver.find_elements(By.CSS_SELECTOR, "#node-list li")
        assert [i.get_attribute("data-node") for i in items] == ["nap", "after"]
        assert all(i.is_displayed() for i in items)
        wait_until(driver, lambda d: items[0].get_attribute("data-state") == "running")
        # A step opens from the list as from the graph.
        items[0].find_element(By.TAG_NAME, "button").click()
        assert driver.find_element(By.ID, "detail-title").text == "nap"
        driver.get(f"{base_url}/ui/runs")
        row = wait_until(
            driver, lambda d: d.find_element(By.CSS_SELECTOR, f'#list tr[data-id="{run_id}"]')
        )
        assert row.value_of_css_property("display") == "block"
        assert not driver.find_element(By.CSS_SELECTOR, "#list thead").is_displayed()
    finally:
        driver.quit()


def test_a_pipeline_shows_its_versions_and_its_schedule_is_paused_then_deleted(
    browser: webdriver.Chrome, base_url: str
) -> None:
    created = api(
        base_url,
        "/api/v1/workflow/pipeline/create",
        {"pipeline_yaml": "name: nightly\nentry_points:\n  a: {command: 'true'}\n"},
        ALICE,
    )
    pipeline_id = created["pipeline"]["pipeline_id"]
    schedule = api(
        base_url,
        "/api/v1/workflow/schedule/create",
        {"name": "every-night", "pipeline_id": pipeline_id, "crontab": "0 3 * * *"},
        ALICE,
    )["schedule"]["schedule_id"]
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/pipelines")
    row = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#list tr[data-id="{pipeline_id}"]')
    )
    row.find_element(By.CSS_SELECTOR, 'button[data-action="versions"]').click()
    versions = wait_until(browser, lambda d: row.find_elements(By.CSS_SELECTOR, ".versions li"))
    assert versions[0].text.startswith("v1 ")

    browser.get(f"{base_url}/ui/schedules")
    selector = f'#list tr[data-id="{schedule}"]'
    row = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, selector))
    assert row.find_element(By.CSS_SELECTOR, ".badge").text == "active"
    row.find_element(By.CSS_SELECTOR, 'button[data-action="pause"]').click()
    confirm(browser)
    wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{selector} .badge").text == "stopped"
    )
    browser.find_element(By.CSS_SELECTOR, f'{selector} button[data-action="delete"]').click()
    confirm(browser)
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, selector))
    assert api(base_url, "/api/v1/workflow/schedule/list", {}, ALICE)["schedules"] == []


def test_a_refused_step_action_shows_the_apis_message(
    browser: webdriver.Chrome, base_url: str
) -> None:
    run_id = create_run(base_url, "name: quick\nentry_points:\n  a: {command: 'true'}\n", ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: job_state(d) == "succeeded")
    open_node(browser, "a")
    click_action(browser, "node-actions", "stop-step")
    confirm(browser)
    shown = wait_until(browser, refusal_shown)
    # The API's answer to the same call: FAILED_PRECONDITION, in its own words.
    request = urllib.request.Request(
        base_url + "/api/v1/stepexecution/act",
        data=json.dumps(
            {"run_id": run_id, "step_name": "a", "action": "STEP_ACTION_STOP"}
        ).encode(),
        headers={"Content-Type": "application/json", "Token": ALICE},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert shown == json.loads(refused.value.read())["message"]


def test_retrying_a_failed_run_opens_the_new_run(browser: webdriver.Chrome, base_url: str) -> None:
    run_id = create_run(base_url, "name: flaky\nentry_points:\n  a: {command: 'exit 1'}\n", ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: job_state(d) == "failed")
    click_action(browser, "actions", "retry")
    confirm(browser)
    wait_until(browser, lambda d: "/ui/runs/" in d.current_url and run_id not in d.current_url)
    new_run = browser.current_url.rsplit("/", 1)[1]
    answer = api(base_url, "/api/v1/workflow/run/get", {"run_id": new_run}, ALICE)
    assert answer["run"]["retried_from"] == run_id
    wait_until(browser, lambda d: job_state(d) == "failed")
