"""Kuscia JobService protos <-> engine domain objects. Each vocabulary mapping is one table."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.memo import IdentityMemo
from dagwire.server.engine.model import (
    ApprovalState,
    BandwidthLimit,
    Job,
    JobSpec,
    JobState,
    PartySpec,
    PartyState,
    ScheduleConfig,
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


@dataclass(frozen=True, slots=True)
class ErrMsgBytes:
    """How many bytes of each err_msg an answer carries when it would not fit the send
    limit whole (answer_size.py reserves room for exactly these)."""

    job: int = 1024
    task: int = 128
    party: int = 48


TRIMMED = ErrMsgBytes()


def trim(text: str, limit: int | None) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (None: as is), on a character boundary."""
    if limit is None or len(text) <= limit // 4:
        return text
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode(errors="ignore")


def job_state_name(state: JobState) -> str:
    return _KUSCIA.Name(JOB_STATES[state])  # type: ignore[arg-type]


_STATES_BY_NAME: Mapping[str, JobState] = {job_state_name(s): s for s in JOB_STATES}


def job_state_from_name(name: str) -> JobState:
    """``"Running"`` -> JobState.RUNNING; InvalidRequest for a name Kuscia does not have."""
    try:
        return _STATES_BY_NAME[name]
    except KeyError:
        known = ", ".join(_STATES_BY_NAME)
        raise InvalidRequest(f"states: unknown job state {name!r}; states: {known}") from None


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
        tasks=tuple(_task_spec_from_proto(task, request.job_id) for task in request.tasks),
        custom_fields=dict(request.custom_fields),
    )


def generated_task_id(job_id: str) -> str:
    """A unique id for a task given none, in the shape Kuscia's controller gives it
    (pkg/controllers/kusciajob/handler/scheduler.go generateTaskID: the job name, '-',
    12 random hex digits), the job part cut so that it stays a 63-character label."""
    return f"{job_id[:50].rstrip('.-')}-{secrets.token_hex(6)}"


# Kuscia's defaults for a schedule_config field left at zero or below
# (pkg/kusciaapi/service/job_service.go buildScheduleConfigForKusciaTask); the first is
# also the scheduling deadline of a task given no schedule_config (kusciajob_cn.md).
DEFAULT_TASK_TIMEOUT_SECONDS = 300
DEFAULT_RESOURCE_RESERVED_SECONDS = 30
DEFAULT_RESOURCE_REALLOCATION_INTERVAL_SECONDS = 30


def _schedule_from_proto(task: pb.Task) -> ScheduleConfig | None:
    if not task.HasField("schedule_config"):
        return None
    given = task.schedule_config

    def positive_or(value: int, default: int) -> int:
        return value if value > 0 else default

    return ScheduleConfig(
        task_timeout_seconds=positive_or(given.task_timeout_seconds, DEFAULT_TASK_TIMEOUT_SECONDS),
        resource_reserved_seconds=positive_or(
            given.resource_reserved_seconds, DEFAULT_RESOURCE_RESERVED_SECONDS
        ),
        resource_reallocation_interval_seconds=positive_or(
            given.resource_reallocation_interval_seconds,
            DEFAULT_RESOURCE_REALLOCATION_INTERVAL_SECONDS,
        ),
    )


