"""StepExecutionService (``dagwire.v1``) on both clients: read, list, retry, stop, continue
and watch the steps of runs. Requests are built once here; ``StepCalls`` and
``AsyncStepCalls`` are the sync and asyncio twins the two clients inherit, so that neither
client module holds step code of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Mapping
from typing import Any

import grpc

from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc

from ._errors import error_from_rpc
from ._step_models import StepAction, StepExecution, StepExecutionStatus, StepTransition
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


class StepCalls:
    """The step calls of DagwireClient (it provides the channel, timeout and metadata)."""

    _channel: grpc.Channel
    timeout: float | None
    _metadata: tuple[tuple[str, str], ...]

    def _steps(self) -> Any:
        return step_execution_service_pb2_grpc.StepExecutionServiceStub(self._channel)

    def _step_call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._steps(), method)(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def get_step(self, run_id: str = "", step_name: str = "", *, uuid: str = "") -> StepExecution:
        """One step, by run and name, or by its uuid alone; NotFoundError if there is none."""
        request = sr.GetStepExecutionRequest(run_id=run_id, step_name=step_name, uuid=uuid)
        return StepExecution._from_proto(
            self._step_call("GetStepExecution", request).step_execution
        )

    def list_steps(
        self,
        run_id: str,
        *,
        status: StepExecutionStatus | str | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[StepExecution]:
        """One page of a run's steps, in spec order, optionally of one status."""
        request = _list_request(run_id, status, page_size, page_token)
        return _page(self._step_call("ListStepExecutions", request))

    def act_on_step(
        self,
        action: StepAction | str,
        run_id: str = "",
        step_name: str = "",
        *,
        uuid: str = "",
        parameters: StepParameters = None,
        data: Mapping[str, str] | None = None,
    ) -> StepExecution:
        """Retry, stop or continue a step; the step after the action. ``parameters`` and
        ``data`` (data requirements, by name) override the step's parameters."""
        action = StepAction.parse(str(action))
        request = _act_request(action, run_id, step_name, uuid, parameters, data)
        return StepExecution._from_proto(
            self._step_call("ActOnStepExecution", request).step_execution
        )

    def retry_step(self, run_id: str = "", step_name: str = "", **options: Any) -> StepExecution:
        """Run a failed, stopped or held step again (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.RETRY, run_id, step_name, **options)

    def stop_step(self, run_id: str = "", step_name: str = "", **options: Any) -> StepExecution:
        """Stop a running step (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.STOP, run_id, step_name, **options)

    def continue_step(self, run_id: str = "", step_name: str = "", **options: Any) -> StepExecution:
        """Release a held step (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.CONTINUE, run_id, step_name, **options)

    def watch_steps(
        self, run_id: str, step_names: Iterable[str] = (), *, timeout_seconds: int = 0
    ) -> Generator[StepTransition, None, None]:
        """Every status change of the run's steps, the history first; ends with the run
        (or after ``timeout_seconds``)."""
        request = sr.WatchStepExecutionsRequest(
            run_id=run_id, step_names=list(step_names), timeout_seconds=timeout_seconds
        )
        stream = self._steps().WatchStepExecutions(request, metadata=self._metadata)
        try:
            for event in stream:
                yield StepTransition._from_proto(event)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            stream.cancel()


class AsyncStepCalls:
    """The step calls of AsyncDagwireClient, the twins of :class:`StepCalls`."""

    _channel: grpc.aio.Channel | None
    _stub: Any
    timeout: float | None
    _metadata: tuple[tuple[str, str], ...]

    def _steps(self) -> Any:
        self._stub  # noqa: B018  # opens the channel on first use, as the client's own calls do
        assert self._channel is not None
        return step_execution_service_pb2_grpc.StepExecutionServiceStub(self._channel)

    async def _step_call(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._steps(), method)(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    async def get_step(
        self, run_id: str = "", step_name: str = "", *, uuid: str = ""
    ) -> StepExecution:
        """See :meth:`StepCalls.get_step`."""
        request = sr.GetStepExecutionRequest(run_id=run_id, step_name=step_name, uuid=uuid)
        response = await self._step_call("GetStepExecution", request)
        return StepExecution._from_proto(response.step_execution)

    async def list_steps(
        self,
        run_id: str,
        *,
        status: StepExecutionStatus | str | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[StepExecution]:
        """See :meth:`StepCalls.list_steps`."""
        request = _list_request(run_id, status, page_size, page_token)
        return _page(await self._step_call("ListStepExecutions", request))

    async def act_on_step(
        self,
        action: StepAction | str,
        run_id: str = "",
        step_name: str = "",
        *,
        uuid: str = "",
        parameters: StepParameters = None,
        data: Mapping[str, str] | None = None,
    ) -> StepExecution:
        """See :meth:`StepCalls.act_on_step`."""
        action = StepAction.parse(str(action))
        request = _act_request(action, run_id, step_name, uuid, parameters, data)
        response = await self._step_call("ActOnStepExecution", request)
        return StepExecution._from_proto(response.step_execution)

    async def retry_step(
        self, run_id: str = "", step_name: str = "", **options: Any
    ) -> StepExecution:
        """See :meth:`StepCalls.retry_step`."""
        return await self.act_on_step(StepAction.RETRY, run_id, step_name, **options)

    async def stop_step(
        self, run_id: str = "", step_name: str = "", **options: Any
    ) -> StepExecution:
        """See :meth:`StepCalls.stop_step`."""
        return await self.act_on_step(StepAction.STOP, run_id, step_name, **options)

    async def continue_step(
        self, run_id: str = "", step_name: str = "", **options: Any
    ) -> StepExecution:
        """See :meth:`StepCalls.continue_step`."""
        return await self.act_on_step(StepAction.CONTINUE, run_id, step_name, **options)

    async def watch_steps(
        self, run_id: str, step_names: Iterable[str] = (), *, timeout_seconds: int = 0
    ) -> AsyncIterator[StepTransition]:
        """See :meth:`StepCalls.watch_steps`."""
        request = sr.WatchStepExecutionsRequest(
            run_id=run_id, step_names=list(step_names), timeout_seconds=timeout_seconds
        )
        stream = self._steps().WatchStepExecutions(request, metadata=self._metadata)
        try:
            async for event in stream:
                yield StepTransition._from_proto(event)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            stream.cancel()
