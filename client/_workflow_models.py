"""Typed results of WorkflowService (``dagwire.v1``): pipelines and their versions, runs and
their steps, cache entries, artifacts, schedules and log pages.

As for jobs, every result is a frozen dataclass built by ``_from_proto`` that keeps the proto
as ``raw`` (left out of equality and repr). Enums are ``StrEnum``s whose values are the
lower-case names the server's list filters use (``RunStatus.SUCCEEDED == "succeeded"``, so
``list_runs(status="succeeded")`` and ``list_runs(status=RunStatus.SUCCEEDED)`` agree); a
value newer than this SDK reads as ``UNSPECIFIED``. Timestamps are aware UTC datetimes, None
when unset.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from google.protobuf import timestamp_pb2

from dagwire.v1 import enums_pb2, message_pb2, workflow_request_response_pb2

from ._models import EventType

T = TypeVar("T")
E = TypeVar("E", bound="_WireEnum")


class _WireEnum(enum.StrEnum):
    """A proto enum by its short lower-case name: ``RUN_STATUS_SUCCEEDED`` is ``succeeded``."""

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        """The generated enum and the prefix of its value names."""
        raise NotImplementedError

    @classmethod
    def _from_proto(cls: type[E], value: int) -> E:
        wrapper, prefix = cls._wire()
        try:
            return cls(wrapper.Name(value).removeprefix(prefix).lower())
        except ValueError:  # a value newer than this SDK
            return cls("unspecified")

    @classmethod
    def parse(cls: type[E], value: str) -> E:
        """The member named ``value`` in any case, with or without its proto prefix
        (``"Succeeded"``, ``"RUN_STATUS_SUCCEEDED"``); ValueError naming the choices."""
        _, prefix = cls._wire()
        name = value.strip().lower().removeprefix(prefix.lower()).replace("-", "_")
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(m.value for m in cls if m.value != "unspecified")
            raise ValueError(f"{value!r} is not one of {choices}") from None

    def _to_proto(self) -> Any:
        wrapper, prefix = self._wire()
        return wrapper.Value(prefix + self.value.upper())


def _to_proto(cls: type[E], value: E | str | None) -> Any:
    """A member, its name (any case) or None (unspecified) as the wire number (the
    generated enum's ``ValueType``)."""
    if value is None or value == "":
        return 0
    member = value if isinstance(value, cls) else cls.parse(str(value))
    return member._to_proto()


class RunStatus(_WireEnum):
    """Where a run stands (PaddleFlow's run statuses)."""

    UNSPECIFIED = "unspecified"
    INITIATING = "initiating"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.RunStatus, "RUN_STATUS_"

    @property
    def is_finished(self) -> bool:
        """True for succeeded, failed and terminated: the run will not change any more."""
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TERMINATED)


class StepStatus(_WireEnum):
    """Where one step of a run stands."""

    UNSPECIFIED = "unspecified"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATED = "terminated"
    SKIPPED = "skipped"
    HOLD = "hold"  # waits for a user's continue before it runs

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.StepStatus, "STEP_STATUS_"

    @property
    def is_finished(self) -> bool:
        """True once the step succeeded, failed, was terminated or skipped."""
        return self not in (
            StepStatus.UNSPECIFIED,
            StepStatus.PENDING,
            StepStatus.RUNNING,
            StepStatus.HOLD,
        )


class FailureStrategy(_WireEnum):
    """What a step failure does to the rest of the run (unspecified: fail_fast)."""

    UNSPECIFIED = "unspecified"
    FAIL_FAST = "fail_fast"
    CONTINUE = "continue"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.FailureStrategy, "FAILURE_STRATEGY_"


class ConcurrencyPolicy(_WireEnum):
    """What a schedule's tick does at its concurrency limit (unspecified: suspend)."""

    UNSPECIFIED = "unspecified"
    SUSPEND = "suspend"
    REPLACE = "replace"
    SKIP = "skip"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.ConcurrencyPolicy, "CONCURRENCY_POLICY_"


class ScheduleStatus(_WireEnum):
    """Where a schedule stands."""

    UNSPECIFIED = "unspecified"
    ACTIVE = "active"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.ScheduleStatus, "SCHEDULE_STATUS_"


