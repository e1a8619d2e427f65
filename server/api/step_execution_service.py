"""dagwire.v1.StepExecutionService: thin servicer over StepExecutions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc

from dagwire.server.api import step_action_convert as actions
from dagwire.server.api import workflow_convert as convert
from dagwire.server.api.tenancy import current_tenant
from dagwire.server.api.workflow_status import workflow_errors, workflow_stream_errors
from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.executions import StepExecutions
from dagwire.v1 import step_execution_request_response_pb2 as rr
from dagwire.v1 import step_execution_service_pb2_grpc as rpc

Context = grpc.aio.ServicerContext[Any, Any]
MAX_WATCH_TIMEOUT = 2**31 - 1


def _now() -> datetime:
    return datetime.now(UTC)


class StepExecutionServicer(rpc.StepExecutionServiceServicer):
    def __init__(self, steps: StepExecutions, heartbeat_interval: float) -> None:
        self._steps = steps
        self._heartbeat_interval = heartbeat_interval

    @workflow_errors
    async def GetStepExecution(
        self, request: rr.GetStepExecutionRequest, context: Context
    ) -> rr.GetStepExecutionResponse:
        step = await self._steps.get(
            current_tenant(), request.run_id, request.step_name, request.uuid
        )
        return rr.GetStepExecutionResponse(
            step_execution=convert.step_execution_to_proto(step, _now())
        )

    @workflow_errors
    async def ListStepExecutions(
        self, request: rr.ListStepExecutionsRequest, context: Context
    ) -> rr.ListStepExecutionsResponse:
        steps, token = await self._steps.list(
            current_tenant(), request.run_id, request.page_size, request.page_token, request.filter
        )
        now = _now()
        return rr.ListStepExecutionsResponse(
            step_executions=[convert.step_execution_to_proto(s, now) for s in steps],
            next_page_token=token,
        )

    @workflow_errors
    async def ActOnStepExecution(
        self, request: rr.ActOnStepExecutionRequest, context: Context
    ) -> rr.ActOnStepExecutionResponse:
        tenant = current_tenant()
        action = convert.STEP_ACTIONS.get(request.action)
        if action is None:
            raise InvalidArgument.of("action", "must be retry, stop or continue")
        step = await self._steps.act(
            tenant,
            request.run_id,
            request.step_name,
            request.uuid,
            action,
            actions.parameters_from_proto(request),
            actions.data_requirements_from_proto(request),
        )
        return rr.ActOnStepExecutionResponse(
            step_execution=convert.step_execution_to_proto(step, _now())
        )

    @workflow_stream_errors
    async def WatchStepExecutions(
        self, request: rr.WatchStepExecutionsRequest, context: Context
    ) -> AsyncIterator[rr.WatchStepExecutionsResponse]:
        tenant = current_tenant()
        if not 0 <= request.timeout_seconds <= MAX_WATCH_TIMEOUT:
            raise InvalidArgument.of("timeout_seconds", f"must be within [0, {MAX_WATCH_TIMEOUT}]")
        transitions = self._steps.watch(
            tenant,
            request.run_id,
            set(request.step_names),
            self._heartbeat_interval,
            float(request.timeout_seconds) or None,
        )
        async for transition in transitions:
            yield rr.WatchStepExecutionsResponse(
                status=convert.STEP_EXECUTION_STATUSES[transition.status],  # type: ignore[arg-type]
                time=convert.timestamp(transition.event.time),
                message=transition.message,
                step_execution=convert.step_execution_to_proto(transition.step, _now()),
                resource_version=transition.resource_version,
            )
