"""What the reducer is told and what it asks for. Commands are what users ask for (stop,
suspend, ...) and what executors report (a process started, progressed, exited); effects
are what the runtime must then do (launch a task's processes, terminate them, arm a
timeout). An Outcome is the new job with its effects."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from dagwire.server.engine.model import Job, TaskSpec

# --- commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the job. With keep_post, a post task that has not run yet still runs (the
    job settles after it); otherwise the job fails at once."""

    reason: str = ""
    keep_post: bool = False


@dataclass(frozen=True, slots=True)
class Suspend:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Restart:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Approve:
    """A party's decision; domain_id None decides for every undecided party."""

    domain_id: str | None
    accept: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProcessStarted:
    alias: str
    attempt: int
    domain_id: str


@dataclass(frozen=True, slots=True)
class ProcessQueued:
    """A party's process waits for its queue's quota (engine/quota.py) before it
    starts; `reason` says for what, so that the wait is visible, not a silent pending."""

    alias: str
    attempt: int
    domain_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProgressReported:
    alias: str
    attempt: int
    domain_id: str
    progress: float


@dataclass(frozen=True, slots=True)
class ProcessExited:
    alias: str
    attempt: int
    domain_id: str
    exit_code: int
    message: str = ""
    cached_from: str = ""  # set when the party reused recorded outputs instead of running
    metrics: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProcessLost:
    """A party's process is gone without an exit record (it vanished while the server
    was down, or was never started before a crash)."""

    alias: str
    attempt: int
    domain_id: str
    message: str


@dataclass(frozen=True, slots=True)
class LoopExpanded:
    """A loop task's items are known (its list came from a parameter or an upstream
    artifact): the task becomes one copy per item (engine.loops)."""

    alias: str
    attempt: int
    items: tuple[str, ...]


class Deadline(enum.Enum):
    """What a task attempt must have done by a time, or fail."""

    START = "start"  # every party's process has started (the task got scheduled)
    RUN = "run"  # the attempt has finished


@dataclass(frozen=True, slots=True)
class TaskTimedOut:
    alias: str
    attempt: int
    deadline: Deadline = Deadline.RUN


@dataclass(frozen=True, slots=True)
class RetryTask:
    """Run a failed, stopped or held task again (new attempt), with parameter overrides."""

    alias: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopTask:
    """Stop one running task; its execution policy says what the job does next."""

    alias: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ContinueTask:
    """Release a held task: a confirmation step runs (with the overrides), a held
    failure is waived so that its dependents run."""

    alias: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PeerWaiting:
    """The node of a party's domain cannot be reached (federation): the domain's
    unfinished parties say why they wait. An empty reason says the node is back."""

    domain_id: str
    reason: str = ""


# What a user asks of a whole job.
UserOp = Stop | Suspend | Restart | Cancel | Approve

# What an executor (or a timer) reports about a task attempt.
Report = (
    ProcessStarted | ProcessQueued | ProgressReported | ProcessExited | ProcessLost | TaskTimedOut
)

# What a user asks of one task of a job.
StepAction = RetryTask | StopTask | ContinueTask

# LoopExpanded is reported by an executor too, yet reshapes the job (engine.loops).
Command = UserOp | Report | StepAction | PeerWaiting | LoopExpanded

# --- effects --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchTask:
    """Start one process per party of this attempt of the task."""

    alias: str
    attempt: int


@dataclass(frozen=True, slots=True)
class TerminateTask:
    """Kill these parties' processes of this attempt of the task."""

    alias: str
    attempt: int
    domains: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ArmTimeout:
    """Report TaskTimedOut(deadline) for this attempt after `seconds`; the reducer decides
    then whether the attempt missed it."""

    alias: str
    attempt: int
    seconds: int
    deadline: Deadline = Deadline.RUN


def deadlines(spec: TaskSpec) -> dict[Deadline, int]:
    """The deadlines (seconds after launch) a task's attempts have."""
    limits = {Deadline.START: spec.start_timeout_seconds, Deadline.RUN: spec.timeout_seconds}
    return {deadline: seconds for deadline, seconds in limits.items() if seconds > 0}


Effect = LaunchTask | TerminateTask | ArmTimeout


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    effects: tuple[Effect, ...] = ()
