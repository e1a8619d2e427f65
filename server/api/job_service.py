"""The Kuscia-compatible JobService: decode -> runtime call -> encode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.api import convert
from dagwire.server.api.status import kuscia_errors, success
from dagwire.server.bus.base import EventBus, SubscriberOverflow
from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.runtime.jobs import JobRuntime
from dagwire.server.runtime.watch import ResumeExpired, WatchFilter, watch_jobs
from dagwire.server.store.base import JobStore

Context = grpc.aio.ServicerContext[Any, Any]

MAX_WATCH_TIMEOUT = 2**31 - 1

_DECISIONS = {pb.APPROVE_RESULT_ACCEPT: True, pb.APPROVE_RESULT_REJECT: False}


def _require_job_id(job_id: str) -> str:
    if not job_id:
        raise InvalidRequest("job_id is required")
    return job_id


class JobServicer(job_pb2_grpc.JobServiceServicer):
    def __init__(
        self, runtime: JobRuntime, store: JobStore, bus: EventBus, heartbeat_interval: float
    ) -> None:
        self._runtime = runtime
        self._store = store
        self._bus = bus
        self._heartbeat_interval = heartbeat_interval

    @kuscia_errors("CreateJob", pb.CreateJobResponse)
    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        job = await self._runtime.create(convert.job_spec_from_proto(request))
        return pb.CreateJobResponse(
            status=success(), data=pb.CreateJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("QueryJob", pb.QueryJobResponse)
    async def QueryJob(self, request: pb.QueryJobRequest, context: Context) -> pb.QueryJobResponse:
        job = await self._runtime.get(_require_job_id(request.job_id))
        return pb.QueryJobResponse(status=success(), data=convert.query_data(job))

    @kuscia_errors("BatchQueryJobStatus", pb.BatchQueryJobStatusResponse)
    async def BatchQueryJobStatus(
        self, request: pb.BatchQueryJobStatusRequest, context: Context
    ) -> pb.BatchQueryJobStatusResponse:
        if not request.job_ids or not all(request.job_ids):
            raise InvalidRequest("job_ids must list at least one non-empty job id")
        jobs = await self._runtime.get_many(list(request.job_ids))
        data = pb.BatchQueryJobStatusResponseData(jobs=[convert.job_status(job) for job in jobs])
        return pb.BatchQueryJobStatusResponse(status=success(), data=data)

    @kuscia_errors("DeleteJob", pb.DeleteJobResponse)
    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        await self._runtime.delete(_require_job_id(request.job_id))
        return pb.DeleteJobResponse(
            status=success(), data=pb.DeleteJobResponseData(job_id=request.job_id)
        )

    @kuscia_errors("StopJob", pb.StopJobResponse)
    async def StopJob(self, request: pb.StopJobRequest, context: Context) -> pb.StopJobResponse:
        job = await self._runtime.stop(_require_job_id(request.job_id), request.reason)
        return pb.StopJobResponse(status=success(), data=pb.StopJobResponseData(job_id=job.job_id))

    @kuscia_errors("SuspendJob", pb.SuspendJobResponse)
    async def SuspendJob(
        self, request: pb.SuspendJobRequest, context: Context
    ) -> pb.SuspendJobResponse:
        job = await self._runtime.suspend(_require_job_id(request.job_id), request.reason)
        return pb.SuspendJobResponse(
            status=success(), data=pb.SuspendJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("RestartJob", pb.RestartJobResponse)
    async def RestartJob(
        self, request: pb.RestartJobRequest, context: Context
    ) -> pb.RestartJobResponse:
        job = await self._runtime.restart(_require_job_id(request.job_id), request.reason)
        return pb.RestartJobResponse(
            status=success(), data=pb.RestartJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("CancelJob", pb.CancelJobResponse)
    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        job = await self._runtime.cancel(_require_job_id(request.job_id), request.reason)
        return pb.CancelJobResponse(
            status=success(), data=pb.CancelJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("ApproveJob", pb.ApproveJobResponse)
    async def ApproveJob(
        self, request: pb.ApproveJobRequest, context: Context
    ) -> pb.ApproveJobResponse:
        if request.result not in _DECISIONS:
            raise InvalidRequest(
                "result must be APPROVE_RESULT_ACCEPT or APPROVE_RESULT_REJECT, "
                f"got {request.result}"
            )
        job = await self._runtime.approve(
            _require_job_id(request.job_id),
            request.domain_id or None,
            _DECISIONS[request.result],
            request.reason,
        )
        return pb.ApproveJobResponse(
            status=success(), data=pb.ApproveJobResponseData(job_id=job.job_id)
        )

    async def WatchJob(
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobEventResponse]:
        if not 0 <= request.timeout_seconds <= MAX_WATCH_TIMEOUT:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"timeout_seconds must be within [0, {MAX_WATCH_TIMEOUT}], "
                f"got {request.timeout_seconds}",
            )
        if request.resume_from < 0:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"resume_from must not be negative, got {request.resume_from}",
            )
        events = watch_jobs(
            self._store,
            self._bus,
            where=WatchFilter(job_ids=frozenset(request.job_ids)),
            resume_from=request.resume_from,
            heartbeat_interval=self._heartbeat_interval,
            lifetime=float(request.timeout_seconds) or None,
        )
        last = request.resume_from
        try:
            async for event in events:
                last = event.resource_version
                yield convert.watch_event(event)
        except ResumeExpired as error:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, str(error))
        except SubscriberOverflow as error:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{error}; resume with resume_from={last}",
            )
        finally:
            await events.aclose()
