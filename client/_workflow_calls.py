"""Request building for WorkflowService (``dagwire.v1``): one ``_Call`` per RPC, shared by
both clients through :class:`BaseDagwireClient`, plus the list-filter and spec helpers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from google.protobuf import timestamp_pb2

from dagwire.v1 import job_statistics_request_response_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf

from ._call import _Call
from ._errors import DagwireError
from ._workflow_models import (
    Artifact,
    ArtifactType,
    CacheEntry,
    ConcurrencyPolicy,
    FailureStrategy,
    FileSystem,
    LogPosition,
    Page,
    Pipeline,
    PipelineVersion,
    Run,
    RunStatus,
    Schedule,
    ScheduleStatus,
    StepLog,
    StepStatistics,
    _to_proto,
)

#: A pipeline spec: YAML text (a ``str``), or a file to read it from (a ``pathlib.Path`` or
#: any other ``os.PathLike``). A ``str`` is always the text itself, never a file name.
PipelineSpec: TypeAlias = "str | os.PathLike[str]"

#: Parameter overrides: ``{"epochs": 3}`` sets it on every step declaring it,
#: ``{"train.epochs": 3}`` on one step. Values are sent as text (``str(value)``).
Parameters: TypeAlias = "Mapping[str, Any] | None"


def read_spec(spec: PipelineSpec) -> str:
    """The YAML text of a spec: the string itself, or the file's content."""
    if isinstance(spec, os.PathLike):
        return Path(spec).read_text()
    if isinstance(spec, str):
        return spec
    raise TypeError(f"a spec is YAML text (str) or a path (os.PathLike), not {type(spec)!r}")


def filter_expression(filter: str = "", **terms: Any) -> str:
    """``filter`` and every given term as the server's ``key=value AND ...`` conjunction.

    Terms that are None or empty are left out; enum members are written by value
    (``status=RunStatus.FAILED`` gives ``status=failed``).
    """
    parts = [filter.strip()] if filter.strip() else []
    for key, value in terms.items():
        if value is None or value == "":
            continue
        text = value.value if hasattr(value, "value") else str(value)
        parts.append(f"{key}={_quoted(text)}")
    return " AND ".join(parts)