class LogPosition(_WireEnum):
    """Which end of a log page 1 is (unspecified: end)."""

    UNSPECIFIED = "unspecified"
    BEGIN = "begin"
    END = "end"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.LogPosition, "LOG_POSITION_"


class ArtifactType(_WireEnum):
    """Whether a step consumed or produced an artifact."""

    UNSPECIFIED = "unspecified"
    INPUT = "input"
    OUTPUT = "output"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.ArtifactType, "ARTIFACT_TYPE_"


def _time(msg: Any, name: str) -> datetime | None:
    """A Timestamp field as an aware UTC datetime; None when unset."""
    if not msg.HasField(name):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(msg, name)
    return stamp.ToDatetime(tzinfo=UTC)


def _map(values: Any) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in values.items()}


# --- pipelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineVersion:
    """One immutable spec of a pipeline; ``pipeline_yaml`` is the YAML exactly as submitted."""

    pipeline_version_id: str
    pipeline_id: str
    pipeline_yaml: str = ""
    username: str = ""
    description: str = ""
    create_time: datetime | None = None
    raw: message_pb2.PipelineVersion | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.PipelineVersion) -> PipelineVersion:
        return cls(
            pipeline_version_id=str(msg.pipeline_version_id),
            pipeline_id=str(msg.pipeline_id),
            pipeline_yaml=str(msg.pipeline_yaml),
            username=str(msg.username),
            description=str(msg.description),
            create_time=_time(msg, "create_time"),
            raw=msg,
        )


@dataclass(frozen=True)
class Pipeline:
    """A named, versioned pipeline.

    ``versions`` holds the versions the call returned: every one, newest first, from
    ``get_pipeline``; the version just added from ``create_pipeline`` and ``update_pipeline``
    (and ``get_pipeline_version``: the one asked for); none from ``list_pipelines``.
    """

    pipeline_id: str
    name: str
    username: str = ""
    description: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    latest_version_id: str = ""
    versions: tuple[PipelineVersion, ...] = ()
    # After a get_pipeline that paged its versions (page_size): the token of the next
    # page of versions, "" on the last one.
    next_page_token: str = ""
    raw: message_pb2.Pipeline | None = field(default=None, compare=False, repr=False)

    @property
    def version(self) -> PipelineVersion | None:
        """The version a create, update or version get returned (the first listed)."""
        return self.versions[0] if self.versions else None

    def get_version(self, version_id: str) -> PipelineVersion:
        """The listed version with this id; KeyError when it is not among ``versions``."""
        for version in self.versions:
            if version.pipeline_version_id == version_id:
                return version
        raise KeyError(version_id)

    @classmethod
    def _from_proto(
        cls, msg: message_pb2.Pipeline, versions: Any = (), *, next_page_token: str = ""
    ) -> Pipeline:
        return cls(
            pipeline_id=str(msg.pipeline_id),
            name=str(msg.name),
            username=str(msg.username),
            description=str(msg.description),
            create_time=_time(msg, "create_time"),
            update_time=_time(msg, "update_time"),
            latest_version_id=str(msg.latest_version_id),
            versions=tuple(PipelineVersion._from_proto(v) for v in versions),
            next_page_token=next_page_token,
            raw=msg,
        )


# --- runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageSample:
    """A step's process tree at one moment: CPU seconds used so far, resident bytes."""

    time: datetime | None
    cpu_seconds: float
    rss_bytes: int


