"""The job state machine, pair by pair: this file is its specification."""

from __future__ import annotations

import itertools

import pytest

from dagwire.server.engine.errors import IllegalTransition
from dagwire.server.engine.model import JobState
from dagwire.server.engine.transitions import TRANSITIONS, JobEvent, next_state

S, E = JobState, JobEvent

EXPECTED = {
    (S.INITIALIZED, E.ADMIT): S.PENDING,
    (S.INITIALIZED, E.AWAIT_APPROVAL): S.AWAITING_APPROVAL,
    (S.PENDING, E.AWAIT_APPROVAL): S.AWAITING_APPROVAL,
    (S.AWAITING_APPROVAL, E.APPROVE): S.PENDING,
    (S.AWAITING_APPROVAL, E.REJECT): S.APPROVAL_REJECT,
    (S.PENDING, E.START): S.RUNNING,
    (S.RUNNING, E.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, E.FAIL): S.FAILED,
    **{
        (state, E.STOP): S.FAILED
        for state in (S.INITIALIZED, S.PENDING, S.RUNNING, S.AWAITING_APPROVAL, S.SUSPENDED)
    },
    # Kuscia's StopJob checks no state: stopping a finished job succeeds, changing nothing
    # (secretflow/kuscia pkg/kusciaapi/service/job_service.go, StopJob).
    **{(state, E.STOP): state for state in (S.SUCCEEDED, S.FAILED, S.APPROVAL_REJECT, S.CANCELLED)},
    # Only a running job can be suspended (job_service.go SuspendJob, 11210 otherwise).
    (S.RUNNING, E.SUSPEND): S.SUSPENDED,
    **{(state, E.RESTART): S.PENDING for state in (S.SUSPENDED, S.FAILED)},
    **{
        (state, E.CANCEL): S.CANCELLED
        for state in (
            S.INITIALIZED,
            S.PENDING,
            S.RUNNING,
            S.AWAITING_APPROVAL,
            S.SUSPENDED,
            S.FAILED,
        )
    },
    # Nor does CancelJob: cancelling a job that is over for good changes nothing.
    **{(state, E.CANCEL): state for state in (S.SUCCEEDED, S.APPROVAL_REJECT, S.CANCELLED)},
}

PAIRS = [
    pytest.param(state, event, EXPECTED.get((state, event)), id=f"{state.name}-{event.name}")
    for state, event in itertools.product(JobState, JobEvent)
]


@pytest.mark.parametrize(("state", "event", "target"), PAIRS)
def test_every_state_event_pair_leads_to_its_target_or_is_refused(
    state: JobState, event: JobEvent, target: JobState | None
) -> None:
    if target is None:
        with pytest.raises(IllegalTransition) as refused:
            next_state("job-1", state, event)
        assert refused.value.state is state and refused.value.event is event
    else:
        assert next_state("job-1", state, event) is target


def test_the_table_has_no_transition_the_specification_lacks() -> None:
    assert dict(TRANSITIONS) == EXPECTED


def test_final_states_have_no_way_out() -> None:
    for state in JobState:
        if state.is_final:
            assert not [
                event
                for (source, event), target in TRANSITIONS.items()
                if source is state and target is not state
            ]


def test_suspend_refusal_says_only_running_jobs_can_be_suspended() -> None:
    with pytest.raises(IllegalTransition, match="only Running jobs can be suspended"):
        next_state("job-1", S.PENDING, E.SUSPEND)


def test_refusal_message_says_which_states_allow_the_operation() -> None:
    with pytest.raises(IllegalTransition, match="only suspended or failed jobs can be restarted"):
        next_state("job-1", S.RUNNING, E.RESTART)
