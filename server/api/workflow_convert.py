"""dagwire.v1 protos <-> workflow domain objects. Each vocabulary mapping is one table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from dagwire.server.engine.catalog import (
    Artifact,
    ArtifactType,
    CacheEntry,
    Pipeline,
    PipelineVersion,
)
from dagwire.server.engine.model import FailureStrategy
from dagwire.server.runtime.watch import WatchEventType
from dagwire.server.workflow.compile import StepConfig
from dagwire.server.workflow.runs import LogPage, RunView
from dagwire.server.workflow.status import STEP_STATUS, RunStatus, StepStatus
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb

RUN_STATUSES: Mapping[RunStatus, int] = {
    RunStatus.INITIATING: enums.RUN_STATUS_INITIATING,
    RunStatus.PENDING: enums.RUN_STATUS_PENDING,
    RunStatus.RUNNING: enums.RUN_STATUS_RUNNING,
    RunStatus.SUCCEEDED: enums.RUN_STATUS_SUCCEEDED,
    RunStatus.FAILED: enums.RUN_STATUS_FAILED,
    RunStatus.TERMINATING: enums.RUN_STATUS_TERMINATING,
    RunStatus.TERMINATED: enums.RUN_STATUS_TERMINATED,
}

STEP_STATUSES: Mapping[StepStatus, int] = {
    StepStatus.PENDING: enums.STEP_STATUS_PENDING,
    StepStatus.RUNNING: enums.STEP_STATUS_RUNNING,
    StepStatus.SUCCEEDED: enums.STEP_STATUS_SUCCEEDED,
    StepStatus.FAILED: enums.STEP_STATUS_FAILED,
    StepStatus.TERMINATED: enums.STEP_STATUS_TERMINATED,
    StepStatus.SKIPPED: enums.STEP_STATUS_SKIPPED,
}

FAILURE_STRATEGIES: Mapping[FailureStrategy, int] = {
    FailureStrategy.FAIL_FAST: enums.FAILURE_STRATEGY_FAIL_FAST,
    FailureStrategy.CONTINUE: enums.FAILURE_STRATEGY_CONTINUE,
}
FAILURE_STRATEGY_FROM_PROTO: Mapping[int, FailureStrategy | None] = {
    enums.FAILURE_STRATEGY_UNSPECIFIED: None,
    **{value: strategy for strategy, value in FAILURE_STRATEGIES.items()},
}

ARTIFACT_TYPES: Mapping[ArtifactType, int] = {
    ArtifactType.INPUT: enums.ARTIFACT_TYPE_INPUT,
    ArtifactType.OUTPUT: enums.ARTIFACT_TYPE_OUTPUT,
}

EVENT_TYPES: Mapping[WatchEventType, int] = {
    WatchEventType.ADDED: enums.EVENT_TYPE_ADDED,
    WatchEventType.MODIFIED: enums.EVENT_TYPE_MODIFIED,
    WatchEventType.DELETED: enums.EVENT_TYPE_DELETED,
    WatchEventType.HEARTBEAT: enums.EVENT_TYPE_HEARTBEAT,
}


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def pipeline_to_proto(p: Pipeline) -> pb.Pipeline:
    return pb.Pipeline(
        pipeline_id=p.pipeline_id,
        name=p.name,
        username=p.username,
        description=p.description,
        create_time=timestamp(p.create_time),
        update_time=timestamp(p.update_time),
        latest_version_id=p.latest_version_id,
    )


def version_to_proto(v: PipelineVersion) -> pb.PipelineVersion:
    return pb.PipelineVersion(
        pipeline_version_id=v.version_id,
        pipeline_id=v.pipeline_id,
        pipeline_yaml=v.pipeline_yaml,
        username=v.username,
        create_time=timestamp(v.create_time),
        description=v.description,
    )


def run_to_proto(view: RunView, *, with_steps: bool = True) -> pb.Run:
    record, job = view.record, view.job
    cached = sorted({task.cached_from for task in job.tasks if task.cached_from})
    run = pb.Run(
        run_id=record.run_id,
        name=record.name,
        username=record.username,
        status=RUN_STATUSES[view.status],  # type: ignore[arg-type]
        description=record.description,
        parameters=dict(record.parameters),
        run_yaml=record.run_yaml,
        source=record.source,
        run_msg=job.err_msg,
        pipeline_id=record.pipeline_id,
        pipeline_version_id=record.pipeline_version_id,
        schedule_id=record.schedule_id,
        scheduled_time=timestamp(record.scheduled_time),
        failure_strategy=FAILURE_STRATEGIES[job.spec.failure_strategy],  # type: ignore[arg-type]
        disabled=list(record.disabled),
        run_cached_ids=cached,
        create_time=timestamp(record.create_time),
        activate_time=timestamp(job.start_time),
        update_time=timestamp(job.end_time or job.start_time or record.create_time),
        end_time=timestamp(job.end_time),
        docker_env=record.docker_env,
        retried_from=record.retried_from,
    )
    if with_steps:
        run.steps.extend(step_to_proto(view, alias) for alias in _aliases(view))
    return run


def _aliases(view: RunView) -> list[str]:
    return [task.alias for task in view.job.spec.tasks]


def step_to_proto(view: RunView, alias: str) -> pb.Step:
    spec = view.job.spec.task(alias)
    task = view.job.task(alias)
    config = StepConfig.from_json(spec.task_input_config)
    return pb.Step(
        name=alias,
        deps=list(spec.dependencies),
        status=STEP_STATUSES[STEP_STATUS[task.state]],  # type: ignore[arg-type]
        command=config.command,
        parameters=dict(config.parameters),
        env=dict(config.env),
        docker_env=config.docker_env,
        app_image=config.app_image,
        job_id=spec.task_id,
        start_time=timestamp(task.start_time),
        end_time=timestamp(task.end_time),
        message=task.err_msg,
        cache_run_id=task.cached_from,
        attempt=task.attempt,
        post=spec.post,
        input_artifacts=dict(config.inputs),
        output_artifacts=list(config.outputs),
    )


def cache_entry_to_proto(c: CacheEntry) -> pb.CacheEntry:
    expire = (
        None
        if c.expired_time < 0
        else timestamp(
            datetime.fromtimestamp(c.create_time.timestamp() + c.expired_time, c.create_time.tzinfo)
        )
    )
    return pb.CacheEntry(
        cache_id=c.cache_id,
        first_fp=c.first_fp,
        second_fp=c.second_fp,
        run_id=c.run_id,
        step_name=c.step_name,
        username=c.username,
        expired_time=c.expired_time,
        create_time=timestamp(c.create_time),
        expire_time=expire,
        pipeline_id=c.pipeline_id,
    )


def artifact_to_proto(a: Artifact) -> pb.Artifact:
    return pb.Artifact(
        run_id=a.run_id,
        step_name=a.step_name,
        name=a.name,
        path=a.path,
        type=ARTIFACT_TYPES[a.type],  # type: ignore[arg-type]
        username=a.username,
        create_time=timestamp(a.create_time),
    )


def log_to_proto(run_id: str, page: LogPage) -> pb.StepLog:
    return pb.StepLog(
        run_id=run_id,
        step_name=page.step_name,
        job_id=page.task_id,
        attempt=page.attempt,
        has_next_page=page.has_next_page,
        truncated=page.truncated,
        page_size=page.page_size,
        page_no=page.page_no,
        log_content=page.content,
    )
