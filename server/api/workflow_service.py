"""dagwire.v1.WorkflowService: thin servicer over WorkflowRuntime.

Each method: decode -> runtime call -> encode. Domain errors become gRPC statuses with
google.rpc details through one decorator (api/workflow_status.py). Every call acts for
the caller's tenant (api/tenancy.py): it sees and acts on its domain's resources only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from dagwire.server.api import workflow_convert as convert
from dagwire.server.api.command_policy import CommandPolicy
from dagwire.server.api.tenancy import current_tenant
from dagwire.server.api.workflow_file_systems import FileSystemRpcs
from dagwire.server.api.workflow_schedules import ScheduleRpcs
from dagwire.server.api.workflow_status import workflow_errors, workflow_stream_errors
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.runtime.watch import WatchEventType
from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.fs_registry import FileSystems
from dagwire.server.workflow.outputs import RunOutputs
from dagwire.server.workflow.paging import Listing, encode_token
from dagwire.server.workflow.pipelines import Pipelines
from dagwire.server.workflow.runs import NewRun, RunView, WorkflowRuntime
from dagwire.server.workflow.scheduler import ScheduleService
from dagwire.server.workflow.spec import parse_pipeline
from dagwire.server.workflow.statistics import RunStatistics
from dagwire.server.workflow.status import STEP_STATUS
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc

Context = grpc.aio.ServicerContext[Any, Any]
MAX_WATCH_TIMEOUT = 2**31 - 1


class WorkflowServicer(ScheduleRpcs, FileSystemRpcs, rpc.WorkflowServiceServicer):
    def __init__(
        self,
        pipelines: Pipelines,
        runs: WorkflowRuntime,
        outputs: RunOutputs,
        schedules: ScheduleService,
        heartbeat_interval: float,
        commands: CommandPolicy | None = None,
        file_systems: FileSystems | None = None,
        statistics: RunStatistics | None = None,
    ) -> None:
        self._commands = commands or CommandPolicy()
        if file_systems is not None:
            self._file_systems = file_systems
        self._pipelines = pipelines
        self._runtime = runs
        self._outputs = outputs
        self._schedules = schedules
        self._heartbeat_interval = heartbeat_interval
        # None: a server without usage records (tests that build a servicer alone).
        self._statistics = statistics

    # --- pipelines -------------------------------------------------------------------

    @workflow_errors
    async def CreatePipeline(
        self, request: rr.CreatePipelineRequest, context: Context
    ) -> rr.CreatePipelineResponse:
        tenant = current_tenant(request.username)
        text = await self._spec_text(tenant, request)
        self._commands.check(parse_pipeline(text, "pipeline_yaml"))
        pipeline, version = await self._pipelines.create_pipeline(
            tenant, text, request.description, request.request_id
        )
        return rr.CreatePipelineResponse(
            pipeline=convert.pipeline_to_proto(pipeline),
            pipeline_version=convert.version_to_proto(version),
        )

    async def _spec_text(
        self, tenant: Tenant, request: rr.CreatePipelineRequest | rr.UpdatePipelineRequest
    ) -> str:
        """The spec a pipeline request gives: pipeline_yaml, or the file at
        pipeline_yaml_path in its fs_name file system."""
        if not request.pipeline_yaml_path:
            return request.pipeline_yaml
        if request.pipeline_yaml:
            raise InvalidArgument.of(
                "pipeline_yaml", "give pipeline_yaml or pipeline_yaml_path, not both"
            )
        return await self._runtime.spec_in_fs(
            tenant, request.fs_name, request.pipeline_yaml_path, "pipeline_yaml_path"
        )

    @workflow_errors
    async def GetPipeline(
        self, request: rr.GetPipelineRequest, context: Context
    ) -> rr.GetPipelineResponse:
        pipeline, versions = await self._pipelines.get_pipeline(
            current_tenant(), request.pipeline_id, request.page_size, request.page_token
        )
        return rr.GetPipelineResponse(
            pipeline=convert.pipeline_to_proto(pipeline),
            pipeline_versions=[convert.version_to_proto(v) for v in versions.items],
            # A token is bound to the pipeline it pages (in place of a filter).
            next_page_token=encode_token(
                Listing.PIPELINE_VERSIONS, versions.next_token, request.pipeline_id
            ),
        )

    @workflow_errors
    async def ListPipelines(
        self, request: rr.ListPipelinesRequest, context: Context
    ) -> rr.ListPipelinesResponse:
        page = await self._pipelines.list_pipelines(
            current_tenant(), request.page_size, request.page_token, request.filter
        )
        return rr.ListPipelinesResponse(
            pipelines=[convert.pipeline_to_proto(p) for p in page.items],
            next_page_token=encode_token(Listing.PIPELINES, page.next_token, request.filter),
        )

    @workflow_errors
    async def UpdatePipeline(
        self, request: rr.UpdatePipelineRequest, context: Context
    ) -> rr.UpdatePipelineResponse:
        tenant = current_tenant(request.username)
        text = await self._spec_text(tenant, request)
        self._commands.check(parse_pipeline(text, "pipeline_yaml"))
        pipeline, version = await self._pipelines.update_pipeline(
            tenant, request.pipeline_id, text, request.description
        )
        return rr.UpdatePipelineResponse(
            pipeline=convert.pipeline_to_proto(pipeline),
            pipeline_version=convert.version_to_proto(version),
        )

    @workflow_errors
    async def DeletePipeline(
        self, request: rr.DeletePipelineRequest, context: Context
    ) -> rr.DeletePipelineResponse:
        await self._pipelines.delete_pipeline(current_tenant(), request.pipeline_id)
        return rr.DeletePipelineResponse()

    @workflow_errors
    async def GetPipelineVersion(
        self, request: rr.GetPipelineVersionRequest, context: Context
    ) -> rr.GetPipelineVersionResponse:
        pipeline, version = await self._pipelines.get_version(
            current_tenant(), request.pipeline_id, request.pipeline_version_id
        )
        return rr.GetPipelineVersionResponse(
            pipeline=convert.pipeline_to_proto(pipeline),
            pipeline_version=convert.version_to_proto(version),
        )

    @workflow_errors
    async def DeletePipelineVersion(
        self, request: rr.DeletePipelineVersionRequest, context: Context
    ) -> rr.DeletePipelineVersionResponse:
        await self._pipelines.delete_version(
            current_tenant(), request.pipeline_id, request.pipeline_version_id
        )
        return rr.DeletePipelineVersionResponse()

    async def check_pipeline_commands(
        self, tenant: Tenant, pipeline_id: str, version_id: str
    ) -> None:
        if not pipeline_id:
            return  # the schedule's own validation names the missing field
        version_id = await self._pipelines.resolve_version(tenant, pipeline_id, version_id)
        _, version = await self._pipelines.get_version(tenant, pipeline_id, version_id)
        self._commands.check(parse_pipeline(version.pipeline_yaml, "pipeline_yaml"))

    # --- runs ------------------------------------------------------------------------

    @workflow_errors
    async def CreateRun(
        self, request: rr.CreateRunRequest, context: Context
    ) -> rr.CreateRunResponse:
        tenant = current_tenant(request.username)
        if request.failure_strategy not in convert.FAILURE_STRATEGY_FROM_PROTO:
            raise InvalidArgument.of(
                "failure_strategy", f"unknown value {request.failure_strategy}"
            )
        view = await self._runtime.create_run(
            tenant,
            NewRun(
                run_yaml=request.run_yaml,
                pipeline_id=request.pipeline_id,
                pipeline_version_id=request.pipeline_version_id,
                source_run_id=request.source_run_id,
                name=request.name,
                description=request.description,
                parameters=dict(request.parameters),
                disabled=list(request.disabled),
                failure_strategy=convert.FAILURE_STRATEGY_FROM_PROTO[request.failure_strategy],
                docker_env=request.docker_env,
                request_id=request.request_id,
                fs_name=request.fs_name,
                run_yaml_path=request.run_yaml_path,
                check_spec=self._commands.check,
            ),
        )
        return rr.CreateRunResponse(run=convert.run_to_proto(view))

    @workflow_errors
    async def GetRun(self, request: rr.GetRunRequest, context: Context) -> rr.GetRunResponse:
        view = await self._runtime.get_run(current_tenant(), request.run_id, with_reusers=True)
        usage = await self._statistics.latest(view) if self._statistics else None
        return rr.GetRunResponse(run=convert.run_to_proto(view, statistics=usage))

    @workflow_errors
    async def ListRuns(self, request: rr.ListRunsRequest, context: Context) -> rr.ListRunsResponse:
        page = await self._runtime.list_runs(
            current_tenant(), request.page_size, request.page_token, request.filter
        )
        return rr.ListRunsResponse(
            runs=[convert.run_to_proto(view, with_steps=False) for view in page.items],
            next_page_token=encode_token(Listing.RUNS, page.next_token, request.filter),
        )

    @workflow_errors
    async def StopRun(self, request: rr.StopRunRequest, context: Context) -> rr.StopRunResponse:
        view = await self._runtime.stop_run(current_tenant(), request.run_id, request.force)
        return rr.StopRunResponse(run=convert.run_to_proto(view))

    @workflow_errors
    async def RetryRun(self, request: rr.RetryRunRequest, context: Context) -> rr.RetryRunResponse:
        view = await self._runtime.retry_run(current_tenant(), request.run_id)
        return rr.RetryRunResponse(run=convert.run_to_proto(view))

    @workflow_errors
    async def DeleteRun(
        self, request: rr.DeleteRunRequest, context: Context
    ) -> rr.DeleteRunResponse:
        await self._runtime.delete_run(current_tenant(), request.run_id, request.check_cache)
        return rr.DeleteRunResponse()

    @workflow_stream_errors
    async def WatchRuns(
        self, request: rr.WatchRunsRequest, context: Context
    ) -> AsyncIterator[rr.WatchRunsResponse]:
        tenant = current_tenant()
        if not 0 <= request.timeout_seconds <= MAX_WATCH_TIMEOUT:
            raise InvalidArgument.of("timeout_seconds", f"must be within [0, {MAX_WATCH_TIMEOUT}]")
        if request.resume_from < 0:
            raise InvalidArgument.of("resume_from", "must not be negative")
        events = self._runtime.watch_runs(
            tenant,
            request.run_ids,
            request.resume_from,
            self._heartbeat_interval,
            float(request.timeout_seconds) or None,
        )
        async for event, record in events:
            response = rr.WatchRunsResponse(
                type=convert.EVENT_TYPES[event.type],  # type: ignore[arg-type]
                resource_version=event.resource_version,
            )
            if event.type is not WatchEventType.HEARTBEAT and event.job and record:
                view = RunView(record, event.job)
                response.run.CopyFrom(convert.run_to_proto(view))
            yield response

    async def schedule_runs(self, schedule_id: str) -> list[pb.Run]:
        """A schedule's recent runs, newest first, for GetSchedule."""
        views = await self._runtime.runs_of_schedule(schedule_id)
        return [convert.run_to_proto(view, with_steps=False) for view in views]

    # --- cache, artifacts, logs ------------------------------------------------------

    @workflow_errors
    async def ListCacheEntries(
        self, request: rr.ListCacheEntriesRequest, context: Context
    ) -> rr.ListCacheEntriesResponse:
        page = await self._outputs.list_cache_entries(
            current_tenant(), request.page_size, request.page_token, request.filter
        )
        return rr.ListCacheEntriesResponse(
            cache_entries=[convert.cache_entry_to_proto(c) for c in page.items],
            next_page_token=encode_token(Listing.CACHE_ENTRIES, page.next_token, request.filter),
        )

    @workflow_errors
    async def GetCacheEntry(
        self, request: rr.GetCacheEntryRequest, context: Context
    ) -> rr.GetCacheEntryResponse:
        entry = await self._outputs.get_cache_entry(current_tenant(), request.cache_id)
        return rr.GetCacheEntryResponse(cache_entry=convert.cache_entry_to_proto(entry))

    @workflow_errors
    async def DeleteCacheEntry(
        self, request: rr.DeleteCacheEntryRequest, context: Context
    ) -> rr.DeleteCacheEntryResponse:
        await self._outputs.delete_cache_entry(current_tenant(), request.cache_id)
        return rr.DeleteCacheEntryResponse()

    @workflow_errors
    async def ListArtifacts(
        self, request: rr.ListArtifactsRequest, context: Context
    ) -> rr.ListArtifactsResponse:
        page = await self._outputs.list_artifacts(
            current_tenant(), request.page_size, request.page_token, request.filter
        )
        return rr.ListArtifactsResponse(
            artifacts=[convert.artifact_to_proto(a) for a in page.items],
            next_page_token=encode_token(Listing.ARTIFACTS, page.next_token, request.filter),
        )

    @workflow_errors
    async def GetRunLog(
        self, request: rr.GetRunLogRequest, context: Context
    ) -> rr.GetRunLogResponse:
        tenant = current_tenant()
        if request.position not in enums.LogPosition.values():
            raise InvalidArgument.of("position", f"unknown value {request.position}")
        pages = await self._outputs.read_logs(
            tenant,
            request.run_id,
            request.step_name,
            request.page_size,
            request.page_no,
            from_end=request.position != enums.LOG_POSITION_BEGIN,
        )
        return rr.GetRunLogResponse(logs=[convert.log_to_proto(request.run_id, p) for p in pages])

    @workflow_errors
    async def GetStepStatistics(
        self, request: rr.GetStepStatisticsRequest, context: Context
    ) -> rr.GetStepStatisticsResponse:
        tenant = current_tenant()
        if request.job_id and (request.run_id or request.step_name):
            raise InvalidArgument.of("job_id", "names a step by itself: no run_id nor step_name")
        if self._statistics is None:
            await self._runtime.get_run(tenant, request.run_id)  # NOT_FOUND as for any
            return rr.GetStepStatisticsResponse()
        if request.job_id:
            view, step = await self._statistics.find_step(tenant, request.job_id)
            entries = await self._statistics.of_view(view, step)
        else:
            _, entries = await self._statistics.for_run(tenant, request.run_id, request.step_name)
        return rr.GetStepStatisticsResponse(
            statistics=[
                convert.usage_to_proto(e.step_name, e.record, with_samples=request.with_samples)
                for e in entries
            ]
        )

    @workflow_stream_errors
    async def TailRunLog(
        self, request: rr.TailRunLogRequest, context: Context
    ) -> AsyncIterator[rr.TailRunLogResponse]:
        if not 0 <= request.timeout_seconds <= MAX_WATCH_TIMEOUT:
            raise InvalidArgument.of("timeout_seconds", f"must be within [0, {MAX_WATCH_TIMEOUT}]")
        chunks = self._outputs.tail_log(
            current_tenant(),
            request.run_id,
            request.step_name,
            request.offset,
            float(request.timeout_seconds) or None,
        )
        async for chunk in chunks:
            yield rr.TailRunLogResponse(
                content=chunk.content,
                offset=chunk.offset,
                attempt=chunk.attempt,
                finished=chunk.state.is_settled,
                status=convert.STEP_STATUSES[STEP_STATUS[chunk.state]],  # type: ignore[arg-type]
            )