@dataclass(frozen=True)
class StepStatistics:
    """What one finished attempt of a step's process cost (GetStepStatistics): CPU
    seconds over its whole process tree, peak resident memory in bytes, wall seconds,
    exit code; ``samples`` over time only when asked for."""

    step_name: str
    job_id: str
    domain_id: str
    attempt: int
    cpu_seconds: float
    user_cpu_seconds: float
    system_cpu_seconds: float
    peak_memory_bytes: int
    wall_seconds: float
    exit_code: int
    complete: bool
    start_time: datetime | None = None
    end_time: datetime | None = None
    sample_interval_seconds: float = 0.0
    samples: tuple[UsageSample, ...] = ()
    raw: message_pb2.StepStatistics | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.StepStatistics) -> StepStatistics:
        return cls(
            step_name=str(msg.step_name),
            job_id=str(msg.job_id),
            domain_id=str(msg.domain_id),
            attempt=int(msg.attempt),
            cpu_seconds=float(msg.cpu_seconds),
            user_cpu_seconds=float(msg.user_cpu_seconds),
            system_cpu_seconds=float(msg.system_cpu_seconds),
            peak_memory_bytes=int(msg.peak_memory_bytes),
            wall_seconds=float(msg.wall_seconds),
            exit_code=int(msg.exit_code),
            complete=bool(msg.complete),
            start_time=_time(msg, "start_time"),
            end_time=_time(msg, "end_time"),
            sample_interval_seconds=float(msg.sample_interval_seconds),
            samples=tuple(
                UsageSample(_time(s, "time"), float(s.cpu_seconds), int(s.rss_bytes))
                for s in msg.samples
            ),
            raw=msg,
        )


@dataclass(frozen=True)
class Step:
    """One step of a run: its place in the DAG (``deps``) and its state."""

    name: str
    status: StepStatus
    deps: tuple[str, ...] = ()
    command: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict, hash=False)
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    docker_env: str = ""
    app_image: str = ""
    job_id: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    message: str = ""
    cache_run_id: str = ""
    attempt: int = 0
    post: bool = False
    input_artifacts: Mapping[str, str] = field(default_factory=dict, hash=False)
    output_artifacts: tuple[str, ...] = ()
    # What its latest finished attempt cost (GetRun fills it; None until one finished).
    statistics: StepStatistics | None = None
    raw: message_pb2.Step | None = field(default=None, compare=False, repr=False)

    @property
    def cached(self) -> bool:
        """True when the step reused another run's outputs instead of running."""
        return bool(self.cache_run_id)

    @classmethod
    def _from_proto(cls, msg: message_pb2.Step) -> Step:
        return cls(
            name=str(msg.name),
            status=StepStatus._from_proto(msg.status),
            deps=tuple(str(d) for d in msg.deps if d),
            command=str(msg.command),
            parameters=_map(msg.parameters),
            env=_map(msg.env),
            docker_env=str(msg.docker_env),
            app_image=str(msg.app_image),
            job_id=str(msg.job_id),
            start_time=_time(msg, "start_time"),
            end_time=_time(msg, "end_time"),
            message=str(msg.message),
            cache_run_id=str(msg.cache_run_id),
            attempt=int(msg.attempt),
            post=bool(msg.post),
            input_artifacts=_map(msg.input_artifacts),
            output_artifacts=tuple(str(a) for a in msg.output_artifacts),
            statistics=(
                StepStatistics._from_proto(msg.statistics) if msg.HasField("statistics") else None
            ),
            raw=msg,
        )


