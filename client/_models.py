"""Typed results of the JobService API, and building a CreateJobRequest from JSON or YAML.

Every result is a frozen dataclass built by a ``_from_proto`` classmethod; the proto it came
from stays available as ``raw`` (left out of equality and repr). States stay plain strings,
as on the wire, so a state a newer server invents still round-trips; :class:`JobState` names
the known ones and says which are terminal.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from google.protobuf import json_format

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2

from ._fields import unknown_field


class JobState(enum.StrEnum):
    """Job states as they travel on the wire (Kuscia's ``JobState.State`` names)."""

    UNKNOWN = "Unknown"
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    AWAITING_APPROVAL = "AwaitingApproval"
    APPROVAL_REJECT = "ApprovalReject"
    CANCELLED = "Cancelled"
    SUSPENDED = "Suspended"
    INITIALIZED = "Initialized"

    @property
    def is_terminal(self) -> bool:
        """True for the states a job does not leave on its own (Suspended is a pause)."""
        return self in TERMINAL_STATES


TERMINAL_STATES: frozenset[str] = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.APPROVAL_REJECT, JobState.CANCELLED}
)


class EventType(enum.StrEnum):
    """What a watch event reports (the proto ``EventType`` names)."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    ERROR = "ERROR"
    HEARTBEAT = "HEARTBEAT"


def _time(value: str) -> datetime | None:
    """An RFC 3339 wire time as an aware datetime; None when empty or unreadable."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ScheduleConfig:
    """A task's time limits (all in seconds, 0 = unset)."""

    task_timeout_seconds: int = 0
    resource_reserved_seconds: int = 0
    resource_reallocation_interval_seconds: int = 0

    @classmethod
    def _from_proto(cls, msg: job_pb2.ScheduleConfig) -> ScheduleConfig:
        return cls(
            task_timeout_seconds=int(msg.task_timeout_seconds),
            resource_reserved_seconds=int(msg.resource_reserved_seconds),
            resource_reallocation_interval_seconds=int(msg.resource_reallocation_interval_seconds),
        )


@dataclass(frozen=True)
class Party:
    """One participant of a task, with its resource request."""

    domain_id: str
    role: str = ""
    cpu: str = ""
    memory: str = ""
    bandwidth: str = ""
    raw: job_pb2.Party | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: job_pb2.Party) -> Party:
        return cls(
            domain_id=str(msg.domain_id),
            role=str(msg.role),
            cpu=str(msg.resources.cpu),
            memory=str(msg.resources.memory),
            bandwidth=str(msg.resources.bandwidth),
            raw=msg,
        )


@dataclass(frozen=True)
class TaskSpec:
    """A task as submitted (Kuscia's ``TaskConfig``)."""

    task_id: str
    alias: str
    app_image: str
    parties: tuple[Party, ...] = ()
    dependencies: tuple[str, ...] = ()
    task_input_config: str = ""
    priority: int = 0
    schedule_config: ScheduleConfig = field(default_factory=ScheduleConfig)
    raw: job_pb2.TaskConfig | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: job_pb2.TaskConfig) -> TaskSpec:
        return cls(
            task_id=str(msg.task_id),
            alias=str(msg.alias),
            app_image=str(msg.app_image),
            parties=tuple(Party._from_proto(p) for p in msg.parties),
            # Kuscia answers "no dependencies" as [""]; drop the empty names.
            dependencies=tuple(str(d) for d in msg.dependencies if d),
            task_input_config=str(msg.task_input_config),
            priority=int(msg.priority),
            schedule_config=ScheduleConfig._from_proto(msg.schedule_config),
            raw=msg,
        )


@dataclass(frozen=True)
class Endpoint:
    """An address a party's application exposes."""

    port_name: str
    scope: str
    endpoint: str


@dataclass(frozen=True)
class PartyStatus:
    """The observed state of one party's process of a task."""

    domain_id: str
    state: str
    err_msg: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    raw: job_pb2.PartyStatus | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: job_pb2.PartyStatus) -> PartyStatus:
        return cls(
            domain_id=str(msg.domain_id),
            state=str(msg.state),
            err_msg=str(msg.err_msg),
            endpoints=tuple(
                Endpoint(str(e.port_name), str(e.scope), str(e.endpoint)) for e in msg.endpoints
            ),
            raw=msg,
        )


