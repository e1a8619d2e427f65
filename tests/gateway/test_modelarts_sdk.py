"""ModelArts' step-execution actions at ModelArts' path, driven by Huawei Cloud's official
SDK (huaweicloudsdkmodelarts; the files each helper uses are listed in modelarts_sdk.py):
retry, continue and stop reach the step; each refusal is ModelArts' error code and HTTP
status. The server has no token file here: callers are operators, and signatures are
not checked (no access-key file)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkmodelarts.v1 import DataRequirement, WorkflowParameter

from dagwire.client import RunStatus
from tests.conftest import ServerThread
from tests.gateway.modelarts_sdk import Dagwire, Refusal, act, modelarts_client, refusal

pytestmark = pytest.mark.timeout(60)

GATED = """
name: gated
entry_points:
  train:
    command: "test {{mode}} = fixed"
    parameters: {mode: broken}
  ship: {command: "echo shipped", deps: train}
"""

CONFIRM = """
name: confirm
entry_points:
  prepare: {command: "echo prepared"}
  publish:
    deps: prepare
    hold: true
    command: "echo publishing {{target}}"
    parameters: {target: staging}
"""

SLOW = 'name: slow\nentry_points:\n  nap: {command: "sleep 30"}\n'


@pytest.fixture
def dagwire(dagwire_server: ServerThread) -> Iterator[Dagwire]:
    calls = Dagwire(dagwire_server)
    try:
        yield calls
    finally:
        calls.close()


@pytest.fixture
def sdk(dagwire_server: ServerThread) -> Any:
    return modelarts_client(dagwire_server)


def test_retry_with_a_parameter_that_fixes_the_step_leads_the_run_to_success(
    dagwire: Dagwire, sdk: Any
) -> None:
    handle = dagwire.client.create_run(GATED)
    assert handle.result(timeout=20).status is RunStatus.FAILED
    train = dagwire.step(handle.run_id, "train")

    answer = act(
        sdk,
        train,
        "retry",
        parameters=[WorkflowParameter(name="mode", type="str", value="fixed")],
    )

    assert (answer.status_code, answer.uuid, answer.step_name) == (201, train.uuid, "train")
    assert handle.result(timeout=20).status is RunStatus.SUCCEEDED
    assert dagwire.step(handle.run_id, "train").attempt == 2


def test_continue_releases_a_held_step_with_the_data_it_was_given(
    dagwire: Dagwire, sdk: Any
) -> None:
    handle = dagwire.client.create_run(CONFIRM)
    held = dagwire.wait_for(handle.run_id, "publish", "HOLD")

    answer = act(
        sdk,
        held,
        "continue",
        data_requirements=[
            DataRequirement(name="target", type="obs", value={"value": "production"})
        ],
    )

    assert answer.status_code == 201
    assert handle.result(timeout=20).status is RunStatus.SUCCEEDED
    logs = handle.logs("publish")
    assert logs[0].log_content == "publishing production\n"


def test_stop_ends_a_running_step(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(SLOW)
    running = dagwire.wait_for(handle.run_id, "nap", "RUNNING")

    answer = act(sdk, running, "stop")

    # ModelArts' stopping: the stop is recorded, the process not yet gone.
    assert (answer.status_code, answer.status) == (201, "stopping")
    assert handle.result(timeout=20).status is RunStatus.FAILED
    dagwire.wait_for(handle.run_id, "nap", "STOPPED")


def test_the_answer_names_fields_as_modelarts_does(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")

    answer = act(sdk, train, "retry", parameters=[WorkflowParameter(name="mode", value="x")])

    assert answer.type == "job" and answer.status in ("creating", "pending", "failed")
    assert answer.duration is not None and answer.policy.use_cache is False
    assert answer.policy.execution_policy == "stop"
    assert {i.name: i.type for i in answer.inputs} == {"mode": "parameter"}
    assert answer.created_at.endswith("+00:00")


@pytest.mark.parametrize(
    ("action", "parameters", "expected"),
    [
        pytest.param("restart", None, (400, "ModelArts.0104"), id="unknown-action"),
        pytest.param("continue", None, (400, "ModelArts.0104"), id="not-held"),
        pytest.param(
            "retry",
            [WorkflowParameter(name="epochs", value="3")],
            (400, "ModelArts.0104"),
            id="unknown-parameter",
        ),
        pytest.param(
            "retry",
            [WorkflowParameter(name="mode", type="int", value="fixed")],
            (400, "ModelArts.0104"),
            id="value-not-of-its-type",
        ),
        pytest.param(
            "retry",
            [WorkflowParameter(name="mode", value="fixed", enum=["a", "b"])],
            (400, "ModelArts.0104"),
            id="value-not-in-its-enum",
        ),
    ],
)
def test_a_refused_action_is_modelarts_parameter_error(
    dagwire: Dagwire,
    sdk: Any,
    action: str,
    parameters: list[WorkflowParameter] | None,
    expected: tuple[int, str],
) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")

    refused = refusal(lambda: act(sdk, train, action, parameters=parameters))

    assert (refused.status_code, refused.error_code) == expected
    assert dagwire.step(handle.run_id, "train").attempt == 1  # nothing ran


def test_an_unknown_parameter_is_named_in_the_message(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")

    refused = refusal(
        lambda: act(sdk, train, "retry", parameters=[WorkflowParameter(name="epochs", value="3")])
    )

    assert "epochs" in refused.error_msg


def test_an_unknown_execution_is_modelarts_7511(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")
    train.run_id = "run-00000000"

    assert refusal(lambda: act(sdk, train, "retry")) == Refusal(
        400, "ModelArts.7511", "Execution run-00000000 not found"
    )


def test_an_unknown_step_execution_is_modelarts_7511(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")
    train.uuid = "0f6c2d1e-0000-4000-8000-000000000000"

    refused = refusal(lambda: act(sdk, train, "retry"))

    assert (refused.status_code, refused.error_code) == (400, "ModelArts.7511")
    assert refused.error_msg == f"StepExecution {train.uuid} not found"


def test_a_workflow_the_execution_is_not_of_is_modelarts_7512(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")

    refused = refusal(lambda: act(sdk, train, "retry", workflow_id="ppl-00000000"))

    assert refused == Refusal(400, "ModelArts.7512", "Workflow ppl-00000000 not found")
    assert dagwire.step(handle.run_id, "train").attempt == 1


def test_a_run_of_a_pipeline_is_named_by_the_pipeline_as_its_workflow(
    dagwire: Dagwire, sdk: Any
) -> None:
    pipeline = dagwire.client.create_pipeline(GATED)
    handle = dagwire.client.create_run(pipeline_id=pipeline.pipeline_id)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")
    assert train.workflow_id == pipeline.pipeline_id

    answer = act(sdk, train, "retry", parameters=[WorkflowParameter(name="mode", value="fixed")])

    assert answer.status_code == 201
    assert handle.result(timeout=20).status is RunStatus.SUCCEEDED
    refused = refusal(lambda: act(sdk, train, "retry", workflow_id=handle.run_id))
    assert (refused.status_code, refused.error_code) == (400, "ModelArts.7512")


def test_an_action_the_status_forbids_says_the_status(dagwire: Dagwire, sdk: Any) -> None:
    handle = dagwire.client.create_run(GATED)
    handle.result(timeout=20)
    train = dagwire.step(handle.run_id, "train")

    refused = refusal(lambda: act(sdk, train, "continue"))

    assert (refused.status_code, refused.error_code) == (400, "ModelArts.0104")
    assert "it is failed; continue is not allowed" in refused.error_msg
