"""A held step (`hold: true`) reads as HOLD through the SDK, not as unknown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dagwire.client import DagwireClient, Run, StepStatus

HELD = """\
name: held
entry_points:
  a: {command: "echo a"}
  wait: {command: "echo wait", deps: a, hold: true}
"""


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def held(client: DagwireClient, run_id: str) -> Run:
    deadline = time.monotonic() + 20
    while True:
        run = client.get_run(run_id)
        if run.steps[1].status is not StepStatus.PENDING or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def test_a_held_step_is_hold_and_not_finished(client: DagwireClient) -> None:
    run = held(client, client.create_run(HELD).run.run_id)
    wait = run.steps[1]
    assert wait.name == "wait" and wait.status is StepStatus.HOLD
    assert not wait.status.is_finished
    assert StepStatus.parse("STEP_STATUS_HOLD") is StepStatus.HOLD