@dataclass(frozen=True)
class Run:
    """One execution of a pipeline spec, with its DAG of ``steps`` (in spec order, the post
    step last; empty in lists, which leave steps out)."""

    run_id: str
    status: RunStatus
    name: str = ""
    username: str = ""
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict, hash=False)
    run_yaml: str = ""
    source: str = ""
    run_msg: str = ""
    pipeline_id: str = ""
    pipeline_version_id: str = ""
    schedule_id: str = ""
    scheduled_time: datetime | None = None
    failure_strategy: FailureStrategy = FailureStrategy.UNSPECIFIED
    disabled: tuple[str, ...] = ()
    run_cached_ids: tuple[str, ...] = ()
    create_time: datetime | None = None
    activate_time: datetime | None = None
    update_time: datetime | None = None
    end_time: datetime | None = None
    steps: tuple[Step, ...] = ()
    docker_env: str = ""
    retried_from: str = ""
    fs_name: str = ""  # its main file system (PaddleFlow's fsName), "" when none
    # Stored runs that reused its outputs (PaddleFlow's runCachedIDs): from get_run only.
    reused_by_run_ids: tuple[str, ...] = ()
    raw: message_pb2.Run | None = field(default=None, compare=False, repr=False)

    @property
    def is_finished(self) -> bool:
        """True once the run succeeded, failed or was terminated."""
        return self.status.is_finished

    def step(self, name: str) -> Step:
        """The step with this name; KeyError when there is none."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @classmethod
    def _from_proto(cls, msg: message_pb2.Run) -> Run:
        return cls(
            run_id=str(msg.run_id),
            status=RunStatus._from_proto(msg.status),
            name=str(msg.name),
            username=str(msg.username),
            description=str(msg.description),
            parameters=_map(msg.parameters),
            run_yaml=str(msg.run_yaml),
            source=str(msg.source),
            run_msg=str(msg.run_msg),
            pipeline_id=str(msg.pipeline_id),
            pipeline_version_id=str(msg.pipeline_version_id),
            schedule_id=str(msg.schedule_id),
            scheduled_time=_time(msg, "scheduled_time"),
            failure_strategy=FailureStrategy._from_proto(msg.failure_strategy),
            disabled=tuple(str(d) for d in msg.disabled),
            run_cached_ids=tuple(str(r) for r in msg.run_cached_ids),
            create_time=_time(msg, "create_time"),
            activate_time=_time(msg, "activate_time"),
            update_time=_time(msg, "update_time"),
            end_time=_time(msg, "end_time"),
            steps=tuple(Step._from_proto(s) for s in msg.steps),
            docker_env=str(msg.docker_env),
            retried_from=str(msg.retried_from),
            fs_name=str(msg.fs_name),
            reused_by_run_ids=tuple(str(r) for r in msg.reused_by_run_ids),
            raw=msg,
        )


@dataclass(frozen=True)
class RunEvent:
    """One event of ``watch_runs``. ``run`` is None for HEARTBEAT (and ``run_id`` empty);
    for DELETED it is the run's last state."""

    type: EventType
    run_id: str
    run: Run | None
    resource_version: int = 0
    raw: workflow_request_response_pb2.WatchRunsResponse | None = field(
        default=None, compare=False, repr=False
    )

    @classmethod
    def _from_proto(cls, msg: workflow_request_response_pb2.WatchRunsResponse) -> RunEvent:
        name = enums_pb2.EventType.Name(msg.type).removeprefix("EVENT_TYPE_")
        try:
            kind = EventType(name)
        except ValueError:  # unspecified, or a type newer than this SDK
            kind = EventType.ERROR
        run = Run._from_proto(msg.run) if msg.HasField("run") else None
        if kind is EventType.HEARTBEAT:
            run = None
        return cls(
            type=kind,
            run_id=run.run_id if run is not None else "",
            run=run,
            resource_version=int(msg.resource_version),
            raw=msg,
        )


# --- cache, artifacts, logs ----------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    """The recorded outputs of a step run, keyed by its two fingerprints.

    ``expired_time`` is the validity in seconds (-1: for ever); ``expire_time`` when it
    stops being used (None: never).
    """

    cache_id: str
    first_fp: str = ""
    second_fp: str = ""
    run_id: str = ""
    step_name: str = ""
    username: str = ""
    expired_time: int = -1
    create_time: datetime | None = None
    expire_time: datetime | None = None
    pipeline_id: str = ""
    raw: message_pb2.CacheEntry | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.CacheEntry) -> CacheEntry:
        return cls(
            cache_id=str(msg.cache_id),
            first_fp=str(msg.first_fp),
            second_fp=str(msg.second_fp),
            run_id=str(msg.run_id),
            step_name=str(msg.step_name),
            username=str(msg.username),
            expired_time=int(msg.expired_time),
            create_time=_time(msg, "create_time"),
            expire_time=_time(msg, "expire_time"),
            pipeline_id=str(msg.pipeline_id),
            raw=msg,
        )


@dataclass(frozen=True)
class FileSystem:
    """A file system registered by name for its domain's runs: ``url`` is
    ``local:///abs/path`` or ``s3://bucket/prefix``; secret ``properties`` come back
    masked (``******``)."""

    name: str
    url: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    username: str = ""
    create_time: datetime | None = None
    raw: message_pb2.FileSystem | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.FileSystem) -> FileSystem:
        return cls(
            name=str(msg.name),
            url=str(msg.url),
            properties=dict(msg.properties),
            username=str(msg.username),
            create_time=_time(msg, "create_time"),
            raw=msg,
        )


@dataclass(frozen=True)
class Artifact:
    """A file or folder a step consumed (input) or produced (output)."""

    run_id: str
    step_name: str
    name: str
    path: str
    type: ArtifactType
    username: str = ""
    create_time: datetime | None = None
    raw: message_pb2.Artifact | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.Artifact) -> Artifact:
        return cls(
            run_id=str(msg.run_id),
            step_name=str(msg.step_name),
            name=str(msg.name),
            path=str(msg.path),
            type=ArtifactType._from_proto(msg.type),
            username=str(msg.username),
            create_time=_time(msg, "create_time"),
            raw=msg,
        )


@dataclass(frozen=True)
class StepLog:
    """One page of one step's log: ``log_content`` is its lines, newline-terminated."""

    run_id: str
    step_name: str
    log_content: str = ""
    job_id: str = ""
    attempt: int = 0
    has_next_page: bool = False
    truncated: bool = False
    page_size: int = 0
    page_no: int = 0
    raw: message_pb2.StepLog | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.StepLog) -> StepLog:
        return cls(
            run_id=str(msg.run_id),
            step_name=str(msg.step_name),
            log_content=str(msg.log_content),
            job_id=str(msg.job_id),
            attempt=int(msg.attempt),
            has_next_page=bool(msg.has_next_page),
            truncated=bool(msg.truncated),
            page_size=int(msg.page_size),
            page_no=int(msg.page_no),
            raw=msg,
        )