def _task_spec_from_proto(task: pb.Task, job_id: str) -> TaskSpec:
    schedule = _schedule_from_proto(task)
    return TaskSpec(
        alias=task.alias,
        task_id=task.task_id or generated_task_id(job_id),
        app_image=task.app_image,
        parties=tuple(_party_spec_from_proto(party) for party in task.parties),
        # Kuscia's own responses show `"dependencies": [""]` for a root task; accept it.
        dependencies=tuple(dict.fromkeys(dep for dep in task.dependencies if dep)),
        task_input_config=task.task_input_config,
        priority=task.priority,
        # Kuscia's task_timeout_seconds bounds the wait to be scheduled, not running time.
        start_timeout_seconds=(
            schedule.task_timeout_seconds if schedule else DEFAULT_TASK_TIMEOUT_SECONDS
        ),
        schedule=schedule,
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


def query_data(job: Job, errs: ErrMsgBytes | None = None) -> pb.QueryJobResponseData:
    """QueryJob's answer; with `errs`, every err_msg trimmed to those sizes."""
    return pb.QueryJobResponseData(
        job_id=job.job_id,
        initiator=job.spec.initiator,
        max_parallelism=job.spec.max_parallelism,
        tasks=[_task_config(task) for task in job.spec.tasks],
        status=status_detail(job, errs),
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
        # Shown as given (null when none was), as Kuscia's QueryJob shows it
        # (job_service.go buildScheduleConfigForKusciaAPI).
        schedule_config=_schedule_to_proto(task.schedule),
    )


def _schedule_to_proto(schedule: ScheduleConfig | None) -> pb.ScheduleConfig | None:
    if schedule is None:
        return None
    return pb.ScheduleConfig(
        task_timeout_seconds=schedule.task_timeout_seconds,
        resource_reserved_seconds=schedule.resource_reserved_seconds,
        resource_reallocation_interval_seconds=schedule.resource_reallocation_interval_seconds,
    )


def job_status(job: Job, errs: ErrMsgBytes | None = None) -> pb.JobStatus:
    return pb.JobStatus(job_id=job.job_id, status=status_detail(job, errs))


def status_detail(job: Job, errs: ErrMsgBytes | None = None) -> pb.JobStatusDetail:
    detail = _status_header(job, errs)
    detail.tasks.extend(
        _task_status(spec.task_id, task, errs)
        for spec, task in zip(job.spec.tasks, job.tasks, strict=True)  # in the spec's order
    )
    return detail


def _status_header(job: Job, errs: ErrMsgBytes | None = None) -> pb.JobStatusDetail:
    """A job's wire status without its tasks."""
    stage_state = f"Job{job.stage.value}StageSucceeded"
    return pb.JobStatusDetail(
        state=job_state_name(job.state),
        err_msg=trim(job.err_msg, errs.job if errs else None),
        create_time=rfc3339(job.create_time),
        start_time=rfc3339(job.start_time),
        end_time=rfc3339(job.end_time),
        stage_status_list=[
            pb.PartyStageStatus(domain_id=domain, state=stage_state) for domain in job.spec.domains
        ],
        # Every party, as Kuscia lists them: one with no approval to give is JobAccepted
        # (its controller's initialized.go sets ApproveStatus[p] = JobAccepted).
        approve_status_list=[
            pb.PartyApproveStatus(
                domain_id=domain,
                state=APPROVAL_STATES[job.approvals.get(domain, ApprovalState.ACCEPTED)],
            )
            for domain in job.spec.domains
        ],
    )


def _task_status(task_id: str, task: TaskRun, errs: ErrMsgBytes | None = None) -> pb.TaskStatus:
    return pb.TaskStatus(
        task_id=task_id,
        alias=task.alias,
        state=TASK_STATES[task.state],
        err_msg=trim(task.err_msg, errs.task if errs else None),
        create_time=rfc3339(task.create_time),
        start_time=rfc3339(task.start_time),
        end_time=rfc3339(task.end_time),
        progress=task.progress,
        parties=[
            pb.PartyStatus(
                domain_id=party.domain_id,
                state=PARTY_STATES[party.state],
                err_msg=trim(party.err_msg, errs.party if errs else None),
            )
            for party in task.parties
        ],
    )


def watch_event(event: WatchEvent, errs: ErrMsgBytes | None = None) -> bytes:
    """A watch event, serialized. A delta (event.changed) carries the job's status with
    only the changed tasks; `errs` trims every err_msg (the plain, slower conversion).

    A change replaces one task of a job and keeps the others as they were, so each
    task's status is kept encoded, per job, as the encoding of a JobStatusDetail holding
    that one task: the encoding of one element of `tasks`. The status is the encoding of
    its other fields followed by those elements, and the event wraps it in its two
    enclosing fields (key and length, protobuf's wire format): one well-formed message,
    built without re-encoding the 1,000 tasks of a big job that did not change.
    """
    head = pb.WatchJobEventResponse(
        type=WATCH_EVENT_TYPES[event.type],  # type: ignore[arg-type]
        resource_version=event.resource_version,
        delta=event.changed is not None,
    ).SerializeToString()
    job = event.job
    if job is None:
        return head
    if errs is not None:
        trimmed = job_status(job, errs)
        if event.changed is not None:
            del trimmed.status.tasks[:]
            trimmed.status.tasks.extend(_changed_statuses(job, event.changed, errs))
        return head + _field(_OBJECT, trimmed.SerializeToString())
    if event.changed is not None:
        tasks = b"".join(
            pb.JobStatusDetail(tasks=[task]).SerializeToString()
            for task in _changed_statuses(job, event.changed)
        )
    else:
        tasks = b"".join(_task_elements(job))
    detail = _status_header(job).SerializeToString() + tasks
    status = pb.JobStatus(job_id=job.job_id).SerializeToString() + _field(_STATUS, detail)
    return head + _field(_OBJECT, status)


def _changed_statuses(
    job: Job, changed: tuple[int, ...], errs: ErrMsgBytes | None = None
) -> list[pb.TaskStatus]:
    specs = job.spec.tasks
    return [_task_status(specs[i].task_id, job.tasks[i], errs) for i in changed]


_OBJECT = pb.WatchJobEventResponse.DESCRIPTOR.fields_by_name["object"].number
_STATUS = pb.JobStatus.DESCRIPTOR.fields_by_name["status"].number


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: key (number, wire type 2), length, bytes."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# Per job (by its spec, which lives as long as the job): the tasks last encoded, and
# their encodings as elements of JobStatusDetail.tasks.
_TASK_ELEMENTS: IdentityMemo[JobSpec, tuple[tuple[TaskRun, ...], tuple[bytes, ...]]] = (
    IdentityMemo()
)


def _task_elements(job: Job) -> tuple[bytes, ...]:
    specs, runs = job.spec.tasks, job.tasks  # a job's tasks are in its spec's order
    last = _TASK_ELEMENTS.find(job.spec)
    if last is None:
        elements = tuple(
            _task_element(spec.task_id, run) for spec, run in zip(specs, runs, strict=True)
        )
    else:
        before, kept = last
        fresh = list(kept)
        for i in [i for i, (a, b) in enumerate(zip(before, runs, strict=True)) if a is not b]:
            fresh[i] = _task_element(specs[i].task_id, runs[i])
        elements = tuple(fresh)
    _TASK_ELEMENTS.put(job.spec, (runs, elements))
    return elements


def _task_element(task_id: str, task: TaskRun) -> bytes:
    return pb.JobStatusDetail(tasks=[_task_status(task_id, task)]).SerializeToString()
