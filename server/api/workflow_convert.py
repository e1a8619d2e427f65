"""dagwire.v1 protos <-> workflow domain objects. Each vocabulary mapping is one table."""

from __future__ import annotations

import uuid
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
from dagwire.server.engine.model import (
    Condition,
    ExecutionPolicy,
    FailureStrategy,
    Job,
    TaskState,
)
from dagwire.server.engine.usage import UsageRecord
from dagwire.server.runtime.watch import WatchEventType
from dagwire.server.workflow.compile import StepConfig
from dagwire.server.workflow.executions import StepAction, StepView
from dagwire.server.workflow.outputs import LogPage
from dagwire.server.workflow.runs import RunView
from dagwire.server.workflow.status import (
    RunStatus,
    StepExecutionStatus,
    StepStatus,
    step_status,
)
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
    StepStatus.HOLD: enums.STEP_STATUS_HOLD,
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


def passed_over(job: Job) -> str:
    """A finished run that a user's continue let past failed or stopped steps says so:
    its status alone (succeeded) would hide them."""
    waived = [
        task.alias
        for task in job.tasks
        if task.waived and task.state in (TaskState.FAILED, TaskState.STOPPED)
    ]
    if not waived or not job.state.is_terminal:
        return ""
    return f"continued past failed steps by a user's continue: {', '.join(waived)}"


def run_to_proto(
    view: RunView,
    *,
    with_steps: bool = True,
    statistics: Mapping[str, UsageRecord] | None = None,
) -> pb.Run:
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
        run_msg=job.err_msg or passed_over(job),
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
        fs_name=record.fs_name,
        reused_by_run_ids=list(view.reused_by),
    )
    if with_steps:
        run.steps.extend(step_to_proto(view, alias, statistics) for alias in _aliases(view))
    return run


def _aliases(view: RunView) -> list[str]:
    return [task.alias for task in view.job.spec.tasks]


def step_to_proto(
    view: RunView, alias: str, statistics: Mapping[str, UsageRecord] | None = None
) -> pb.Step:
    spec = view.job.spec.task(alias)
    task = view.job.task(alias)
    config = StepConfig.from_json(spec.task_input_config)
    usage = (statistics or {}).get(alias)
    return pb.Step(
        name=alias,
        deps=list(spec.dependencies),
        status=STEP_STATUSES[step_status(task)],  # type: ignore[arg-type]
        command=config.command,
        parameters=dict(config.parameters),
        env=dict(config.env),
        docker_env=config.docker_env,
        app_image=config.app_image,
        job_id=spec.task_id,
        start_time=timestamp(task.start_time),
        end_time=timestamp(task.end_time),
        # A step a false condition left out says so, not just "disabled".
        message=config.skip_reason if spec.disabled and config.skip_reason else task.err_msg,
        cache_run_id=task.cached_from,
        attempt=task.attempt,
        post=spec.post,
        input_artifacts=dict(config.inputs),
        output_artifacts=list(config.outputs),
        statistics=None if usage is None else usage_to_proto(alias, usage),
    )


def usage_to_proto(
    step_name: str, record: UsageRecord, *, with_samples: bool = False
) -> pb.StepStatistics:
    usage = record.usage
    return pb.StepStatistics(
        step_name=step_name,
        job_id=record.task_id,
        domain_id=record.domain_id,
        attempt=record.attempt,
        cpu_seconds=usage.cpu_seconds,
        user_cpu_seconds=usage.user_seconds,
        system_cpu_seconds=usage.system_seconds,
        peak_memory_bytes=usage.peak_rss_bytes,
        wall_seconds=usage.wall_seconds,
        exit_code=usage.exit_code,
        complete=usage.complete,
        start_time=_epoch(usage.start_time),
        end_time=_epoch(usage.end_time),
        sample_interval_seconds=usage.sample_interval,
        samples=[
            pb.UsageSample(time=_epoch(s.time), cpu_seconds=s.cpu_seconds, rss_bytes=s.rss_bytes)
            for s in (usage.samples if with_samples else ())
        ],
    )


