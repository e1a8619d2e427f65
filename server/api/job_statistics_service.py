"""dagwire.v1.JobStatisticsService: what the party processes of Kuscia jobs cost.

Kuscia's JobService keeps Kuscia's messages exactly, so the figures the local executor's
reaper records for every party process (engine.usage, store.usage) are read here. The
caller sees the Kuscia jobs its domain is a party of (operators every one), as on
JobService; a pipeline run's job, or another tenant's, answers as a missing one.
"""

from __future__ import annotations

from typing import Any

import grpc

from dagwire.server.api.workflow_convert import usage_to_proto
from dagwire.server.api.workflow_status import workflow_errors
from dagwire.server.auth.policy import require_visible
from dagwire.server.auth.principal import current_principal
from dagwire.server.engine.errors import JobNotFound
from dagwire.server.engine.model import Job, JobKind
from dagwire.server.runtime.jobs import JobRuntime
from dagwire.server.workflow.errors import InvalidArgument, NotFound
from dagwire.server.workflow.statistics import UsageReader
from dagwire.v1 import job_statistics_request_response_pb2 as rr
from dagwire.v1 import job_statistics_service_pb2_grpc as rpc

Context = grpc.aio.ServicerContext[Any, Any]


class JobStatisticsServicer(rpc.JobStatisticsServiceServicer):
    def __init__(self, jobs: JobRuntime, usage: UsageReader) -> None:
        self._jobs = jobs
        self._usage = usage

    @workflow_errors
    async def GetJobStatistics(
        self, request: rr.GetJobStatisticsRequest, context: Context
    ) -> rr.GetJobStatisticsResponse:
        if not request.job_id:
            raise InvalidArgument.of("job_id", "is required")
        principal = current_principal()

        def guard(job: Job) -> None:
            if job.spec.kind is not JobKind.JOB:
                raise JobNotFound(job.job_id)
            require_visible(principal, job)

        job = await self._jobs.get(request.job_id, guard)
        aliases = {
            task.task_id: task.alias
            for task in job.spec.tasks
            if not request.task_id or request.task_id in (task.task_id, task.alias)
        }
        if not aliases:
            raise NotFound("task", f"{job.job_id}/{request.task_id}")
        records = await self._usage.for_job(job.job_id, job.create_time, list(aliases))
        order = {task.task_id: index for index, task in enumerate(job.spec.tasks)}
        records.sort(key=lambda r: (order.get(r.task_id, 0), r.domain_id, r.attempt))
        return rr.GetJobStatisticsResponse(
            statistics=[
                usage_to_proto(aliases[r.task_id], r, with_samples=request.with_samples)
                for r in records
                if r.task_id in aliases
            ]
        )
