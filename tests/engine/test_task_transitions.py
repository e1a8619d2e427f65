"""The task state machine, pair by pair: this file is its specification, as
test_transitions.py is the job's."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from dagwire.server.engine.errors import IllegalTaskTransition
from dagwire.server.engine.model import PartyRun, TaskRun, TaskState
from dagwire.server.engine.task_transitions import (
    TASK_TRANSITIONS,
    TaskMove,
    move,
    next_task_state,
)

S, M = TaskState, TaskMove

EXPECTED = {
    (S.PENDING, M.LAUNCH): S.RUNNING,
    (S.RUNNING, M.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, M.FAIL): S.FAILED,
    (S.HOLD, M.FAIL): S.FAILED,
    (S.RUNNING, M.HOLD): S.HOLD,
    (S.PENDING, M.HOLD): S.HOLD,
    (S.STOPPED, M.HOLD): S.HOLD,
    (S.RUNNING, M.STOP): S.STOPPED,
    (S.PENDING, M.SKIP): S.SKIPPED,
    (S.HOLD, M.SKIP): S.SKIPPED,
    (S.HOLD, M.RELEASE): S.PENDING,
    **{
        (state, M.RESET): S.PENDING
        for state in (S.PENDING, S.RUNNING, S.FAILED, S.STOPPED, S.HOLD, S.SKIPPED)
    },
}

PAIRS = [
    pytest.param(state, how, EXPECTED.get((state, how)), id=f"{state.name}-{how.name}")
    for state, how in itertools.product(TaskState, TaskMove)
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(seconds=5)


def _task(state: TaskState, *, start: datetime | None = T0, end: datetime | None = None) -> TaskRun:
    return TaskRun(
        alias="t",
        state=state,
        parties=(PartyRun("alice"),),
        create_time=T0,
        start_time=start,
        end_time=end,
    )


@pytest.mark.parametrize(("state", "how", "target"), PAIRS)
def test_every_state_move_pair_leads_to_its_target_or_is_refused(
    state: TaskState, how: TaskMove, target: TaskState | None
) -> None:
    if target is None:
        with pytest.raises(IllegalTaskTransition):
            next_task_state("t", state, how)
        with pytest.raises(IllegalTaskTransition):
            move(_task(state), how, NOW)
    else:
        assert next_task_state("t", state, how) is target
        assert move(_task(state), how, NOW).state is target


def test_the_table_has_no_entry_the_specification_lacks() -> None:
    assert dict(TASK_TRANSITIONS) == EXPECTED


def test_a_succeeded_task_never_moves_again() -> None:
    assert not [how for how in TaskMove if (S.SUCCEEDED, how) in TASK_TRANSITIONS]


def test_a_launch_stamps_the_start_and_clears_the_end() -> None:
    launched = move(_task(S.PENDING, start=None, end=T0), M.LAUNCH, NOW)
    assert (launched.start_time, launched.end_time) == (NOW, None)


@pytest.mark.parametrize("how", [M.SUCCEED, M.FAIL, M.HOLD, M.STOP])
def test_settling_a_running_task_stamps_its_end(how: TaskMove) -> None:
    settled = move(_task(S.RUNNING), how, NOW)
    assert (settled.start_time, settled.end_time) == (T0, NOW)


def test_a_held_failure_keeps_the_time_it_failed_at_when_it_settles() -> None:
    failed_at = T0 + timedelta(seconds=1)
    assert move(_task(S.HOLD, end=failed_at), M.FAIL, NOW).end_time == failed_at


def test_a_reset_clears_both_times() -> None:
    reset = move(_task(S.FAILED, end=NOW), M.RESET, NOW)
    assert (reset.start_time, reset.end_time) == (None, None)


def test_a_confirmation_hold_and_its_release_leave_the_times_alone() -> None:
    held = move(_task(S.PENDING, start=None), M.HOLD, NOW, err_msg="awaiting confirmation")
    released = move(held, M.RELEASE, NOW, err_msg="")
    assert (held.start_time, held.end_time, released.start_time) == (None, None, None)
    assert held.err_msg == "awaiting confirmation" and released.err_msg == ""


def test_changes_given_to_a_move_win_over_its_stamps() -> None:
    moved = move(_task(S.RUNNING), M.FAIL, NOW, end_time=T0, err_msg="boom")
    assert (moved.end_time, moved.err_msg) == (T0, "boom")
