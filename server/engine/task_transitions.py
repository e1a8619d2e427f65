"""The task state machine, as data: one table of moves, one table of time stamps, one
mover. Every change of a task's state goes through `move` (Argo's markNodePhase), so a
state a task can never reach from where it is raises instead of being written."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dagwire.server.engine.errors import IllegalTaskTransition
from dagwire.server.engine.model import TaskRun, TaskState


class TaskMove(enum.Enum):
    """What can happen to a task."""

    LAUNCH = "launch"  # its processes start (a new attempt)
    SUCCEED = "succeed"  # every party succeeded, or a condition was decided
    FAIL = "fail"  # a party failed, a condition could not be evaluated, a hold settled
    HOLD = "hold"  # it waits for a user: a confirmation, or a failure its policy holds
    STOP = "stop"  # a user or its job stopped it while it ran
    SKIP = "skip"  # it will never run: disabled, blocked upstream, halted, not taken
    RELEASE = "release"  # a user confirmed a held step: it may run now
    RESET = "reset"  # back to pending for another attempt: retry, restart, relaunch


_S = TaskState
_M = TaskMove

TASK_TRANSITIONS: Mapping[tuple[TaskState, TaskMove], TaskState] = {
    # A condition task launches and settles in one step: it runs no process.
    (_S.PENDING, _M.LAUNCH): _S.RUNNING,
    (_S.RUNNING, _M.SUCCEED): _S.SUCCEEDED,
    (_S.RUNNING, _M.FAIL): _S.FAILED,
    # A held failure stays failed when its job halts, or when a user lets the job go on.
    (_S.HOLD, _M.FAIL): _S.FAILED,
    (_S.RUNNING, _M.HOLD): _S.HOLD,
    (_S.PENDING, _M.HOLD): _S.HOLD,
    # A user stopped a step whose policy is retry: it holds until they retry it.
    (_S.STOPPED, _M.HOLD): _S.HOLD,
    (_S.RUNNING, _M.STOP): _S.STOPPED,
    (_S.PENDING, _M.SKIP): _S.SKIPPED,
    # A confirmation step that never ran is skipped when its job halts.
    (_S.HOLD, _M.SKIP): _S.SKIPPED,
    (_S.HOLD, _M.RELEASE): _S.PENDING,
    # Pending resets too: a restart clears what a pending task's last attempt left, and a
    # launch starts from a clean task.
    (_S.PENDING, _M.RESET): _S.PENDING,
    (_S.RUNNING, _M.RESET): _S.PENDING,  # a lost process: the task is relaunched
    (_S.FAILED, _M.RESET): _S.PENDING,
    (_S.STOPPED, _M.RESET): _S.PENDING,
    (_S.HOLD, _M.RESET): _S.PENDING,
    (_S.SKIPPED, _M.RESET): _S.PENDING,
}


class _Stamp(enum.Enum):
    START = "start"  # start_time = now, end_time cleared
    END = "end"  # end_time = now, unless the task already ended (a held failure)
    CLEAR = "clear"  # both cleared
    KEEP = "keep"


# Which times a move stamps, by the move and the state it leaves.
_STAMPS: Mapping[tuple[TaskState, TaskMove], _Stamp] = {
    (_S.PENDING, _M.LAUNCH): _Stamp.START,
    (_S.RUNNING, _M.SUCCEED): _Stamp.END,
    (_S.RUNNING, _M.FAIL): _Stamp.END,
    (_S.HOLD, _M.FAIL): _Stamp.END,
    (_S.RUNNING, _M.HOLD): _Stamp.END,
    (_S.PENDING, _M.HOLD): _Stamp.KEEP,
    (_S.STOPPED, _M.HOLD): _Stamp.KEEP,
    (_S.RUNNING, _M.STOP): _Stamp.END,
    (_S.PENDING, _M.SKIP): _Stamp.END,
    (_S.HOLD, _M.SKIP): _Stamp.END,
    (_S.HOLD, _M.RELEASE): _Stamp.KEEP,
    **{(state, _M.RESET): _Stamp.CLEAR for state, how in TASK_TRANSITIONS if how is _M.RESET},
}


def next_task_state(alias: str, state: TaskState, move: TaskMove) -> TaskState:
    """The state `move` leads to from `state`, or IllegalTaskTransition."""
    try:
        return TASK_TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTaskTransition(alias, state, move.value) from None


def move(task: TaskRun, how: TaskMove, now: datetime, **changes: Any) -> TaskRun:
    """`task` after `how`, its times stamped; `changes` are the other fields the move
    sets (a reason, parties, an attempt). Raises IllegalTaskTransition."""
    state = next_task_state(task.alias, task.state, how)
    match _STAMPS[(task.state, how)]:
        case _Stamp.START:
            times: dict[str, datetime | None] = {"start_time": now, "end_time": None}
        case _Stamp.END:
            times = {"end_time": task.end_time or now}
        case _Stamp.CLEAR:
            times = {"start_time": None, "end_time": None}
        case _Stamp.KEEP:
            times = {}
    return replace(task, state=state, **{**times, **changes})
