"""StepExecutionService (``dagwire.v1``) calls as data: read, list, retry, stop and continue
the steps of runs, and the request that watches them. The asyncio client performs them
(client/_async.py), and the blocking one generated from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagwire.v1 import step_execution_request_response_pb2 as sr

from ._call import _Call
from ._step_models import StepAction, StepExecution, StepExecutionStatus
from ._workflow_calls import filter_expression
from ._workflow_models import Page

#: Parameter values of an action, by name (sent as text; True/False as true/false).
StepParameters = Mapping[str, Any] | None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _act_request(
    action: StepAction,
    run_id: str,
    step_name: str,
    uuid: str,
    parameters: StepParameters,
    data: Mapping[str, str] | None,
) -> sr.ActOnStepExecutionRequest:
    return sr.ActOnStepExecutionRequest(
        run_id=run_id,
        step_name=step_name,
        uuid=uuid,
        action=action._to_proto(),
        parameters=[
            sr.WorkflowParameter(name=name, value=_text(value))
            for name, value in (parameters or {}).items()
        ],
        data_requirements=[
            sr.DataRequirement(name=name, value={"value": value})
            for name, value in (data or {}).items()
        ],
    )


def _list_request(
    run_id: str, status: StepExecutionStatus | str | None, page_size: int, page_token: str
) -> sr.ListStepExecutionsRequest:
    if status is not None and status != "":
        status = StepExecutionStatus.parse(str(status))
    return sr.ListStepExecutionsRequest(
        run_id=run_id,
        page_size=page_size,
        page_token=page_token,
        filter=filter_expression(status=status),
    )


def _page(response: sr.ListStepExecutionsResponse) -> Page[StepExecution]:
    steps = tuple(StepExecution._from_proto(s) for s in response.step_executions)
    return Page(steps, str(response.next_page_token), raw=response)


def get_step_call(run_id: str, step_name: str, uuid: str) -> _Call[StepExecution]:
    request = sr.GetStepExecutionRequest(run_id=run_id, step_name=step_name, uuid=uuid)
    return _Call(
        "GetStepExecution",
        request,
        lambda response: StepExecution._from_proto(response.step_execution),
        "steps",
    )


def list_steps_call(
    run_id: str, status: StepExecutionStatus | str | None, page_size: int, page_token: str
) -> _Call[Page[StepExecution]]:
    return _Call(
        "ListStepExecutions", _list_request(run_id, status, page_size, page_token), _page, "steps"
    )


def act_on_step_call(
    action: StepAction | str,
    run_id: str,
    step_name: str,
    uuid: str,
    parameters: StepParameters,
    data: Mapping[str, str] | None,
) -> _Call[StepExecution]:
    request = _act_request(StepAction.parse(str(action)), run_id, step_name, uuid, parameters, data)
    return _Call(
        "ActOnStepExecution",
        request,
        lambda response: StepExecution._from_proto(response.step_execution),
        "steps",
    )


def watch_steps_request(
    run_id: str, step_names: Iterable[str], timeout_seconds: int
) -> sr.WatchStepExecutionsRequest:
    return sr.WatchStepExecutionsRequest(
        run_id=run_id, step_names=list(step_names), timeout_seconds=timeout_seconds
    )