@dataclass(frozen=True)
class LogChunk:
    """What a followed step log gained (TailRunLog): ``content`` ends at byte ``offset``
    of attempt ``attempt``'s log; ``finished`` once the step has."""

    content: str
    offset: int
    attempt: int
    finished: bool
    status: StepStatus
    raw: workflow_request_response_pb2.TailRunLogResponse | None = field(
        default=None, compare=False, repr=False
    )

    @classmethod
    def _from_proto(cls, msg: workflow_request_response_pb2.TailRunLogResponse) -> LogChunk:
        return cls(
            content=str(msg.content),
            offset=int(msg.offset),
            attempt=int(msg.attempt),
            finished=bool(msg.finished),
            status=StepStatus._from_proto(msg.status),
            raw=msg,
        )


# --- schedules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Runs of a pipeline version at cron ticks.

    ``runs`` holds its recent runs (newest first, steps left out) from ``get_schedule``;
    other calls leave it empty.
    """

    schedule_id: str
    name: str
    status: ScheduleStatus
    crontab: str = ""
    pipeline_id: str = ""
    pipeline_version_id: str = ""
    description: str = ""
    username: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    concurrency: int = 0
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.UNSPECIFIED
    expire_interval: int = 0
    catchup: bool = False
    next_run_time: datetime | None = None
    message: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    parameters: Mapping[str, str] = field(default_factory=dict, hash=False)
    runs: tuple[Run, ...] = ()
    raw: message_pb2.Schedule | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.Schedule, runs: Any = ()) -> Schedule:
        return cls(
            schedule_id=str(msg.schedule_id),
            name=str(msg.name),
            status=ScheduleStatus._from_proto(msg.status),
            crontab=str(msg.crontab),
            pipeline_id=str(msg.pipeline_id),
            pipeline_version_id=str(msg.pipeline_version_id),
            description=str(msg.description),
            username=str(msg.username),
            start_time=_time(msg, "start_time"),
            end_time=_time(msg, "end_time"),
            concurrency=int(msg.concurrency),
            concurrency_policy=ConcurrencyPolicy._from_proto(msg.concurrency_policy),
            expire_interval=int(msg.expire_interval),
            catchup=bool(msg.catchup),
            next_run_time=_time(msg, "next_run_time"),
            message=str(msg.message),
            create_time=_time(msg, "create_time"),
            update_time=_time(msg, "update_time"),
            parameters=_map(msg.parameters),
            runs=tuple(Run._from_proto(r) for r in runs),
            raw=msg,
        )


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list call: ``items`` and the token of the next page (empty on the
    last). Iterating a page iterates its items; ``raw`` is the List*Response."""

    items: tuple[T, ...]
    next_page_token: str = ""
    raw: Any = field(default=None, compare=False, repr=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def is_last(self) -> bool:
        return not self.next_page_token
