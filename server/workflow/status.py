"""Run and step statuses (PaddleFlow's vocabulary) derived from the engine's states, each
in one table."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from dagwire.server.engine.model import Job, JobState, PartyState, Stage, TaskRun, TaskState


class RunStatus(enum.Enum):
    INITIATING = "initiating"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class StepStatus(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATED = "terminated"
    SKIPPED = "skipped"
    HOLD = "hold"


# (job state, whether a user stopped it) -> run status. A stopped run that is still
# running is letting its post step finish.
RUN_STATUS: Mapping[tuple[JobState, bool], RunStatus] = {
    (JobState.INITIALIZED, False): RunStatus.INITIATING,
    (JobState.INITIALIZED, True): RunStatus.TERMINATED,
    (JobState.PENDING, False): RunStatus.PENDING,
    (JobState.PENDING, True): RunStatus.TERMINATING,
    (JobState.RUNNING, False): RunStatus.RUNNING,
    (JobState.RUNNING, True): RunStatus.TERMINATING,
    (JobState.SUCCEEDED, False): RunStatus.SUCCEEDED,
    (JobState.SUCCEEDED, True): RunStatus.SUCCEEDED,
    (JobState.FAILED, False): RunStatus.FAILED,
    (JobState.FAILED, True): RunStatus.TERMINATED,
    (JobState.CANCELLED, False): RunStatus.TERMINATED,
    (JobState.CANCELLED, True): RunStatus.TERMINATED,
    # Runs need no approval and cannot be suspended through WorkflowService; a Kuscia
    # call on a run id cannot reach them either, but the table stays total.
    (JobState.AWAITING_APPROVAL, False): RunStatus.PENDING,
    (JobState.AWAITING_APPROVAL, True): RunStatus.TERMINATING,
    (JobState.APPROVAL_REJECT, False): RunStatus.FAILED,
    (JobState.APPROVAL_REJECT, True): RunStatus.TERMINATED,
    (JobState.SUSPENDED, False): RunStatus.PENDING,
    (JobState.SUSPENDED, True): RunStatus.TERMINATING,
}

STEP_STATUS: Mapping[TaskState, StepStatus] = {
    TaskState.PENDING: StepStatus.PENDING,
    TaskState.RUNNING: StepStatus.RUNNING,
    TaskState.SUCCEEDED: StepStatus.SUCCEEDED,
    TaskState.FAILED: StepStatus.FAILED,
    TaskState.STOPPED: StepStatus.TERMINATED,
    TaskState.SKIPPED: StepStatus.SKIPPED,
    TaskState.HOLD: StepStatus.HOLD,
}


def step_status(task: TaskRun) -> StepStatus:
    """A step's status; a launched step whose process waits for its queue is pending
    (its message says for what), as PaddleFlow's job waits pending for its queue."""
    if (
        task.state is TaskState.RUNNING
        and task.err_msg
        and any(p.state is PartyState.PENDING and p.err_msg == task.err_msg for p in task.parties)
    ):
        return StepStatus.PENDING
    return STEP_STATUS[task.state]


def run_status(job: Job) -> RunStatus:
    return RUN_STATUS[(job.state, job.stage is Stage.STOP)]


def job_states_for(status: RunStatus) -> frozenset[JobState]:
    """The job states a run with this status can be in (a superset: refine with
    run_status)."""
    return frozenset(state for (state, _), value in RUN_STATUS.items() if value is status)


class StepExecutionStatus(enum.Enum):
    """ModelArts' step-execution statuses (dagwire produces the ones the table names)."""

    INIT = "init"
    WAIT_INPUTS = "wait_inputs"
    PENDING = "pending"
    CREATING = "creating"
    CREATED = "created"
    CREATE_FAILED = "create_failed"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TIMEOUT = "timeout"
    COMPLETED = "completed"
    FAILED = "failed"
    HOLD = "hold"
    SKIPPED = "skipped"


# (task state, whether the failure was a timeout) -> ModelArts status.
STEP_EXECUTION_STATUS: Mapping[tuple[TaskState, bool], StepExecutionStatus] = {
    **{
        (state, timeout): status
        for timeout in (False, True)
        for state, status in (
            (TaskState.PENDING, StepExecutionStatus.PENDING),
            (TaskState.RUNNING, StepExecutionStatus.RUNNING),
            (TaskState.SUCCEEDED, StepExecutionStatus.COMPLETED),
            (TaskState.STOPPED, StepExecutionStatus.STOPPED),
            (TaskState.SKIPPED, StepExecutionStatus.SKIPPED),
            (TaskState.HOLD, StepExecutionStatus.HOLD),
        )
    },
    (TaskState.FAILED, False): StepExecutionStatus.FAILED,
    (TaskState.FAILED, True): StepExecutionStatus.TIMEOUT,
}
