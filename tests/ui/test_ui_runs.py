"""A pipeline run in the browser: sign in, watch a diamond turn green step by step with no
reload, read a failed step's log, retry it with a parameter and see the run succeed."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.ui.conftest import (
    ALICE,
    click_action,
    confirm,
    create_run,
    node_state,
    open_node,
    sign_in,
    wait_until,
)


def gated(name: str, gate: Path, deps: str = "") -> str:
    """A step that runs until its gate file appears: the test decides when it ends."""
    after = f", deps: '{deps}'" if deps else ""
    return f"  {name}: {{command: 'while [ ! -f {gate} ]; do sleep 0.05; done'{after}}}\n"


def test_signing_in_shows_the_runs_list(browser: webdriver.Chrome, base_url: str) -> None:
    sign_in(browser, base_url, ALICE)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pipeline runs"
    assert browser.find_element(By.ID, "signout").is_displayed()


def test_a_wrong_token_is_refused_with_the_apis_message(
    browser: webdriver.Chrome, base_url: str
) -> None:
    browser.get(base_url + "/ui/signin")
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.ID, "signin-submit").click()
    text = wait_until(browser, lambda d: d.find_element(By.ID, "notice").text)
    assert text == "Sign-in refused: invalid token"
    assert browser.current_url.endswith("/ui/signin")


def test_a_running_diamond_turns_green_node_by_node_without_reload(
    browser: webdriver.Chrome, base_url: str, tmp_path: Path
) -> None:
    gates = {name: tmp_path / f"go-{name}" for name in "abcd"}
    run_yaml = (
        "name: diamond\nentry_points:\n"
        + gated("a", gates["a"])
        + gated("b", gates["b"], "a")
        + gated("c", gates["c"], "a")
        + gated("d", gates["d"], "b,c")
    )
    run_id = create_run(base_url, run_yaml, ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: node_state(d, "a") == "running")
    # A mark on the page: a reload would drop it.
    browser.execute_script("window.notReloaded = true")
    assert [node_state(browser, n) for n in "bcd"] == ["pending"] * 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph path.edge")) == 4

    done: list[str] = []
    for name in "abcd":
        gates[name].touch()
        done.append(name)
        wait_until(browser, lambda d, n=name: node_state(d, n) == "succeeded")
        assert all(node_state(browser, n) != "succeeded" for n in "abcd" if n not in done)
    wait_until(
        browser, lambda d: d.find_element(By.ID, "state").get_attribute("data-state") == "succeeded"
    )
    assert browser.execute_script("return window.notReloaded") is True


def test_a_failed_steps_log_shows_and_a_retry_with_a_parameter_succeeds(
    browser: webdriver.Chrome, base_url: str
) -> None:
    run_yaml = (
        "name: second-chance\nentry_points:\n"
        "  prepare: {command: 'echo prepared'}\n"
        "  train: {command: 'echo training with code {{code}}; exit {{code}}', "
        "deps: prepare, parameters: {code: 3}}\n"
    )
    run_id = create_run(base_url, run_yaml, ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: node_state(d, "train") == "failed")
    open_node(browser, "train")
    log = browser.find_element(By.ID, "log")
    wait_until(browser, lambda d: "training with code 3" in log.text)
    assert browser.find_element(By.CSS_SELECTOR, '#detail-fields dd[data-field="status"]').text == (
        "failed"
    )

    click_action(browser, "node-actions", "retry-step")
    confirm(browser, code="0")
    wait_until(
        browser, lambda d: d.find_element(By.ID, "state").get_attribute("data-state") == "succeeded"
    )
    assert node_state(browser, "train") == "succeeded"
    # The log follows the retry: the new attempt's text replaces the old.
    wait_until(browser, lambda d: "training with code 0" in log.text)
    assert "code 3" not in log.text
    assert log.get_attribute("data-attempt") == "2"


def test_a_running_steps_log_grows_on_the_page(
    browser: webdriver.Chrome, base_url: str, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    run_yaml = (
        "name: chatty\nentry_points:\n"
        f"  talk: {{command: 'echo first; while [ ! -f {gate} ]; do sleep 0.05; done; echo second'}}\n"
    )
    run_id = create_run(base_url, run_yaml, ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    open_node(browser, "talk")
    log = browser.find_element(By.ID, "log")
    wait_until(browser, lambda d: log.text == "first")
    assert log.get_attribute("data-finished") == "false"
    gate.touch()
    wait_until(browser, lambda d: log.text == "first\nsecond")
    wait_until(browser, lambda d: log.get_attribute("data-finished") == "true")


def test_sub_dags_and_loop_copies_are_boxed(browser: webdriver.Chrome, base_url: str) -> None:
    run_yaml = (
        "name: nested\nentry_points:\n"
        "  ingest:\n    entry_points:\n"
        "      fetch: {command: 'true'}\n      clean: {command: 'true', deps: fetch}\n"
        "  shard: {command: 'true', deps: ingest, loop_argument: [a, b, c]}\n"
    )
    run_id = create_run(base_url, run_yaml, ALICE)
    sign_in(browser, base_url, ALICE)
    browser.get(f"{base_url}/ui/runs/{run_id}")
    wait_until(browser, lambda d: node_state(d, "shard-2"))
    clusters = {
        c.get_attribute("data-cluster"): c.text
        for c in browser.find_elements(By.CSS_SELECTOR, "#graph g.cluster")
    }
    assert clusters == {"dag:ingest": "ingest", "loop:shard": "shard (loop)"}
    nodes = {
        n.get_attribute("data-node")
        for n in browser.find_elements(By.CSS_SELECTOR, "#graph g.node")
    }
    assert nodes == {"ingest.fetch", "ingest.clean", "shard", "shard-1", "shard-2"}
