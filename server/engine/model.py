"""Domain objects of the DAG engine: specs as submitted, and runs as they evolve.

Everything here is an immutable value. A change produces a new value
(`dataclasses.replace`), so a snapshot handed to the store, the bus or a watcher can
never be altered behind its back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dagwire.server.engine.memo import IdentityMemo


class JobState(enum.Enum):
    """Canonical job states. Each API family maps them onto its own names in one table."""

    INITIALIZED = "initialized"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVAL_REJECT = "approval_reject"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"

    @property
    def is_terminal(self) -> bool:
        """Nothing runs and nothing will unless a user acts (Failed can still be restarted)."""
        return self in _TERMINAL_JOB_STATES

    @property
    def is_final(self) -> bool:
        """The job can never run again."""
        return self in _FINAL_JOB_STATES


_TERMINAL_JOB_STATES = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.APPROVAL_REJECT, JobState.CANCELLED}
)
_FINAL_JOB_STATES = frozenset({JobState.SUCCEEDED, JobState.APPROVAL_REJECT, JobState.CANCELLED})


class TaskState(enum.Enum):
    """Canonical task states."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    SKIPPED = "skipped"  # never ran: disabled, or nothing upstream lets it run any more
    HOLD = "hold"  # waits for a user: a confirmation step, or a failure its policy holds

    @property
    def is_settled(self) -> bool:
        """Nothing more will happen to the task unless a user acts on a settled job."""
        return self not in (TaskState.PENDING, TaskState.RUNNING, TaskState.HOLD)


class ExecutionPolicy(enum.Enum):
    """What a task's failure (or a user stopping it) does, ModelArts' execution_policy."""

    STOP = "stop"  # the job's failure strategy applies
    RETRY = "retry"  # the task holds until a user retries it
    CONTINUE = "continue"  # the task holds until a user retries it or lets the job continue


class SkipCause(enum.Enum):
    """Why a task never ran."""

    DISABLED = "disabled"
    UPSTREAM = "upstream"  # a dependency failed, was stopped or skipped
    HALT = "halt"  # the job failed fast or was stopped
    CONDITION = "condition"  # on the branch a condition did not select


class JobKind(enum.Enum):
    """Which API family a job belongs to: each lists and watches only its own."""

    JOB = "job"  # a Kuscia job (JobService)
    RUN = "run"  # a pipeline run (WorkflowService)


class FailureStrategy(enum.Enum):
    """What an intolerable task failure does to the rest of the job."""

    FAIL_FAST = "fail_fast"  # stop what runs, skip what waits (Kuscia's behaviour)
    CONTINUE = "continue"  # let independent branches finish; skip the failure's dependents


class PartyState(enum.Enum):
    """State of one party's process of a task."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


class ApprovalState(enum.Enum):
    """A party's decision on a job that needs its approval."""

    AWAITING = "awaiting"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Stage(enum.Enum):
    """The last lifecycle operation applied to a job, reported per party."""

    CREATE = "Create"
    STOP = "Stop"
    SUSPEND = "Suspend"
    RESTART = "Restart"
    CANCEL = "Cancel"


class ChangeType(enum.Enum):
    """What an event says happened to an object."""

    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class BandwidthLimit:
    destination_id: str
    limit_kbps: int