def _epoch(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


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


STEP_EXECUTION_STATUSES: Mapping[StepExecutionStatus, int] = {
    status: enums.StepExecutionStatus.Value(f"STEP_EXECUTION_STATUS_{status.name}")
    for status in StepExecutionStatus
}

STEP_ACTIONS: Mapping[int, StepAction] = {
    enums.STEP_ACTION_RETRY: StepAction.RETRY,
    enums.STEP_ACTION_STOP: StepAction.STOP,
    enums.STEP_ACTION_CONTINUE: StepAction.CONTINUE,
}

EXECUTION_POLICIES: Mapping[ExecutionPolicy, int] = {
    ExecutionPolicy.RETRY: enums.EXECUTION_POLICY_RETRY,
    ExecutionPolicy.STOP: enums.EXECUTION_POLICY_STOP,
    ExecutionPolicy.CONTINUE: enums.EXECUTION_POLICY_CONTINUE,
}

# Why a step did not succeed, for StepErrorInfo.error_code.
_ERROR_CODES: Mapping[StepExecutionStatus, str] = {
    StepExecutionStatus.FAILED: "EXIT_CODE",
    StepExecutionStatus.CREATE_FAILED: "CREATE_FAILED",
    StepExecutionStatus.TIMEOUT: "TIMEOUT",
    StepExecutionStatus.STOPPED: "STOPPED",
    StepExecutionStatus.STOPPING: "STOPPED",
    StepExecutionStatus.SKIPPED: "SKIPPED",
    StepExecutionStatus.HOLD: "HOLD",
}


def step_execution_to_proto(step: StepView, now: datetime) -> pb.StepExecution:
    view = step.run
    spec = view.job.spec.task(step.alias)
    task = step.task
    config = StepConfig.from_json(spec.task_input_config)
    status = step.status
    started, ended = task.start_time, task.end_time or (now if task.start_time else None)
    kind = "condition" if spec.branching else "hold" if spec.hold else "job"
    properties = {"attempt": str(task.attempt), "docker_env": config.docker_env}
    if task.cached_from:
        properties["cache_run_id"] = task.cached_from
    if task.skip_cause:
        properties["skip_cause"] = task.skip_cause.value
    if task.waived:
        properties["waived"] = "true"
    inputs = [pb.StepIO(name=n, type="artifact", value=r) for n, r in config.inputs.items()]
    inputs += [
        pb.StepIO(name=n, type="parameter", value=v)
        for n, v in {**config.parameters, **task.parameters}.items()
    ]
    outputs = [pb.StepIO(name=n, type="artifact") for n in config.outputs]
    outputs += [pb.StepIO(name=n, type="metric", value=v) for n, v in task.metrics.items()]
    message = pb.StepExecution(
        step_name=step.alias,
        uuid=step.uuid,
        created_at=timestamp(task.create_time),
        duration=int((ended - started).total_seconds()) if started and ended else 0,
        type=kind,
        instance_id=f"{spec.task_id}-{task.attempt}" if task.attempt else "",
        status=STEP_EXECUTION_STATUSES[status],  # type: ignore[arg-type]
        inputs=inputs,
        outputs=outputs,
        step_uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"dagwire-step:{config.step}")),
        properties=properties,
        events=step.events(),
        policy=pb.StepPolicy(
            execution_policy=EXECUTION_POLICIES[spec.execution_policy],  # type: ignore[arg-type]
            use_cache=config.cache_enable,
        ),
        step_title=config.title,
        attempt=task.attempt,
        run_id=view.record.run_id,
        workflow_id=view.record.pipeline_id or view.record.run_id,
    )
    if status in _ERROR_CODES and task.err_msg:
        message.error_info.CopyFrom(
            pb.StepErrorInfo(error_code=_ERROR_CODES[status], error_message=task.err_msg)
        )
    if spec.branching is not None:
        message.conditions.extend(_condition_to_proto(c) for c in spec.branching.conditions)
        if task.condition_result is not None:
            message.conditions_execution.CopyFrom(
                pb.ConditionsExecution(
                    result="true" if task.condition_result else "false",
                    metric_list=[pb.StepMetric(name=n, value=v) for n, v in task.condition_values],
                )
            )
    return message


def _condition_to_proto(condition: Condition) -> pb.StepCondition:
    return pb.StepCondition(
        type=condition.op,
        left=condition.left,
        right=condition.right,
        conditions=[_condition_to_proto(inner) for inner in condition.any_of],
    )
