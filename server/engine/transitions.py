"""The job state machine, as data: one table, one entry point."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from dagwire.server.engine.errors import IllegalTransition
from dagwire.server.engine.model import JobState


class JobEvent(enum.Enum):
    """What can happen to a job as a whole."""

    ADMIT = "admit"
    AWAIT_APPROVAL = "await approval"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    SUCCEED = "succeed"
    FAIL = "fail"
    STOP = "stop"
    SUSPEND = "suspend"
    RESTART = "restart"
    CANCEL = "cancel"


_S = JobState
_E = JobEvent

TRANSITIONS: Mapping[tuple[JobState, JobEvent], JobState] = {
    (_S.INITIALIZED, _E.ADMIT): _S.PENDING,
    (_S.INITIALIZED, _E.AWAIT_APPROVAL): _S.AWAITING_APPROVAL,
    (_S.PENDING, _E.AWAIT_APPROVAL): _S.AWAITING_APPROVAL,
    (_S.AWAITING_APPROVAL, _E.APPROVE): _S.PENDING,
    (_S.AWAITING_APPROVAL, _E.REJECT): _S.APPROVAL_REJECT,
    (_S.PENDING, _E.START): _S.RUNNING,
    (_S.RUNNING, _E.SUCCEED): _S.SUCCEEDED,
    (_S.RUNNING, _E.FAIL): _S.FAILED,
    (_S.INITIALIZED, _E.STOP): _S.FAILED,
    (_S.PENDING, _E.STOP): _S.FAILED,
    (_S.RUNNING, _E.STOP): _S.FAILED,
    (_S.AWAITING_APPROVAL, _E.STOP): _S.FAILED,
    (_S.SUSPENDED, _E.STOP): _S.FAILED,
    # Stopping a job that has finished is accepted and changes nothing: Kuscia's StopJob
    # checks no state (pkg/kusciaapi/service/job_service.go StopJob).
    (_S.SUCCEEDED, _E.STOP): _S.SUCCEEDED,
    (_S.FAILED, _E.STOP): _S.FAILED,
    (_S.APPROVAL_REJECT, _E.STOP): _S.APPROVAL_REJECT,
    (_S.CANCELLED, _E.STOP): _S.CANCELLED,
    # Kuscia suspends only a running job (job_service.go SuspendJob: Phase != Running
    # -> KusciaAPIErrSuspendNotRunningJob, 11210).
    (_S.RUNNING, _E.SUSPEND): _S.SUSPENDED,
    (_S.SUSPENDED, _E.RESTART): _S.PENDING,
    (_S.FAILED, _E.RESTART): _S.PENDING,
    (_S.INITIALIZED, _E.CANCEL): _S.CANCELLED,
    (_S.PENDING, _E.CANCEL): _S.CANCELLED,
    (_S.RUNNING, _E.CANCEL): _S.CANCELLED,
    (_S.AWAITING_APPROVAL, _E.CANCEL): _S.CANCELLED,
    (_S.SUSPENDED, _E.CANCEL): _S.CANCELLED,
    (_S.FAILED, _E.CANCEL): _S.CANCELLED,
    # Cancelling a job that is over for good is accepted and changes nothing, as Kuscia's
    # CancelJob checks no state either (job_service.go CancelJob).
    (_S.SUCCEEDED, _E.CANCEL): _S.SUCCEEDED,
    (_S.APPROVAL_REJECT, _E.CANCEL): _S.APPROVAL_REJECT,
    (_S.CANCELLED, _E.CANCEL): _S.CANCELLED,
}
"""A pair whose target is its own state is accepted and changes nothing at all."""

# Why an operation a user asked for is refused, by event, for the error message.
_HINTS: Mapping[JobEvent, str] = {
    _E.SUSPEND: "only Running jobs can be suspended",
    _E.RESTART: "only suspended or failed jobs can be restarted",
    _E.APPROVE: "the job is not awaiting approval",
    _E.REJECT: "the job is not awaiting approval",
}


def next_state(job_id: str, state: JobState, event: JobEvent) -> JobState:
    """The state `event` leads to from `state`, or IllegalTransition."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(job_id, state, event, _HINTS.get(event, "")) from None