@dataclass(frozen=True, slots=True)
class PartySpec:
    domain_id: str
    role: str = ""
    resources: Mapping[str, str] = field(default_factory=dict)
    bandwidth_limits: tuple[BandwidthLimit, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison of a condition task (ModelArts' Constraint): `left op right`, where
    op is one of ==, !=, >, >=, <, <=, in; or `or` over `any_of`. Operands may still hold
    `{{task.metric}}` references, resolved from upstream metrics when evaluated."""

    op: str
    left: str = ""
    right: str = ""
    any_of: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Branching:
    """A condition task: it runs no process; once ready it evaluates `conditions` (all
    must hold) and skips the branch not taken."""

    conditions: tuple[Condition, ...]
    if_then: tuple[str, ...] = ()
    else_then: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """Kuscia's schedule_config of a task as its request gave it (zeros already replaced
    by Kuscia's defaults). It is about getting the task scheduled, not about how long it
    may run: see TaskSpec.start_timeout_seconds."""

    task_timeout_seconds: int
    resource_reserved_seconds: int
    resource_reallocation_interval_seconds: int


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task as submitted. `alias` is its key: dependencies name aliases."""

    alias: str
    task_id: str
    app_image: str
    parties: tuple[PartySpec, ...]
    dependencies: tuple[str, ...] = ()
    task_input_config: str = ""
    priority: int = 0
    # How long an attempt may run before it is stopped and fails (0: no limit).
    timeout_seconds: int = 0
    # How long a launched attempt may wait for every party's process to start before it
    # fails as not scheduled (0: no limit); Kuscia's schedule_config.task_timeout_seconds.
    start_timeout_seconds: int = 0
    schedule: ScheduleConfig | None = None
    tolerable: bool = False
    disabled: bool = False  # never runs; reported skipped and lets its dependents run
    post: bool = False  # runs once every other task has settled, whatever the outcome
    hold: bool = False  # waits in HOLD for a user's continue before it first runs
    execution_policy: ExecutionPolicy = ExecutionPolicy.STOP
    branching: Branching | None = None
    # A copy of a loop task made at run time (engine.loops): the item it runs for. None
    # for any other task, and for a loop task not expanded yet.
    loop_item: str | None = None


@dataclass(frozen=True, slots=True, weakref_slot=True)
class JobSpec:
    job_id: str
    initiator: str
    max_parallelism: int
    tasks: tuple[TaskSpec, ...]
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    kind: JobKind = JobKind.JOB
    failure_strategy: FailureStrategy = FailureStrategy.FAIL_FAST

    def task(self, alias: str) -> TaskSpec:
        return self.tasks[self.index(alias)]

    def index(self, alias: str) -> int:
        """The position of a task (in the spec and in its job's tasks); KeyError if none."""
        return _positions(self)[alias]

    @property
    def positions(self) -> Mapping[str, int]:
        """alias -> position of every task."""
        return _positions(self)

    @property
    def dependency_positions(self) -> tuple[tuple[int, ...], ...]:
        """The positions of each task's dependencies, by the task's position."""
        return _dependency_positions(self)

    @property
    def first_dependencies(self) -> tuple[int, ...]:
        """The position of each task's first dependency, -1 for a task without any."""
        return _first_dependencies(self)

    @property
    def domains(self) -> tuple[str, ...]:
        """Every party domain of the job, in first-seen order."""
        return _domains(self)


@dataclass(frozen=True, slots=True)
class PartyRun:
    domain_id: str
    state: PartyState = PartyState.PENDING
    err_msg: str = ""
    # Told to stop and its exit not yet recorded: the runtime marks and clears it (the
    # task machine settles a stopped task at once, while the process takes its time).
    exiting: bool = False


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """One entry of a task's status history."""

    time: datetime
    state: TaskState
    message: str = ""
    moment: TaskMoment | None = None  # None: the state changed


class TaskMoment(enum.Enum):
    """A moment within a task state that its history records though the task machine
    has no state for it (the runtime records these)."""

    STARTED = "started"  # every party's process of the running attempt has started
    EXITED = "exited"  # the last process of a stopped task has exited


@dataclass(frozen=True, slots=True, weakref_slot=True)
class TaskRun:
    """The observed state of a task. `attempt` counts launches; reports name one."""

    alias: str
    state: TaskState
    parties: tuple[PartyRun, ...]
    create_time: datetime
    attempt: int = 0
    err_msg: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    progress: float = 0.0
    relaunches: int = 0  # launches repeated because a process was lost, not failed
    cached_from: str = ""  # the job whose recorded outputs the task reused instead of running
    skip_cause: SkipCause | None = None
    waived: bool = False  # a failure or stop a user let the job continue past
    released: bool = False  # a hold task a user confirmed
    parameters: Mapping[str, str] = field(default_factory=dict)  # a user's overrides
    metrics: Mapping[str, str] = field(default_factory=dict)  # reported by the process
    condition_result: bool | None = None
    condition_values: tuple[tuple[str, str], ...] = ()  # (operand, value) evaluated
    events: tuple[TaskEvent, ...] = ()

    def party(self, domain_id: str) -> PartyRun | None:
        for party in self.parties:
            if party.domain_id == domain_id:
                return party
        return None


@dataclass(frozen=True, slots=True)
class Job:
    """A job: its spec and everything observed about it.

    `version` increments with every stored change (optimistic concurrency);
    `resource_version` is the position of its last event in the event log.
    """

    spec: JobSpec
    state: JobState
    tasks: tuple[TaskRun, ...]
    create_time: datetime
    stage: Stage = Stage.CREATE
    err_msg: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    approvals: Mapping[str, ApprovalState] = field(default_factory=dict)
    version: int = 0
    resource_version: int = 0

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    def task(self, alias: str) -> TaskRun:
        # A job's tasks are in its spec's order, always (the reducer replaces in place).
        return self.tasks[self.spec.index(alias)]

    def has_party(self, domain_id: str) -> bool:
        return domain_id in self.spec.domains


@dataclass(frozen=True, slots=True)
class JobChange:
    """One entry of the event log: what happened to a job, and the job afterwards."""

    resource_version: int
    type: ChangeType
    job: Job


# alias -> position, computed once per spec: specs never change, and tasks are looked
# up by alias on every report.
_positions: IdentityMemo[JobSpec, dict[str, int]] = IdentityMemo(
    lambda spec: {task.alias: index for index, task in enumerate(spec.tasks)}
)

_dependency_positions: IdentityMemo[JobSpec, tuple[tuple[int, ...], ...]] = IdentityMemo(
    lambda spec: tuple(
        tuple(spec.positions[dep] for dep in task.dependencies) for task in spec.tasks
    )
)

_domains: IdentityMemo[JobSpec, tuple[str, ...]] = IdentityMemo(
    lambda spec: tuple({party.domain_id: None for task in spec.tasks for party in task.parties})
)

_first_dependencies: IdentityMemo[JobSpec, tuple[int, ...]] = IdentityMemo(
    lambda spec: tuple(deps[0] if deps else -1 for deps in spec.dependency_positions)
)