def _quoted(value: str) -> str:
    """A value as the listing grammar reads it: bare, or double-quoted (with `\\"` and
    `\\\\`) when it holds spaces, quotes or backslashes."""
    if not any(char.isspace() or char in '"\\' for char in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parameters(parameters: Parameters) -> dict[str, str]:
    return {str(k): str(v) for k, v in (parameters or {}).items()}


def _timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """An aware datetime (a naive one is taken as UTC) as a Timestamp; None stays unset."""
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return stamp


def _spec_or_path(spec: PipelineSpec | None, path: str, fs_name: str) -> str:
    """The spec's YAML text, or "" when the server reads it from ``path`` in the file
    system ``fs_name`` (PaddleFlow's yamlPath): exactly one of the two is given."""
    if (spec is None) == (not path):
        raise ValueError("give exactly one of a spec and pipeline_yaml_path")
    if path and not fs_name:
        raise ValueError("pipeline_yaml_path needs fs_name, the file system it is in")
    return read_spec(spec) if spec is not None else ""


def _nothing(response: Any) -> None:
    return None


def _pipeline_of(response: Any) -> Pipeline:
    """A pipeline with the one version a create, update or version get returned."""
    return Pipeline._from_proto(response.pipeline, [response.pipeline_version])


def _run_of(response: Any) -> Run:
    return Run._from_proto(response.run)


def _page(items: Iterable[Any], response: Any) -> Page[Any]:
    return Page(tuple(items), str(response.next_page_token), raw=response)


class _WorkflowCalls:
    """Builds the ``_Call`` of every WorkflowService RPC (request, and response parsing)."""

    # --- pipelines ----------------------------------------------------------------------

    @staticmethod
    def _create_pipeline_call(
        spec: PipelineSpec | None,
        description: str,
        username: str,
        request_id: str,
        *,
        fs_name: str = "",
        pipeline_yaml_path: str = "",
    ) -> _Call[Pipeline]:
        request = wf.CreatePipelineRequest(
            pipeline_yaml=_spec_or_path(spec, pipeline_yaml_path, fs_name),
            description=description,
            username=username,
            request_id=request_id,
            fs_name=fs_name,
            pipeline_yaml_path=pipeline_yaml_path,
        )
        return _Call("CreatePipeline", request, _pipeline_of, "workflow")

    @staticmethod
    def _get_pipeline_call(
        pipeline_id: str, page_size: int = 0, page_token: str = ""
    ) -> _Call[Pipeline]:
        request = wf.GetPipelineRequest(
            pipeline_id=pipeline_id, page_size=page_size, page_token=page_token
        )
        return _Call(
            "GetPipeline",
            request,
            lambda r: Pipeline._from_proto(
                r.pipeline, r.pipeline_versions, next_page_token=str(r.next_page_token)
            ),
            "workflow",
        )

    @staticmethod
    def _list_pipelines_call(
        *, name: str | None, username: str | None, filter: str, page_size: int, page_token: str
    ) -> _Call[Page[Pipeline]]:
        request = wf.ListPipelinesRequest(
            page_size=page_size,
            page_token=page_token,
            filter=filter_expression(filter, name=name, username=username),
        )
        return _Call(
            "ListPipelines",
            request,
            lambda r: _page((Pipeline._from_proto(p) for p in r.pipelines), r),
            "workflow",
        )

    @staticmethod
    def _update_pipeline_call(
        pipeline_id: str,
        spec: PipelineSpec | None,
        description: str,
        username: str,
        *,
        fs_name: str = "",
        pipeline_yaml_path: str = "",
    ) -> _Call[Pipeline]:
        request = wf.UpdatePipelineRequest(
            pipeline_id=pipeline_id,
            pipeline_yaml=_spec_or_path(spec, pipeline_yaml_path, fs_name),
            description=description,
            username=username,
            fs_name=fs_name,
            pipeline_yaml_path=pipeline_yaml_path,
        )
        return _Call("UpdatePipeline", request, _pipeline_of, "workflow")

    @staticmethod
    def _delete_pipeline_call(pipeline_id: str) -> _Call[None]:
        request = wf.DeletePipelineRequest(pipeline_id=pipeline_id)
        return _Call("DeletePipeline", request, _nothing, "workflow")

    @staticmethod
    def _get_pipeline_version_call(pipeline_id: str, version_id: str) -> _Call[PipelineVersion]:
        request = wf.GetPipelineVersionRequest(
            pipeline_id=pipeline_id, pipeline_version_id=version_id
        )
        return _Call(
            "GetPipelineVersion",
            request,
            lambda r: PipelineVersion._from_proto(r.pipeline_version),
            "workflow",
        )

    @staticmethod
    def _delete_pipeline_version_call(pipeline_id: str, version_id: str) -> _Call[None]:
        request = wf.DeletePipelineVersionRequest(
            pipeline_id=pipeline_id, pipeline_version_id=version_id
        )
        return _Call("DeletePipelineVersion", request, _nothing, "workflow")

    # --- runs ---------------------------------------------------------------------------

    @staticmethod
    def _create_run_call(
        run_yaml: PipelineSpec | None,
        *,
        pipeline_id: str = "",
        pipeline_version_id: str = "",
        source_run_id: str = "",
        name: str = "",
        description: str = "",
        username: str = "",
        parameters: Parameters = None,
        disabled: Iterable[str] = (),
        failure_strategy: FailureStrategy | str | None = None,
        docker_env: str = "",
        request_id: str = "",
        fs_name: str = "",
        run_yaml_path: str = "",
    ) -> _Call[Run]:
        sources = [s for s in (run_yaml, run_yaml_path, pipeline_id, source_run_id) if s]
        if len(sources) != 1:
            raise ValueError(
                "give exactly one of run_yaml, run_yaml_path, pipeline_id and source_run_id"
            )
        if run_yaml_path and not fs_name:
            raise ValueError("run_yaml_path needs fs_name, the file system it is in")
        if pipeline_version_id and not pipeline_id:
            raise ValueError("pipeline_version_id needs pipeline_id")
        if isinstance(disabled, str):  # a lone step name, not its characters
            disabled = (disabled,)
        request = wf.CreateRunRequest(
            run_yaml=read_spec(run_yaml) if run_yaml else "",
            pipeline_id=pipeline_id,
            pipeline_version_id=pipeline_version_id,
            source_run_id=source_run_id,
            name=name,
            description=description,
            username=username,
            parameters=_parameters(parameters),
            disabled=list(disabled),
            failure_strategy=_to_proto(FailureStrategy, failure_strategy),
            docker_env=docker_env,
            request_id=request_id,
            fs_name=fs_name,
            run_yaml_path=run_yaml_path,
        )
        return _Call("CreateRun", request, _run_of, "workflow")

    @staticmethod
    def _get_run_call(run_id: str) -> _Call[Run]:
        return _Call("GetRun", wf.GetRunRequest(run_id=run_id), _run_of, "workflow")

    @staticmethod
    def _list_runs_call(
        *,
        username: str | None,
        status: RunStatus | str | None,
        pipeline_id: str | None,
        name: str | None,
        schedule_id: str | None,
        filter: str,
        page_size: int,
        page_token: str,
        run_id: str | None = None,
    ) -> _Call[Page[Run]]:
        if isinstance(status, str) and not isinstance(status, RunStatus) and status:
            status = RunStatus.parse(status)
        expression = filter_expression(
            filter,
            username=username,
            status=status,
            pipeline_id=pipeline_id,
            name=name,
            schedule_id=schedule_id,
            run_id=run_id,
        )
        request = wf.ListRunsRequest(page_size=page_size, page_token=page_token, filter=expression)
        return _Call(
            "ListRuns",
            request,
            lambda r: _page((Run._from_proto(run) for run in r.runs), r),
            "workflow",
        )

    @staticmethod
    def _stop_run_call(run_id: str, force: bool) -> _Call[Run]:
        request = wf.StopRunRequest(run_id=run_id, force=force)
        return _Call("StopRun", request, _run_of, "workflow")

    @staticmethod
    def _retry_run_call(run_id: str) -> _Call[Run]:
        return _Call("RetryRun", wf.RetryRunRequest(run_id=run_id), _run_of, "workflow")

    @staticmethod
    def _delete_run_call(run_id: str, check_cache: bool) -> _Call[None]:
        request = wf.DeleteRunRequest(run_id=run_id, check_cache=check_cache)
        return _Call("DeleteRun", request, _nothing, "workflow")

    # --- cache ----------------------------------------------------------------------------

    @staticmethod
    def _list_cache_entries_call(
        *,
        username: str | None,
        run_id: str | None,
        step_name: str | None,
        pipeline_id: str | None,
        filter: str,
        page_size: int,
        page_token: str,
    ) -> _Call[Page[CacheEntry]]:
        expression = filter_expression(
            filter, username=username, run_id=run_id, step_name=step_name, pipeline_id=pipeline_id
        )
        request = wf.ListCacheEntriesRequest(
            page_size=page_size, page_token=page_token, filter=expression
        )
        return _Call(
            "ListCacheEntries",
            request,
            lambda r: _page((CacheEntry._from_proto(c) for c in r.cache_entries), r),
            "workflow",
        )

    @staticmethod
    def _get_cache_entry_call(cache_id: str) -> _Call[CacheEntry]:
        return _Call(
            "GetCacheEntry",
            wf.GetCacheEntryRequest(cache_id=cache_id),
            lambda r: CacheEntry._from_proto(r.cache_entry),
            "workflow",
        )

    @staticmethod
    def _delete_cache_entry_call(cache_id: str) -> _Call[None]:
        request = wf.DeleteCacheEntryRequest(cache_id=cache_id)
        return _Call("DeleteCacheEntry", request, _nothing, "workflow")

    # --- file systems ---------------------------------------------------------------------

    @staticmethod
    def _create_file_system_call(
        name: str, url: str, properties: Mapping[str, str] | None
    ) -> _Call[FileSystem]:
        request = wf.CreateFileSystemRequest(name=name, url=url, properties=properties or {})
        return _Call(
            "CreateFileSystem",
            request,
            lambda r: FileSystem._from_proto(r.file_system),
            "workflow",
        )

    @staticmethod
    def _get_file_system_call(name: str) -> _Call[FileSystem]:
        return _Call(
            "GetFileSystem",
            wf.GetFileSystemRequest(name=name),
            lambda r: FileSystem._from_proto(r.file_system),
            "workflow",
        )

    @staticmethod
    def _list_file_systems_call() -> _Call[list[FileSystem]]:
        return _Call(
            "ListFileSystems",
            wf.ListFileSystemsRequest(),
            lambda r: [FileSystem._from_proto(f) for f in r.file_systems],
            "workflow",
        )

    @staticmethod
    def _delete_file_system_call(name: str) -> _Call[None]:
        request = wf.DeleteFileSystemRequest(name=name)
        return _Call("DeleteFileSystem", request, _nothing, "workflow")

    # --- artifacts and logs ---------------------------------------------------------------

    @staticmethod
    def _list_artifacts_call(
        *,
        run_id: str | None,
        step_name: str | None,
        type: ArtifactType | str | None,
        path: str | None,
        username: str | None,
        name: str | None,
        filter: str,
        page_size: int,
        page_token: str,
    ) -> _Call[Page[Artifact]]:
        if isinstance(type, str) and not isinstance(type, ArtifactType) and type:
            type = ArtifactType.parse(type)
        expression = filter_expression(
            filter,
            run_id=run_id,
            step_name=step_name,
            type=type,
            path=path,
            username=username,
            name=name,
        )
        request = wf.ListArtifactsRequest(
            page_size=page_size, page_token=page_token, filter=expression
        )
        return _Call(
            "ListArtifacts",
            request,
            lambda r: _page((Artifact._from_proto(a) for a in r.artifacts), r),
            "workflow",
        )

    @staticmethod
    def _get_run_log_call(
        run_id: str,
        step_name: str,
        page_size: int,
        page_no: int,
        position: LogPosition | str | None,
    ) -> _Call[list[StepLog]]:
        request = wf.GetRunLogRequest(
            run_id=run_id,
            step_name=step_name,
            page_size=page_size,
            page_no=page_no,
            position=_to_proto(LogPosition, position),
        )
        return _Call(
            "GetRunLog",
            request,
            lambda r: [StepLog._from_proto(log) for log in r.logs],
            "workflow",
        )

    @staticmethod
    def _get_step_statistics_call(
        run_id: str, step_name: str, with_samples: bool
    ) -> _Call[list[StepStatistics]]:
        request = wf.GetStepStatisticsRequest(
            run_id=run_id, step_name=step_name, with_samples=with_samples
        )
        return _Call(
            "GetStepStatistics",
            request,
            lambda r: [StepStatistics._from_proto(s) for s in r.statistics],
            "workflow",
        )

    @staticmethod
    def _get_job_statistics_call(
        job_id: str, task_id: str, with_samples: bool
    ) -> _Call[list[StepStatistics]]:
        request = job_statistics_request_response_pb2.GetJobStatisticsRequest(
            job_id=job_id, task_id=task_id, with_samples=with_samples
        )
        return _Call(
            "GetJobStatistics",
            request,
            lambda r: [StepStatistics._from_proto(s) for s in r.statistics],
            "statistics",
        )

    # --- schedules ------------------------------------------------------------------------

    @staticmethod
    def _create_schedule_call(
        name: str,
        pipeline_id: str,
        crontab: str,
        *,
        pipeline_version_id: str = "",
        description: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        concurrency: int = 0,
        concurrency_policy: ConcurrencyPolicy | str | None = None,
        expire_interval: int = 0,
        catchup: bool = False,
        username: str = "",
        parameters: Parameters = None,
        request_id: str = "",
    ) -> _Call[Schedule]:
        request = wf.CreateScheduleRequest(
            name=name,
            description=description,
            pipeline_id=pipeline_id,
            pipeline_version_id=pipeline_version_id,
            crontab=crontab,
            start_time=_timestamp(start_time),
            end_time=_timestamp(end_time),
            concurrency=concurrency,
            concurrency_policy=_to_proto(ConcurrencyPolicy, concurrency_policy),
            expire_interval=expire_interval,
            catchup=catchup,
            username=username,
            parameters=_parameters(parameters),
            request_id=request_id,
        )
        return _Call(
            "CreateSchedule", request, lambda r: Schedule._from_proto(r.schedule), "workflow"
        )

    @staticmethod
    def _get_schedule_call(schedule_id: str) -> _Call[Schedule]:
        return _Call(
            "GetSchedule",
            wf.GetScheduleRequest(schedule_id=schedule_id),
            lambda r: Schedule._from_proto(r.schedule, r.runs),
            "workflow",
        )

    @staticmethod
    def _list_schedules_call(
        *,
        username: str | None,
        pipeline_id: str | None,
        pipeline_version_id: str | None,
        name: str | None,
        status: ScheduleStatus | str | None,
        filter: str,
        page_size: int,
        page_token: str,
        schedule_id: str | None = None,
    ) -> _Call[Page[Schedule]]:
        if isinstance(status, str) and not isinstance(status, ScheduleStatus) and status:
            status = ScheduleStatus.parse(status)
        expression = filter_expression(
            filter,
            username=username,
            pipeline_id=pipeline_id,
            pipeline_version_id=pipeline_version_id,
            name=name,
            status=status,
            schedule_id=schedule_id,
        )
        request = wf.ListSchedulesRequest(
            page_size=page_size, page_token=page_token, filter=expression
        )
        return _Call(
            "ListSchedules",
            request,
            lambda r: _page((Schedule._from_proto(s) for s in r.schedules), r),
            "workflow",
        )

    @staticmethod
    def _stop_schedule_call(schedule_id: str) -> _Call[Schedule]:
        return _Call(
            "StopSchedule",
            wf.StopScheduleRequest(schedule_id=schedule_id),
            lambda r: Schedule._from_proto(r.schedule),
            "workflow",
        )

    @staticmethod
    def _delete_schedule_call(schedule_id: str) -> _Call[None]:
        request = wf.DeleteScheduleRequest(schedule_id=schedule_id)
        return _Call("DeleteSchedule", request, _nothing, "workflow")


def _next_token(page: Page[Any], seen: set[str]) -> str | None:
    """The token of the page after ``page``, None after the last one; ``seen`` collects the
    tokens so far, so that a server handing one out twice cannot loop a caller forever."""
    token = page.next_page_token
    if not token:
        return None
    if token in seen:
        raise DagwireError(f"the server returned page token {token!r} twice")
    seen.add(token)
    return token
