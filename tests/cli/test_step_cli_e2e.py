"""`dagwire step list|get|retry|stop|continue|watch` against a real server: what each
prints and its exit status."""

from __future__ import annotations

import json
import re
from typing import Any

from dagwire.client import DagwireClient, StepExecutionStatus
from tests.cli.conftest import Run

GATED = """
name: gated
entry_points:
  train:
    command: "test {{mode}} = fixed"
    parameters: {mode: broken}
"""
CONFIRM = """
name: confirm
entry_points:
  publish: {hold: true, command: "echo {{target}}", parameters: {target: staging}}
"""
SLOW = 'name: slow\nentry_points:\n  nap: {command: "sleep 30"}\n'


def start(dagwire_server: Any, text: str, wait: bool = True) -> str:
    with DagwireClient(target=dagwire_server.address) as client:
        handle = client.create_run(text)
        if wait:
            handle.result(timeout=20)
        return handle.run_id


def test_step_retry_with_a_param_fixes_the_step(cli: Run, dagwire_server: Any) -> None:
    run_id = start(dagwire_server, GATED)
    listed = cli("--json", "step", "list", run_id, "--status", "failed")
    assert listed.exit_code == 0, listed.stderr
    assert [s["step_name"] for s in json.loads(listed.stdout)["step_executions"]] == ["train"]

    retried = cli("step", "retry", run_id, "train", "--param", "mode=fixed")
    assert retried.exit_code == 0, retried.stderr
    assert retried.stdout.startswith("retry: step train is ")

    watched = cli("step", "watch", run_id, "--timeout", "20")
    assert watched.exit_code == 0, watched.stderr
    assert re.search(r" train completed$", watched.stdout.strip().splitlines()[-1])


def test_step_get_by_uuid_alone(cli: Run, dagwire_server: Any) -> None:
    run_id = start(dagwire_server, GATED)
    uuid = json.loads(cli("--json", "step", "get", run_id, "train").stdout)["uuid"]
    found = cli("--json", "step", "get", "--uuid", uuid)
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["run_id"] == run_id


def wait_for(dagwire_server: Any, run_id: str, step: str, status: StepExecutionStatus) -> None:
    with DagwireClient(target=dagwire_server.address) as client:
        for change in client.watch_steps(run_id, [step], timeout_seconds=20):
            if change.status is status:
                return
    raise AssertionError(f"{step} never became {status.value}")


def test_step_continue_releases_a_held_step(cli: Run, dagwire_server: Any) -> None:
    run_id = start(dagwire_server, CONFIRM, wait=False)
    wait_for(dagwire_server, run_id, "publish", StepExecutionStatus.HOLD)

    released = cli("step", "continue", run_id, "publish", "--data", "target=prod")

    assert released.exit_code == 0, released.stderr
    with DagwireClient(target=dagwire_server.address) as client:
        client.run_handle(run_id).result(timeout=20)
        assert client.get_run_log(run_id, "publish")[0].log_content == "prod\n"


def test_step_stop_stops_a_running_step(cli: Run, dagwire_server: Any) -> None:
    run_id = start(dagwire_server, SLOW, wait=False)
    wait_for(dagwire_server, run_id, "nap", StepExecutionStatus.RUNNING)

    stopped = cli("step", "stop", run_id, "nap")

    assert stopped.exit_code == 0, stopped.stderr
    # The answer comes before the process has exited.
    assert stopped.stdout.strip() == "stop: step nap is stopping"
    wait_for(dagwire_server, run_id, "nap", StepExecutionStatus.STOPPED)


def test_a_refused_action_exits_1_with_the_reason(cli: Run, dagwire_server: Any) -> None:
    run_id = start(dagwire_server, GATED)
    refused = cli("step", "continue", run_id, "train")
    assert refused.exit_code == 1
    assert "continue is not allowed" in refused.stderr