@dataclass(frozen=True)
class TaskStatus:
    """The observed state of one task; ``progress`` goes from 0 to 1."""

    task_id: str
    state: str
    alias: str = ""
    err_msg: str = ""
    progress: float = 0.0
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    parties: tuple[PartyStatus, ...] = ()
    raw: job_pb2.TaskStatus | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The alias, or the task id when the server sent no alias."""
        return self.alias or self.task_id

    @classmethod
    def _from_proto(cls, msg: job_pb2.TaskStatus) -> TaskStatus:
        return cls(
            task_id=str(msg.task_id),
            state=str(msg.state),
            alias=str(msg.alias),
            err_msg=str(msg.err_msg),
            progress=float(msg.progress),
            create_time=_time(msg.create_time),
            start_time=_time(msg.start_time),
            end_time=_time(msg.end_time),
            parties=tuple(PartyStatus._from_proto(p) for p in msg.parties),
            raw=msg,
        )


@dataclass(frozen=True)
class JobStatus:
    """The observed state of a job and its tasks.

    ``stage_status`` and ``approve_status`` map a party's domain id to its lifecycle-stage
    state and its approval decision.
    """

    job_id: str
    state: str
    err_msg: str = ""
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    tasks: tuple[TaskStatus, ...] = ()
    stage_status: Mapping[str, str] = field(default_factory=dict, hash=False)
    approve_status: Mapping[str, str] = field(default_factory=dict, hash=False)
    raw: job_pb2.JobStatus | None = field(default=None, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        """True once the job succeeded, failed, was rejected or cancelled."""
        return self.state in TERMINAL_STATES

    def task(self, name: str) -> TaskStatus:
        """The task with this alias or task id; KeyError when there is none."""
        for task in self.tasks:
            if name in (task.alias, task.task_id):
                return task
        raise KeyError(name)

    @classmethod
    def _from_proto(cls, msg: job_pb2.JobStatus) -> JobStatus:
        detail = msg.status
        return cls(
            job_id=str(msg.job_id),
            state=str(detail.state),
            err_msg=str(detail.err_msg),
            create_time=_time(detail.create_time),
            start_time=_time(detail.start_time),
            end_time=_time(detail.end_time),
            tasks=tuple(TaskStatus._from_proto(t) for t in detail.tasks),
            stage_status={str(s.domain_id): str(s.state) for s in detail.stage_status_list},
            approve_status={str(s.domain_id): str(s.state) for s in detail.approve_status_list},
            raw=msg,
        )


@dataclass(frozen=True)
class Job:
    """A job's spec and current status, as QueryJob returns them."""

    job_id: str
    initiator: str
    max_parallelism: int
    tasks: tuple[TaskSpec, ...]
    status: JobStatus
    custom_fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    raw: job_pb2.QueryJobResponseData | None = field(default=None, compare=False, repr=False)

    @property
    def state(self) -> str:
        """Shorthand for ``status.state``."""
        return self.status.state

    @classmethod
    def _from_proto(cls, msg: job_pb2.QueryJobResponseData) -> Job:
        return cls(
            job_id=str(msg.job_id),
            initiator=str(msg.initiator),
            max_parallelism=int(msg.max_parallelism),
            tasks=tuple(TaskSpec._from_proto(t) for t in msg.tasks),
            status=JobStatus._from_proto(job_pb2.JobStatus(job_id=msg.job_id, status=msg.status)),
            custom_fields={str(k): str(v) for k, v in msg.custom_fields.items()},
            raw=msg,
        )


@dataclass(frozen=True)
class JobEvent:
    """One watch event. ``status`` is None for HEARTBEAT (and ``job_id`` empty).

    ``resource_version`` is the event's position in the server's log (0 from a server
    without the dagwire extension).
    """

    type: EventType
    job_id: str
    status: JobStatus | None
    resource_version: int = 0
    raw: job_pb2.WatchJobEventResponse | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: job_pb2.WatchJobEventResponse) -> JobEvent:
        try:
            kind = EventType(job_pb2.EventType.Name(msg.type))
        except ValueError:  # an event type newer than this SDK
            kind = EventType.ERROR
        status = None if kind is EventType.HEARTBEAT else JobStatus._from_proto(msg.object)
        return cls(
            type=kind,
            job_id=status.job_id if status is not None else "",
            status=status,
            resource_version=int(msg.resource_version),
            raw=msg,
        )


# --- building requests ---------------------------------------------------------------------


def job_request_from_dict(
    body: Mapping[str, Any], *, ignore_unknown_fields: bool = False
) -> job_pb2.CreateJobRequest:
    """A CreateJobRequest from Kuscia's documented JSON body, as a dict.

    Field names may be snake_case (as in Kuscia's docs) or lowerCamelCase (the protobuf JSON
    mapping); numbers may be given as JSON numbers or strings. Unknown fields are an error
    unless ``ignore_unknown_fields``. Raises ``ValueError`` naming the offending field.
    """
    request = job_pb2.CreateJobRequest()
    unknown = None if ignore_unknown_fields else unknown_field(body, request.DESCRIPTOR)
    if unknown is not None:
        raise ValueError(unknown)
    try:
        json_format.ParseDict(dict(body), request, ignore_unknown_fields=ignore_unknown_fields)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from exc
    return request


def job_request_from_text(
    text: str, *, ignore_unknown_fields: bool = False
) -> job_pb2.CreateJobRequest:
    """A CreateJobRequest from a JSON or YAML document with the structure of Kuscia's body.

    Raises ``ValueError`` when the text is neither, not a mapping, or not a valid request.
    """
    try:
        body = json.loads(text)
    except json.JSONDecodeError as json_error:
        if text.lstrip().startswith(("{", "[")):
            raise ValueError(f"invalid JSON: {json_error}") from json_error
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"invalid YAML: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("a job document must be a JSON object or YAML mapping")
    return job_request_from_dict(body, ignore_unknown_fields=ignore_unknown_fields)
