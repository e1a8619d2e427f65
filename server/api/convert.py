"""Kuscia JobService protos <-> engine domain objects. Each vocabulary mapping is one table."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.engine.memo import IdentityMemo
from dagwire.server.engine.model import (
    ApprovalState,
    BandwidthLimit,
    Job,
    JobSpec,
    JobState,
    PartySpec,
    PartyState,
    TaskRun,
    TaskSpec,
    TaskState,
)
from dagwire.server.runtime.watch import WatchEvent, WatchEventType

_KUSCIA = pb.JobState.State

# Canonical job state -> Kuscia JobState.State value; travels as the value's name.
JOB_STATES: Mapping[JobState, int] = {
    JobState.INITIALIZED: _KUSCIA.Initialized,
    JobState.PENDING: _KUSCIA.Pending,
    JobState.RUNNING: _KUSCIA.Running,
    JobState.SUCCEEDED: _KUSCIA.Succeeded,
    JobState.FAILED: _KUSCIA.Failed,
    JobState.AWAITING_APPROVAL: _KUSCIA.AwaitingApproval,
    JobState.APPROVAL_REJECT: _KUSCIA.ApprovalReject,
    JobState.CANCELLED: _KUSCIA.Cancelled,
    JobState.SUSPENDED: _KUSCIA.Suspended,
}

# Kuscia reports tasks and parties with four phases; a stopped one counts as failed and
# a skipped one (it never ran: the job failed before it could) stays pending, as Kuscia
# reports it.
TASK_STATES: Mapping[TaskState, str] = {
    TaskState.PENDING: "Pending",
    TaskState.RUNNING: "Running",
    TaskState.SUCCEEDED: "Succeeded",
    TaskState.FAILED: "Failed",
    TaskState.STOPPED: "Failed",
    TaskState.SKIPPED: "Pending",
    TaskState.HOLD: "Pending",
}

PARTY_STATES: Mapping[PartyState, str] = {
    PartyState.PENDING: "Pending",
    PartyState.RUNNING: "Running",
    PartyState.SUCCEEDED: "Succeeded",
    PartyState.FAILED: "Failed",
    PartyState.STOPPED: "Failed",
}

APPROVAL_STATES: Mapping[ApprovalState, str] = {
    ApprovalState.AWAITING: "JobAwaitingApproval",
    ApprovalState.ACCEPTED: "JobAccepted",
    ApprovalState.REJECTED: "JobRejected",
}

WATCH_EVENT_TYPES: Mapping[WatchEventType, int] = {
    WatchEventType.ADDED: pb.ADDED,
    WatchEventType.MODIFIED: pb.MODIFIED,
    WatchEventType.DELETED: pb.DELETED,
    WatchEventType.HEARTBEAT: pb.HEARTBEAT,
}


def job_state_name(state: JobState) -> str:
    return _KUSCIA.Name(JOB_STATES[state])  # type: ignore[arg-type]


def rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- requests -> domain ---------------------------------------------------------------


def job_spec_from_proto(request: pb.CreateJobRequest) -> JobSpec:
    return JobSpec(
        job_id=request.job_id,
        initiator=request.initiator,
        max_parallelism=max(request.max_parallelism, 1),
        tasks=tuple(_task_spec_from_proto(task) for task in request.tasks),
        custom_fields=dict(request.custom_fields),
    )


def _task_spec_from_proto(task: pb.Task) -> TaskSpec:
    schedule = task.schedule_config
    return TaskSpec(
        alias=task.alias,
        task_id=task.task_id or task.alias,
        app_image=task.app_image,
        parties=tuple(_party_spec_from_proto(party) for party in task.parties),
        # Kuscia's own responses show `"dependencies": [""]` for a root task; accept it.
        dependencies=tuple(dict.fromkeys(dep for dep in task.dependencies if dep)),
        task_input_config=task.task_input_config,
        priority=task.priority,
        timeout_seconds=schedule.task_timeout_seconds,
        resource_reserved_seconds=schedule.resource_reserved_seconds,
        resource_reallocation_interval_seconds=schedule.resource_reallocation_interval_seconds,
        tolerable=task.tolerable,
    )


def _party_spec_from_proto(party: pb.Party) -> PartySpec:
    resources = {
        name: value
        for name, value in (
            ("cpu", party.resources.cpu),
            ("memory", party.resources.memory),
            ("bandwidth", party.resources.bandwidth),
        )
        if value
    }
    return PartySpec(
        domain_id=party.domain_id,
        role=party.role,
        resources=resources,
        bandwidth_limits=tuple(
            BandwidthLimit(limit.destination_id, limit.limit_kbps)
            for limit in party.bandwidth_limits
        ),
    )


# --- domain -> responses --------------------------------------------------------------


def query_data(job: Job) -> pb.QueryJobResponseData:
    return pb.QueryJobResponseData(
        job_id=job.job_id,
        initiator=job.spec.initiator,
        max_parallelism=job.spec.max_parallelism,
        tasks=[_task_config(task) for task in job.spec.tasks],
        status=status_detail(job),
        custom_fields=dict(job.spec.custom_fields),
    )


def _task_config(task: TaskSpec) -> pb.TaskConfig:
    return pb.TaskConfig(
        app_image=task.app_image,
        parties=[
            pb.Party(
                domain_id=party.domain_id,
                role=party.role,
                resources=pb.JobResource(**party.resources) if party.resources else None,
                bandwidth_limits=[
                    pb.BandwidthLimit(destination_id=b.destination_id, limit_kbps=b.limit_kbps)
                    for b in party.bandwidth_limits
                ],
            )
            for party in task.parties
        ],
        alias=task.alias,
        task_id=task.task_id,
        dependencies=list(task.dependencies),
        task_input_config=task.task_input_config,
        priority=task.priority,
        schedule_config=pb.ScheduleConfig(
            task_timeout_seconds=task.timeout_seconds,
            resource_reserved_seconds=task.resource_reserved_seconds,
            resource_reallocation_interval_seconds=task.resource_reallocation_interval_seconds,
        ),
    )


def job_status(job: Job, *, reuse: bool = False) -> pb.JobStatus:
    return pb.JobStatus(job_id=job.job_id, status=status_detail(job, reuse=reuse))


def status_detail(job: Job, *, reuse: bool = False) -> pb.JobStatusDetail:
    """The wire status. With `reuse`, task statuses are kept per task value and reused
    by the job's next changes (a watch's MODIFIED events); a one-off conversion (a
    query, a listing of many jobs) builds them without keeping them."""
    task_ids = {task.alias: task.task_id for task in job.spec.tasks}
    stage_state = f"Job{job.stage.value}StageSucceeded"
    return pb.JobStatusDetail(
        state=job_state_name(job.state),
        err_msg=job.err_msg,
        create_time=rfc3339(job.create_time),
        start_time=rfc3339(job.start_time),
        end_time=rfc3339(job.end_time),
        tasks=[
            _TASK_STATUS.get(task, functools.partial(_task_status, task_ids[task.alias], task))
            if reuse
            else _task_status(task_ids[task.alias], task)
            for task in job.tasks
        ],
        stage_status_list=[
            pb.PartyStageStatus(domain_id=domain, state=stage_state) for domain in job.spec.domains
        ],
        approve_status_list=[
            pb.PartyApproveStatus(domain_id=domain, state=APPROVAL_STATES[state])
            for domain, state in job.approvals.items()
        ],
    )


# A task's wire status, built once per task value: a job change replaces one task.
_TASK_STATUS: IdentityMemo[TaskRun, pb.TaskStatus] = IdentityMemo()


def _task_status(task_id: str, task: TaskRun) -> pb.TaskStatus:
    return pb.TaskStatus(
        task_id=task_id,
        alias=task.alias,
        state=TASK_STATES[task.state],
        err_msg=task.err_msg,
        create_time=rfc3339(task.create_time),
        start_time=rfc3339(task.start_time),
        end_time=rfc3339(task.end_time),
        progress=task.progress,
        parties=[
            pb.PartyStatus(
                domain_id=party.domain_id, state=PARTY_STATES[party.state], err_msg=party.err_msg
            )
            for party in task.parties
        ],
    )


def watch_event(event: WatchEvent) -> pb.WatchJobEventResponse:
    return pb.WatchJobEventResponse(
        type=WATCH_EVENT_TYPES[event.type],  # type: ignore[arg-type]
        object=(
            job_status(event.job, reuse=event.type is WatchEventType.MODIFIED)
            if event.job is not None
            else None
        ),
        resource_version=event.resource_version,
    )
