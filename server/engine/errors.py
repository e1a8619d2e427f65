"""Domain errors. The API layer maps each to a wire code in one table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagwire.server.engine.quoting import QUOTE_LIMIT, quoted, shortened

if TYPE_CHECKING:
    from dagwire.server.engine.model import JobState, TaskRun
    from dagwire.server.engine.transitions import JobEvent


class EngineError(Exception):
    """Root of the errors a caller can act on."""


class InvalidRequest(EngineError):
    """The request is malformed; the message names the offending field."""


# How many violations an InvalidArgument's message lists at most, in how many characters.
MESSAGE_VIOLATIONS = 5
MESSAGE_CHARS = 500


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field. `field` is a dotted path into the request or spec,
    e.g. `entry_points.train.deps` or `parameters.epoch`."""

    field: str
    description: str


class InvalidArgument(InvalidRequest):
    """The request or the spec it carries is invalid, each problem named by its field;
    nothing was stored. An InvalidRequest, so that Kuscia's calls answer it as one."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        # The message repeats the first few that fit MESSAGE_CHARS; the details (see
        # api.workflow_status) carry as many as fit there.
        shown: list[str] = []
        for violation in self.violations[:MESSAGE_VIOLATIONS]:
            text = shortened(f"{violation.field}: {violation.description}", 2 * QUOTE_LIMIT)
            if shown and sum(map(len, shown)) + len(text) > MESSAGE_CHARS:
                break
            shown.append(text)
        rest = len(self.violations) - len(shown)
        super().__init__("; ".join(shown) + (f"; ... and {rest} more" if rest > 0 else ""))

    @classmethod
    def of(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


class JobAlreadyExists(EngineError):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"job {quoted(job_id)} already exists; choose another job_id or delete it first"
        )
        self.job_id = job_id


class JobNotFound(EngineError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {quoted(job_id)} does not exist")
        self.job_id = job_id


class IllegalTransition(EngineError):
    """The job's state does not allow the requested operation."""

    def __init__(self, job_id: str, state: JobState, event: JobEvent, hint: str = "") -> None:
        message = (
            f"job {quoted(job_id)} is {state.name.lower()}; {event.value} is not allowed from it"
        )
        super().__init__(f"{message} ({hint})" if hint else message)
        self.job_id = job_id
        self.state = state
        self.event = event


class InvalidApproval(EngineError):
    """An approval that names a party which has nothing to decide."""


class ConcurrentModification(EngineError):
    """The stored job changed since it was read; the caller should retry."""


class TaskNotFound(EngineError):
    def __init__(self, job_id: str, alias: str) -> None:
        super().__init__(f"job {quoted(job_id)} has no step {quoted(alias)}")
        self.job_id = job_id
        self.alias = alias


class IllegalTaskAction(EngineError):
    """The task's (or its job's) state does not allow the requested action."""

    def __init__(self, job_id: str, task: TaskRun, action: str, hint: str) -> None:
        super().__init__(
            f"step {task.alias!r} of {quoted(job_id)} is {task.state.value}; {action} is not "
            f"allowed ({hint})"
        )
        self.job_id = job_id
        self.task = task
        self.action = action
        self.hint = hint


class IllegalTaskTransition(Exception):
    """A task was asked to move where its state machine does not lead: a bug in the
    engine, never a caller's doing (refusals a caller can act on are IllegalTaskAction)."""

    def __init__(self, alias: str, state: object, move: str) -> None:
        super().__init__(f"task {alias!r} cannot {move} from {state}")
        self.alias = alias
        self.state = state
        self.move = move
