"""The largest answer a job can ever produce, bounded when the job is created.

Every answer about a job must fit the server's send limit: a job whose QueryJob answer
(its spec and status) outgrows it can never be queried or watched again, by anyone.
Everything in that answer but the err_msg texts is known at create time or has a
fixed largest size (state names, RFC 3339 times, the progress float); the err_msg
texts are trimmed to TRIMMED's sizes whenever an answer would not fit whole. So the
bound below, computed from the CreateJobRequest, holds in every state the job can
reach, and a job whose bound exceeds the limit is refused (11100). Watch events carry
the job's status without its spec, so they are smaller still.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.server.api.convert import (
    APPROVAL_STATES,
    JOB_STATES,
    PARTY_STATES,
    TASK_STATES,
    TRIMMED,
    job_state_name,
)
from dagwire.server.engine.errors import EngineError, InvalidRequest
from dagwire.server.engine.model import Stage


class AnswerTooLarge(EngineError):
    """A stored job's answer exceeds the send limit even with its err_msgs trimmed: it
    was created under a larger limit (or before jobs were bounded)."""


def _longest(names: Mapping[Any, str]) -> int:
    return max(len(name) for name in names.values())


_JOB_STATE = max(len(job_state_name(state)) for state in JOB_STATES)
_TASK_STATE = _longest(TASK_STATES)
_PARTY_STATE = _longest(PARTY_STATES)
_APPROVAL_STATE = _longest(APPROVAL_STATES)
_STAGE_STATE = max(len(f"Job{stage.value}StageSucceeded") for stage in Stage)
_TIME = len("2026-12-04T15:43:49Z")
_FLOAT = 5  # key and fixed32
_VARINT = 11  # key and the longest varint (a negative int32 takes ten bytes)
# The answer's in-band status ("success") and the event's fields besides the status.
_ENVELOPE = 64


def _varint_size(value: int) -> int:
    size = 1
    while value > 0x7F:
        value >>= 7
        size += 1
    return size


def _field(size: int) -> int:
    """A length-delimited field (number < 16) with `size` bytes of payload."""
    return 1 + _varint_size(size) + size


def _party_status(domain_id: str) -> int:
    return _field(_field(len(domain_id)) + _field(_PARTY_STATE) + _field(TRIMMED.party))


def _task_status(task: pb.Task) -> int:
    task_id = task.task_id or task.alias
    fixed = (
        _field(len(task_id))
        + _field(_TASK_STATE)
        + _field(TRIMMED.task)
        + 3 * _field(_TIME)
        + _field(len(task.alias))
        + _FLOAT
    )
    return _field(fixed + sum(_party_status(party.domain_id) for party in task.parties))


def _task_config_growth(task: pb.Task) -> int:
    """How much larger the task is in QueryJob's answer than in the request: its
    TaskConfig is the Task with task_id filled in (it defaults to the alias) and
    schedule_config always present (three int32 fields)."""
    size = task.ByteSize()
    return _field(size + _field(len(task.alias)) + _field(3 * _VARINT)) - _field(size)


def answer_bound(request: pb.CreateJobRequest, stop_above: int | None = None) -> int:
    """An upper bound of the size of QueryJob's answer about the job `request` creates,
    in any state, err_msgs trimmed. Stops adding once past `stop_above`: a refused
    request costs no more than an accepted one."""
    domains: dict[str, None] = {}
    # The spec part of the answer is the request, grown as _task_config_growth says.
    total = request.ByteSize() + _ENVELOPE + _VARINT + 2 * _field(_VARINT)
    header = _field(_JOB_STATE) + _field(TRIMMED.job) + 3 * _field(_TIME)
    total += header
    for task in request.tasks:
        total += _task_config_growth(task) + _task_status(task)
        domains.update((party.domain_id, None) for party in task.parties)
        if stop_above is not None and total > stop_above:
            return total
    for domain in domains:
        total += _field(_field(len(domain)) + _field(_STAGE_STATE))
        total += _field(_field(len(domain)) + _field(_APPROVAL_STATE))
    # The status and the data each wrap what they hold in one more field.
    return total + 2 * _field(0) + 2 * _varint_size(total)


def check_answer_size(request: pb.CreateJobRequest, limit: int) -> None:
    """Refuse (InvalidRequest, 11100) a job whose answers could outgrow `limit` bytes."""
    bound = answer_bound(request, stop_above=limit)
    if bound > limit:
        parties = sum(len(task.parties) for task in request.tasks)
        raise InvalidRequest(
            f"the job is too large to be answered: QueryJob of its {len(request.tasks)} "
            f"tasks and {parties} task parties could reach {bound} bytes (or more), and this "
            f"server sends at most {limit} bytes per message; "
            "split it into smaller jobs, or use fewer parties per task"
        )


def require_fits(size: int, limit: int, job_id: str) -> None:
    if size > limit:
        raise AnswerTooLarge(
            f"the answer about job {job_id!r} has {size} bytes, more than the {limit} bytes "
            "this server sends per message: it was stored under a larger limit; "
            "restart the server with that limit, or delete the job"
        )


def require_batch_fits(size: int, limit: int, jobs: int) -> None:
    """Each job's status fits on its own; many together may not."""
    if size > limit:
        raise AnswerTooLarge(
            f"the statuses of these {jobs} jobs have {size} bytes, more than the {limit} "
            "bytes this server sends per message: ask for fewer jobs at once"
        )
