"""The schedule RPCs of dagwire.v1.WorkflowService, as a mixin of the WorkflowServicer.

Each method decodes its request, calls the ScheduleService and encodes the answer;
domain errors become rich gRPC statuses through `workflow_errors`. The servicer that
mixes this in provides `self._schedules` and `schedule_runs()`, and must list the mixin
before the generated `WorkflowServiceServicer` among its bases (whose methods answer
UNIMPLEMENTED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from dagwire.server.api.tenancy import current_tenant
from dagwire.server.api.workflow_status import workflow_errors
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.scheduler import ScheduleService
from dagwire.server.workflow.schedules import (
    ConcurrencyPolicy,
    Schedule,
    ScheduleRequest,
    ScheduleStatus,
)
from dagwire.v1 import enums_pb2, message_pb2
from dagwire.v1 import workflow_request_response_pb2 as rr

POLICY_FROM_PROTO: Mapping[int, ConcurrencyPolicy | None] = {
    enums_pb2.CONCURRENCY_POLICY_UNSPECIFIED: None,
    enums_pb2.CONCURRENCY_POLICY_SUSPEND: ConcurrencyPolicy.SUSPEND,
    enums_pb2.CONCURRENCY_POLICY_REPLACE: ConcurrencyPolicy.REPLACE,
    enums_pb2.CONCURRENCY_POLICY_SKIP: ConcurrencyPolicy.SKIP,
}
POLICY_TO_PROTO: Mapping[ConcurrencyPolicy, enums_pb2.ConcurrencyPolicy.ValueType] = {
    ConcurrencyPolicy.SUSPEND: enums_pb2.CONCURRENCY_POLICY_SUSPEND,
    ConcurrencyPolicy.REPLACE: enums_pb2.CONCURRENCY_POLICY_REPLACE,
    ConcurrencyPolicy.SKIP: enums_pb2.CONCURRENCY_POLICY_SKIP,
}
Context = grpc.aio.ServicerContext[Any, Any]

STATUS_TO_PROTO: Mapping[ScheduleStatus, enums_pb2.ScheduleStatus.ValueType] = {
    ScheduleStatus.ACTIVE: enums_pb2.SCHEDULE_STATUS_ACTIVE,
    ScheduleStatus.STOPPED: enums_pb2.SCHEDULE_STATUS_STOPPED,
    ScheduleStatus.SUCCEEDED: enums_pb2.SCHEDULE_STATUS_SUCCEEDED,
    ScheduleStatus.FAILED: enums_pb2.SCHEDULE_STATUS_FAILED,
}


class ScheduleRpcs:
    """CreateSchedule, GetSchedule, ListSchedules, StopSchedule, DeleteSchedule."""

    _schedules: ScheduleService

    if TYPE_CHECKING:

        async def schedule_runs(self, schedule_id: str) -> list[message_pb2.Run]:
            """The schedule's runs (steps left out), newest first, at most 100."""
            ...

        async def check_pipeline_commands(
            self, tenant: Tenant, pipeline_id: str, version_id: str
        ) -> None:
            """Refuse a pipeline version whose command steps the caller may not run."""
            ...

    @workflow_errors
    async def CreateSchedule(
        self, request: rr.CreateScheduleRequest, context: Context
    ) -> rr.CreateScheduleResponse:
        tenant = current_tenant(request.username)
        # Its runs start later, without a caller: whether it may run commands is now.
        await self.check_pipeline_commands(tenant, request.pipeline_id, request.pipeline_version_id)
        schedule = await self._schedules.create(
            tenant, replace(schedule_request_from_proto(request), username=tenant.user)
        )
        return rr.CreateScheduleResponse(schedule=schedule_to_proto(schedule))

    @workflow_errors
    async def GetSchedule(
        self, request: rr.GetScheduleRequest, context: Context
    ) -> rr.GetScheduleResponse:
        schedule = await self._schedules.get(current_tenant(), request.schedule_id)
        runs = await self.schedule_runs(schedule.schedule_id)
        return rr.GetScheduleResponse(schedule=schedule_to_proto(schedule), runs=runs)

    @workflow_errors
    async def ListSchedules(
        self, request: rr.ListSchedulesRequest, context: Context
    ) -> rr.ListSchedulesResponse:
        found, token = await self._schedules.list(
            current_tenant(), request.page_size, request.page_token, request.filter
        )
        return rr.ListSchedulesResponse(
            schedules=[schedule_to_proto(schedule) for schedule in found],
            next_page_token=token,
        )

    @workflow_errors
    async def StopSchedule(
        self, request: rr.StopScheduleRequest, context: Context
    ) -> rr.StopScheduleResponse:
        schedule = await self._schedules.stop(current_tenant(), request.schedule_id)
        return rr.StopScheduleResponse(schedule=schedule_to_proto(schedule))

    @workflow_errors
    async def DeleteSchedule(
        self, request: rr.DeleteScheduleRequest, context: Context
    ) -> rr.DeleteScheduleResponse:
        await self._schedules.delete(current_tenant(), request.schedule_id)
        return rr.DeleteScheduleResponse()


def schedule_request_from_proto(request: rr.CreateScheduleRequest) -> ScheduleRequest:
    if request.concurrency_policy not in POLICY_FROM_PROTO:
        raise InvalidArgument.of(
            "concurrency_policy", f"unknown value {request.concurrency_policy}"
        )
    return ScheduleRequest(
        name=request.name,
        description=request.description,
        pipeline_id=request.pipeline_id,
        pipeline_version_id=request.pipeline_version_id,
        crontab=request.crontab,
        start_time=_time(request, "start_time"),
        end_time=_time(request, "end_time"),
        concurrency=request.concurrency,
        concurrency_policy=POLICY_FROM_PROTO[request.concurrency_policy],
        expire_interval=request.expire_interval,
        catchup=request.catchup,
        username=request.username,
        parameters=dict(request.parameters),
        request_id=request.request_id,
    )


def _time(request: rr.CreateScheduleRequest, field: str) -> datetime | None:
    if not request.HasField(field):  # type: ignore[arg-type]
        return None
    stamp: Timestamp = getattr(request, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument.of(field, "is not a valid timestamp") from None


def schedule_to_proto(schedule: Schedule) -> message_pb2.Schedule:
    message = message_pb2.Schedule(
        schedule_id=schedule.schedule_id,
        name=schedule.name,
        description=schedule.description,
        pipeline_id=schedule.pipeline_id,
        pipeline_version_id=schedule.pipeline_version_id,
        username=schedule.username,
        crontab=schedule.crontab,
        concurrency=schedule.concurrency,
        concurrency_policy=POLICY_TO_PROTO[schedule.concurrency_policy],
        expire_interval=schedule.expire_interval,
        catchup=schedule.catchup,
        status=STATUS_TO_PROTO[schedule.status],
        message=schedule.message,
        parameters=dict(schedule.parameters),
    )
    for field, moment in (
        ("start_time", schedule.start_time),
        ("end_time", schedule.end_time),
        ("next_run_time", schedule.next_run_time),
        ("create_time", schedule.create_time),
        ("update_time", schedule.update_time),
    ):
        if moment is not None:
            getattr(message, field).FromDatetime(moment)
    return message
