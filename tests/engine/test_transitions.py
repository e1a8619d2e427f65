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
    **{(state, E.SUSPEND): S.SUSPENDED for state in (S.PENDING, S.RUNNING, S.AWAITING_APPROVAL)},
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
            assert not [event for (source, event) in TRANSITIONS if source is state]


def test_refusal_message_says_which_states_allow_the_operation() -> None:
    with pytest.raises(IllegalTransition, match="only suspended or failed jobs can be restarted"):
        next_state("job-1", S.RUNNING, E.RESTART)
